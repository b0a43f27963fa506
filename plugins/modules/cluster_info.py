#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_info
short_description: Read a Kafka cluster's brokers, controller, controller quorum and partition health
version_added: 1.0.0
description:
  - Reads the registered brokers, the active controller and, for every partition, its replicas, leader, ISR and
    C(min.insync.replicas) (the topic override, else O(default_min_insync_replicas)).
  - "Two sources with the same result fields: a ZooKeeper-mode cluster from ZooKeeper (O(zk_hosts)); a KRaft
    cluster through the brokers' Admin API (only O(kafka_bootstrap_servers)): C(DescribeCluster) for the brokers
    and whether they are fenced, C(DescribeQuorum) for the active controller and the controller quorum,
    C(DescribeTopicPartitions) (Kafka 3.7 and later, with the eligible leader replicas) or C(Metadata) for the
    partitions, and one C(DescribeConfigs) for every topic's C(min.insync.replicas)."
  - Flags under-replicated, offline, at-minimum-ISR and below-minimum-ISR partitions, and with
    O(simulate_stopped_brokers) tells whether stopping those brokers would push any partition below
    C(min.insync.replicas), the check a rolling restart makes before each stop.
  - On KRaft, O(simulate_stopped_controllers) tells whether stopping those controllers would leave the quorum
    without a caught-up majority (RV(quorum_would_lose_majority)), the check a rolling restart makes before each
    controller stop.
  - Reads are batched (ZooKeeper multi-read), so clusters with thousands of partitions answer in well under a
    second; roles use it for their health gates.
author:
  - Kafka Ops maintainers (@kafka-ops)
extends_documentation_fragment:
  - kafka_ops.remediation.attributes
  - kafka_ops.remediation.attributes.read_only
  - kafka_ops.remediation.zookeeper
  - kafka_ops.remediation.kafka
  - kafka_ops.remediation.metadata
options:
  zk_hosts:
    description:
      - ZooKeeper ensemble of a ZooKeeper-mode cluster, as C(host:port[,host:port...]).
      - Leave it out for a KRaft cluster and set O(kafka_bootstrap_servers) instead.
    type: str
    required: false
  topics:
    description:
      - Topics to report. Default is every topic of the cluster.
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
  simulate_stopped_controllers:
    description:
      - KRaft controller (voter) ids to pretend stopped; RV(quorum_stop_check) tells whether the voters left
        that are caught up with the leader still make a majority of the quorum, and
        RV(quorum_would_lose_majority) is true when they do not.
      - Without it, the same check is made for the quorum as it is.
      - Ignored in ZooKeeper mode.
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

- name: Read a KRaft cluster through its brokers, no ZooKeeper
  kafka_ops.remediation.cluster_info:
    kafka_bootstrap_servers: [kafka1.example.com:9092, kafka2.example.com:9092]
    details: false
  delegate_to: localhost
  run_once: true
  register: kafka_cluster

- name: Refuse to stop KRaft controller 3 if the quorum would lose its caught-up majority
  kafka_ops.remediation.cluster_info:
    kafka_bootstrap_servers: [kafka1.example.com:9092]
    simulate_stopped_controllers: [3]
    details: false
  delegate_to: localhost
  run_once: true
  register: kafka_quorum_check
  failed_when: kafka_quorum_check.quorum_would_lose_majority

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
metadata_mode:
  description: Where the metadata was read, V(zookeeper) (ZooKeeper-mode cluster) or V(kraft) (the Admin API).
  returned: always
  type: str
  sample: kraft
brokers:
  description:
    - Registered brokers, by id, fenced ones included.
    - On KRaft C(endpoints) holds only the listener the module connected through, and brokers before Kafka 4.0
      list no fenced broker (C(DescribeCluster) gained fenced brokers with KIP-1073).
  returned: always
  type: list
  elements: dict
  sample: [{"id": 1, "host": "kafka1", "port": 9092, "endpoints": ["PLAINTEXT://kafka1:9092"], "rack": null,
            "fenced": false}]
  contains:
    fenced:
      description: The broker is registered but fenced (KRaft); always false in ZooKeeper mode.
      type: bool
broker_ids:
  description: Ids of the registered brokers that are not fenced, sorted; the live set the gates judge against.
  returned: always
  type: list
  elements: int
  sample: [1, 2, 3]
fenced_broker_ids:
  description: Ids of the registered but fenced brokers (KRaft), sorted; always empty in ZooKeeper mode.
  returned: always
  type: list
  elements: int
  sample: [4]
controller_id:
  description:
    - Id of the active controller, null when none is elected.
    - ZooKeeper mode reads C(/controller); KRaft the controller quorum's leader (C(DescribeQuorum)'s
      C(leader_id)), not C(DescribeCluster)'s controller, which a KRaft broker picks at random.
  returned: always
  type: int
  sample: 2
