#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to kafka_ops.remediation
# Apache License 2.0 (see LICENSE), or at your option the
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_info
short_description: Read a ZooKeeper-mode Kafka cluster's brokers, controller and partition health
version_added: 0.1.0
description:
  - Reads from ZooKeeper the registered brokers, the active controller and, for every partition, its replicas,
    leader, ISR and C(min.insync.replicas) (the topic override from C(/config/topics), else
    O(default_min_insync_replicas)).
  - Flags under-replicated, offline, at-minimum-ISR and below-minimum-ISR partitions, and with
    O(simulate_stopped_brokers) tells whether stopping those brokers would push any partition below
    C(min.insync.replicas), the check a rolling restart makes before each stop.
  - Reads are batched (ZooKeeper multi-read), so clusters with thousands of partitions answer in well under a
    second; roles use it for their health gates.
author:
  - Kafka Ops maintainers (@kafka-ops)
extends_documentation_fragment:
  - kafka_ops.remediation.attributes
  - kafka_ops.remediation.attributes.read_only
  - kafka_ops.remediation.zookeeper
options:
  topics:
    description:
      - Topics to report. Default is every topic under C(/brokers/topics).
      - An unknown topic is an error.
    type: list
    elements: str
  simulate_stopped_brokers:
    description:
      - Broker ids to pretend stopped; RV(would_fall_below_min_isr) lists the partitions whose ISR would then be
        smaller than C(min.insync.replicas).
    type: list
    elements: int
    default: []
  details:
    description: Include the full RV(partitions) list. Turn off on big clusters when only the summary is needed.
    type: bool
    default: true
  default_min_insync_replicas:
    description:
      - C(min.insync.replicas) for topics without their own override, that is the brokers' setting.
        Kafka's default is 1.
    type: int
    default: 1
"""

EXAMPLES = r"""
- name: Check cluster health before touching a broker
  kafka_ops.remediation.cluster_info:
    zk_hosts: zk1.example.com:2181,zk2.example.com:2181
    zk_chroot: /kafka
    details: false
  delegate_to: localhost
  run_once: true
  register: kafka_cluster

- name: Refuse to stop broker 2 if that leaves a partition below min.insync.replicas
  kafka_ops.remediation.cluster_info:
    zk_hosts: zk1.example.com:2181
    zk_chroot: /kafka
    simulate_stopped_brokers: [2]
    default_min_insync_replicas: 2
  delegate_to: localhost
  run_once: true
  register: kafka_restart_check
  failed_when: kafka_restart_check.would_fall_below_min_isr | length > 0
"""

RETURN = r"""
brokers:
  description: Registered brokers, by id.
  returned: always
  type: list
  elements: dict
  sample: [{"id": 1, "host": "kafka1", "port": 9092, "endpoints": ["PLAINTEXT://kafka1:9092"], "rack": null}]
broker_ids:
  description: Ids of the registered brokers, sorted.
  returned: always
  type: list
  elements: int
  sample: [1, 2, 3]
controller_id:
  description: Broker id of the active controller, null when none is elected.
  returned: always
  type: int
  sample: 2
partitions:
  description: Every selected partition with its health flags (empty when O(details=false)).
  returned: always
  type: list
  elements: dict
  sample:
    - {"topic": "orders", "partition": 0, "replicas": [1, 2, 3], "leader": 1, "isr": [1, 2, 3],
       "leader_epoch": 4, "min_insync_replicas": 2, "under_replicated": false, "at_min_isr": false,
       "below_min_isr": false, "offline": false}
under_replicated_partitions:
  description: Partitions whose ISR is smaller than the replica list.
  returned: always
  type: list
  elements: dict
  sample: [{"topic": "orders", "partition": 3}]
offline_partitions:
  description: Partitions without a live leader.
  returned: always
  type: list
  elements: dict
  sample: []
at_min_isr_partitions:
  description: Partitions whose ISR size equals C(min.insync.replicas); one more lost replica blocks acks=all.
  returned: always
  type: list
  elements: dict
  sample: []
below_min_isr_partitions:
  description: Partitions whose ISR is smaller than C(min.insync.replicas).
  returned: always
  type: list
  elements: dict
  sample: []
would_fall_below_min_isr:
  description: With O(simulate_stopped_brokers), partitions that would end up below C(min.insync.replicas).
  returned: always
  type: list
  elements: dict
  sample: [{"topic": "orders", "partition": 1, "isr_after": [3], "min_insync_replicas": 2}]
summary:
  description: Counts of the above.
  returned: always
  type: dict
  sample: {"brokers": 3, "controller_id": 2, "topics": 4, "partitions": 40, "under_replicated": 0,
           "offline": 0, "at_min_isr": 0, "below_min_isr": 0}
healthy:
  description: True when every partition has a live leader and none is under-replicated.
  returned: always
  type: bool
  sample: true
"""

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import cluster_read
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.module_runner import ModuleRunner


def run(runner: ModuleRunner) -> dict:
    params = runner.params
    result = cluster_read.read_cluster(runner.zookeeper(), params["topics"], params["default_min_insync_replicas"],
                                       params["simulate_stopped_brokers"])
    result.update(changed=False)
    if not params["details"]:
        result["partitions"] = []
    return result


def main() -> None:
    argument_spec = dict(
        topics=dict(type="list", elements="str"),
        simulate_stopped_brokers=dict(type="list", elements="int", default=[]),
        details=dict(type="bool", default=True),
        default_min_insync_replicas=dict(type="int", default=1),
    )
    ModuleRunner(argument_spec).run(run)


if __name__ == "__main__":
    main()
