#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: leader_election
short_description: Hand partitions' leadership back to their preferred replica and wait until it leads
version_added: 1.0.0
description:
  - Runs one preferred leader election (C(ElectLeaders), what C(kafka-leader-election --election-type PREFERRED)
    sends) for the partitions of O(partitions) whose leader is not their first replica, then waits until the
    first replica leads each.
  - Partitions already led by their preferred replica are left alone; when all are, nothing is sent and
    C(changed) is false.
  - A partition whose preferred replica is out of the ISR cannot be led by it; the call then fails naming it
    and elects nothing.
  - Only preferred elections; an unclean election, which can lose records, is not offered.
author:
  - Kafka Ops maintainers (@kafka-ops)
extends_documentation_fragment:
  - kafka_ops.remediation.attributes
  - kafka_ops.remediation.zookeeper
  - kafka_ops.remediation.kafka
attributes:
  check_mode:
    support: full
    details: Reads the partitions and reports which leaders would move; elects nothing.
  diff_mode:
    support: none
    details: RV(partitions) has each leader before and after.
options:
  zk_hosts:
    description:
      - ZooKeeper ensemble as C(host:port[,host:port...]), only used to find the brokers (C(/brokers/ids)) when
        O(kafka_bootstrap_servers) is not set. The election itself goes to the controller through the brokers.
    type: str
    required: false
  partitions:
    description: The partitions whose preferred replica should lead.
    type: list
    elements: dict
    required: true
    suboptions:
      topic:
        description: Topic name.
        type: str
        required: true
      partition:
        description: Partition number.
        type: int
        required: true
  timeout:
    description: Seconds to wait until the preferred replica leads every partition.
    type: float
    default: 60
  poll_interval:
    description: Seconds between two reads of the leaders while waiting.
    type: float
    default: 1
"""

EXAMPLES = r"""
- name: Let the first replica of orders-0 and orders-3 lead again
  kafka_ops.remediation.leader_election:
    zk_hosts: zk1.example.com:2181
    zk_chroot: /kafka
    partitions:
      - {topic: orders, partition: 0}
      - {topic: orders, partition: 3}
  delegate_to: localhost
  run_once: true
  register: orders_election
"""

RETURN = r"""
partitions:
  description: Every partition given, with its leader before and after.
  returned: success, and on a failure after the partitions were read
  type: list
  elements: dict
  contains:
    topic:
      description: Topic name.
      type: str
    partition:
      description: Partition number.
      type: int
    leader_before:
      description: Leader when the call started (null without one).
      type: int
    leader_after:
      description: Leader at the end (in check mode, the preferred replica that would lead).
      type: int
    preferred:
      description: The preferred replica, the first of the partition's replicas.
      type: int
  sample:
    - {"topic": "orders", "partition": 0, "leader_before": 3, "leader_after": 1, "preferred": 1}
msg:
  description: Which leaders moved.
  returned: always
  type: str
  sample: elected the preferred leader of orders-0; 1 already led by it
"""

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import partition_admin
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.kafka_replicas import KafkaReplicas
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.module_runner import ModuleRunner


def run(runner: ModuleRunner) -> dict:
    params = runner.params
    return partition_admin.elect_preferred(KafkaReplicas(runner.kafka()), params["partitions"], params["timeout"],
                                           params["poll_interval"], runner.check_mode)


def main() -> None:
    argument_spec = dict(
        partitions=dict(type="list", elements="dict", required=True, options=dict(
            topic=dict(type="str", required=True),
            partition=dict(type="int", required=True),
        )),
        timeout=dict(type="float", default=60.0),
        poll_interval=dict(type="float", default=1.0),
    )
    ModuleRunner(argument_spec, uses_kafka=True, zookeeper_required=False).run(run)


if __name__ == "__main__":
    main()