quorum:
  description:
    - The KRaft controller quorum (C(kafka-metadata-quorum.sh describe --status --replication)); null in ZooKeeper
      mode.
    - Each voter and observer has C(node_id), C(log_end_offset), C(lag) (records behind the leader's log end
      offset, null when unknown), C(last_fetch_timestamp), C(last_caught_up_timestamp) (milliseconds since the
      epoch, -1 when unknown) and C(caught_up) (within O(quorum_fetch_timeout_ms) of the leader; the leader is;
      for an observer only informative, it has no vote).
  returned: always
  type: dict
  sample: {"leader_id": 1, "leader_epoch": 3, "high_watermark": 1480,
           "voters": [{"node_id": 1, "log_end_offset": 1480, "lag": 0, "last_fetch_timestamp": 1760000000000,
                       "last_caught_up_timestamp": 1760000000000, "caught_up": true},
                      {"node_id": 2, "log_end_offset": 1479, "lag": 1, "last_fetch_timestamp": 1760000000000,
                       "last_caught_up_timestamp": 1759999999800, "caught_up": true}],
           "observers": [{"node_id": 4, "log_end_offset": 1480, "lag": 0, "last_fetch_timestamp": 1760000000000,
                          "last_caught_up_timestamp": 1760000000000, "caught_up": true}]}
  contains:
    leader_id:
      description: The active controller's node id.
      type: int
    leader_epoch:
      description: The leader's epoch.
      type: int
    high_watermark:
      description: The metadata log's high watermark.
      type: int
    voters:
      description: The controllers that vote, by node id.
      type: list
      elements: dict
    observers:
      description: The nodes that replicate the metadata log without voting (brokers), by node id.
      type: list
      elements: dict
quorum_stop_check:
  description:
    - "KRaft: whether the quorum keeps a majority of caught-up voters with O(simulate_stopped_controllers)
      stopped (Strimzi's rule; a single-voter quorum is allowed with a warning). Null in ZooKeeper mode."
    - C(ok); C(needed), the votes of a majority; C(caught_up) and C(lagging), the voters left, by id;
      C(stopped), the simulated ids that are voters; C(reason), one line when not C(ok); C(warning).
  returned: always
  type: dict
  sample: {"ok": false, "needed": 2, "caught_up": [1], "lagging": [2], "stopped": [3],
           "reason": "stopping controller(s) [3] leaves 1 caught-up voter(s) [1] of 3, fewer than the majority of 2; ...",
           "warning": null}
quorum_would_lose_majority:
  description:
    - True when RV(quorum_stop_check) is not C(ok), that is stopping O(simulate_stopped_controllers) would leave
      fewer caught-up voters than a majority. Always false in ZooKeeper mode.
  returned: always
  type: bool
  sample: false
partitions:
  description: Every selected partition with its health flags (empty when O(details=false)).
  returned: always
  type: list
  elements: dict
  sample:
    - {"topic": "orders", "partition": 0, "replicas": [1, 2, 3], "leader": 1, "isr": [1, 2, 3],
       "leader_epoch": 4, "eligible_leader_replicas": null, "min_insync_replicas": 2, "under_replicated": false,
       "at_min_isr": false, "below_min_isr": false, "offline": false}
  contains:
    eligible_leader_replicas:
      description:
        - The partition's eligible leader replicas (KIP-966) where the brokers report them (KRaft, Kafka 3.7 and
          later, through C(DescribeTopicPartitions)); null where they cannot (ZooKeeper mode, older brokers).
      type: list
      elements: int
    offline:
      description: The partition has no leader, or its leader is not a registered unfenced broker.
      type: bool
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
  sample: {"brokers": 3, "fenced_brokers": 0, "controller_id": 2, "topics": 4, "partitions": 40,
           "under_replicated": 0, "offline": 0, "at_min_isr": 0, "below_min_isr": 0, "metadata_mode": "kraft"}
healthy:
  description: True when every partition has a live leader and none is under-replicated.
  returned: always
  type: bool
  sample: true
"""

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import metadata_backend
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.module_runner import ModuleRunner


def run(runner: ModuleRunner) -> dict:
    params = runner.params
    metadata = metadata_backend.open_metadata(runner, params["quorum_fetch_timeout_ms"])
    result = metadata.read(params["topics"], params["default_min_insync_replicas"],
                           params["simulate_stopped_brokers"], params["simulate_stopped_controllers"])
    if result["quorum_stop_check"] and result["quorum_stop_check"]["warning"]:
        runner.warn(result["quorum_stop_check"]["warning"])
    result.update(changed=False)
    if not params["details"]:
        result["partitions"] = []
    return result


def main() -> None:
    argument_spec = dict(
        topics=dict(type="list", elements="str"),
        simulate_stopped_brokers=dict(type="list", elements="int", default=[]),
        simulate_stopped_controllers=dict(type="list", elements="int", default=[]),
        details=dict(type="bool", default=True),
        default_min_insync_replicas=dict(type="int", default=1),
        **metadata_backend.metadata_argument_spec(),
    )
    ModuleRunner(argument_spec, uses_kafka=True, zookeeper_required=False).run(run)


if __name__ == "__main__":
    main()
