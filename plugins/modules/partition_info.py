#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: partition_info
short_description: Read partitions' replicas, ISR, leader, running reassignment, size and topic configs from Kafka
version_added: 1.0.0
description:
  - For every partition of O(topics), or for the O(partitions) listed, returns the replicas in Kafka's order
    (the preferred leader first), the ISR, the leader, the reassignment running on it, the size of its largest
    replica log and the topic configs a repair decides on.
  - Asks the brokers through the Admin API with one admin client (metadata, C(ListPartitionReassignments),
    C(DescribeLogDirs) on the brokers holding replicas, C(DescribeConfigs)), so it works in ZooKeeper mode and
    in KRaft alike.
  - An unknown topic or partition fails the call with one line naming it.
  - Feeds the repair from an intact replica (C(repair_replicas.yml), C(skip_corrupt.yml) with C(remedy=repair)).
author:
  - Kafka Ops maintainers (@kafka-ops)
extends_documentation_fragment:
  - kafka_ops.remediation.attributes
  - kafka_ops.remediation.attributes.read_only
  - kafka_ops.remediation.zookeeper
  - kafka_ops.remediation.kafka
options:
  zk_hosts:
    description:
      - ZooKeeper ensemble as C(host:port[,host:port...]), only used to find the brokers (C(/brokers/ids)) when
        O(kafka_bootstrap_servers) is not set. Everything else is asked of the brokers.
    type: str
    required: false
  topics:
    description:
      - Topics to report, every partition of each.
      - One of O(topics) and O(partitions) is required; both may be given.
    type: list
    elements: str
  partitions:
    description:
      - Partitions to report, each a dict with at least C(topic) and C(partition). Other keys are ignored, so
        the entries of a decision (for example a repair plan's partitions) can be passed as they are.
    type: list
    elements: dict
"""

EXAMPLES = r"""
- name: Read the state of every partition of orders
  kafka_ops.remediation.partition_info:
    zk_hosts: zk1.example.com:2181
    zk_chroot: /kafka
    topics: [orders]
  delegate_to: localhost
  run_once: true
  register: orders_partitions

- name: Read two partitions through the brokers directly (KRaft, no ZooKeeper)
  kafka_ops.remediation.partition_info:
    kafka_bootstrap_servers: [kafka1.example.com:9092, kafka2.example.com:9092]
    partitions:
      - {topic: orders, partition: 0}
      - {topic: orders, partition: 3}
  delegate_to: localhost
  run_once: true
  register: repaired_partitions

- name: Stop when a reassignment still runs on one of them
  ansible.builtin.assert:
    that: repaired_partitions.partitions | selectattr('reassignment') | list | length == 0
    fail_msg: A reassignment still runs on a repaired partition
"""

RETURN = r"""
partitions:
  description: The partitions asked for, sorted by topic then partition.
  returned: success
  type: list
  elements: dict
  contains:
    topic:
      description: Topic name.
      type: str
    partition:
      description: Partition number.
      type: int
    replicas:
      description: Replica broker ids in Kafka's order, the preferred leader first. While a reassignment runs,
        its target followed by the replicas it removes.
      type: list
      elements: int
    isr:
      description: Broker ids of the in-sync replicas.
      type: list
      elements: int
    leader:
      description: Broker id of the leader, null when the partition has none.
      type: int
    reassignment:
      description: Null, or the running reassignment's C(adding) and C(removing) broker ids.
      type: dict
    size_bytes:
      description: Size in bytes of the largest replica log of the partition (C(DescribeLogDirs)).
      type: int
    configs:
      description:
        - The topic's C(min.insync.replicas) (int), C(unclean.leader.election.enable) (bool),
          C(remote.storage.enable) (bool) and C(cleanup.policy) (str), with the brokers' values where the
          topic sets none.
      type: dict
  sample:
    - {"topic": "orders", "partition": 0, "replicas": [1, 2, 3], "isr": [1, 2, 3], "leader": 1,
       "reassignment": null, "size_bytes": 1073741824,
       "configs": {"min_insync_replicas": 2, "unclean_leader_election": false, "remote_storage": false,
                   "cleanup_policy": "delete"}}
    - {"topic": "orders", "partition": 1, "replicas": [2, 3, 1], "isr": [2, 3], "leader": 2,
       "reassignment": {"adding": [1], "removing": []}, "size_bytes": 1073741824,
       "configs": {"min_insync_replicas": 2, "unclean_leader_election": false, "remote_storage": false,
                   "cleanup_policy": "delete"}}
"""

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import partition_admin
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.kafka_replicas import KafkaReplicas
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.module_runner import ModuleRunner


def run(runner: ModuleRunner) -> dict:
    infos = partition_admin.read_infos(KafkaReplicas(runner.kafka()), runner.params["topics"],
                                       runner.params["partitions"])
    return dict(changed=False, partitions=infos)


def main() -> None:
    argument_spec = dict(
        topics=dict(type="list", elements="str"),
        partitions=dict(type="list", elements="dict"),
    )
    ModuleRunner(argument_spec, uses_kafka=True, zookeeper_required=False,
                 required_one_of=[("topics", "partitions")]).run(run)


if __name__ == "__main__":
    main()
