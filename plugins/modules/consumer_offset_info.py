#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: consumer_offset_info
short_description: Read consumer offsets, lag, members and group state from ZooKeeper and Kafka
version_added: 1.0.0
description:
  - For one, several or all consumer groups, returns each committed offset with the log start and end offsets,
    the lag, the member that owns the partition and flags for offsets below the log start or above the log
    end. RV(table) prints them as the tools operators know do.
  - Reads both places offsets live (O(storage)). ZooKeeper-stored groups (legacy consumers under
    C(/consumers)) come with their owning consumer thread, when each offset was last committed (the node's
    mtime) and their state (C(active), C(inactive), C(absent)). Kafka-stored groups (C(__consumer_offsets),
    every client since Kafka 0.9) come with Kafka's state (C(Empty), C(Stable), ...), their type (C(classic)
    or C(consumer), the new protocol of KIP-848) and their members with client id and host; a group in both
    stores has an entry for each.
  - Reports stray nodes that point at trouble, in RV(stray_nodes), such as C(/consumers/<g>/offset/...) written
    by Kafka 1.1.0's broker, offsets for partitions or topics that no longer exist and nodes that do not hold
    a number.
  - Returns every partition offset node that does not hold a decimal offset (a hand edit gone wrong, such as
    C(abc)) in RV(unreadable_offsets), with its group, topic, partition, path and raw text. A legacy consumer
    cannot start while one of its offset nodes holds such text; P(kafka_ops.remediation.unstartable_groups#filter)
    says so in one line per group.
  - RV(table) is in ConsumerOffsetChecker's columns for ZooKeeper-stored offsets, with a line for each unreadable
    offset node too, and in C(kafka-consumer-groups --describe)'s columns for Kafka-stored ones.
  - Supports the Storm KafkaSpout layout (C(<zkRoot>/<id>/partition_<n>) holding JSON with C(offset)) with
    O(layout=storm); Storm keeps no member registry, so its group state is C(unknown) (or C(absent)).
  - Reads are batched (ZooKeeper multi-read; one OffsetFetch per group coordinator), so ten thousand partitions
    take well under two seconds.
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
      - ZooKeeper ensemble as C(host:port[,host:port...]), the same string Kafka's C(zookeeper.connect) uses
        without the chroot.
      - Needed for ZooKeeper-stored groups, O(cluster=true), and to find the brokers when
        O(kafka_bootstrap_servers) is not set. Without it, only Kafka-stored groups are read.
    type: str
    required: false
  storage:
    description:
      - Which stores to read. C(auto) reads Kafka and, when O(zk_hosts) is set, ZooKeeper; C(zookeeper) only
        C(/consumers); C(kafka) only C(__consumer_offsets) (through the brokers' group coordinators).
      - Reading Kafka needs the brokers up; pass C(zookeeper) to read legacy groups while they are stopped.
        With C(auto), a chroot where no broker is registered (and no O(kafka_bootstrap_servers)) is read from
        ZooKeeper only, with a warning.
    type: str
    default: auto
    choices: [auto, zookeeper, kafka]
  groups:
    description:
      - Consumer groups (Storm spout ids with O(layout=storm)). Default is every group. A named group that does
        not exist is returned with state C(absent).
    type: list
    elements: str
  topics:
    description: Only these topics. Default is every topic the groups have offsets for.
    type: list
    elements: str
  partitions:
    description: Only these partition numbers.
    type: list
    elements: int
  layout:
    description: Where the offsets live; C(kafka) is C(/consumers/<group>/offsets/<topic>/<partition>).
    type: str
    default: kafka
    choices: [kafka, storm]
  storm_root:
    description: The spout's C(zkRoot) for O(layout=storm), for example C(/kafka-spout).
    type: str
  log_offsets:
    description: Ask the brokers for log start and end offsets (for lag and the range flags).
    type: bool
    default: true
  sample_interval:
    description:
      - When above 0, read the committed offsets a second time this many seconds after the first read (one
        module run, one ZooKeeper session, the brokers asked once). RV(offsets) and RV(groups) are the second
        read and RV(earlier_offsets) the first, so that offsets that did not move in between (a stuck
        consumer) show up by comparing the two.
      - Pick an interval longer than the group's commit interval (C(auto.commit.interval.ms), 60 s by default
        for the old consumer), or a live group looks stuck.
    type: float
    default: 0
  cluster:
    description:
      - Also read the cluster's brokers, controller and partitions at the first read (from ZooKeeper when
        O(zk_hosts) is set, in the same session, else through the Admin API as on a KRaft cluster), and return
        them as RV(cluster). It saves a separate M(kafka_ops.remediation.cluster_info) run
        where a playbook needs both, as the skip_corrupt preflight does.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Show where the billing group stands
  kafka_ops.remediation.consumer_offset_info:
    zk_hosts: zk1.example.com:2181
    zk_chroot: /kafka
    groups: [billing]
  delegate_to: localhost
  run_once: true
  register: billing_offsets

- name: Print it like ConsumerOffsetChecker
  ansible.builtin.debug:
    msg: "{{ billing_offsets.table }}"

- name: Read a Storm topology's spout offsets
  kafka_ops.remediation.consumer_offset_info:
    zk_hosts: zk1.example.com:2181
    layout: storm
    storm_root: /kafka-spout
    log_offsets: false
  delegate_to: localhost
  run_once: true

- name: Find the billing partitions whose offset did not move in 90 s although records wait
  kafka_ops.remediation.consumer_offset_info:
    zk_hosts: zk1.example.com:2181
    zk_chroot: /kafka
    groups: [billing]
    sample_interval: 90
  delegate_to: localhost
  run_once: true
  register: billing_samples

- name: Show both reads of each partition's committed offset
  ansible.builtin.debug:
    msg: >-
      {{ billing_samples.earlier_offsets | kafka_ops.remediation.json_query('[].[topic, partition, offset]') }}
      then {{ billing_samples.offsets | kafka_ops.remediation.json_query('[].[topic, partition, offset, log_end_offset]') }}
"""

RETURN = r"""
groups:
  description:
    - Each selected group with its state, live members and topics it has offsets for, one entry per store that
      has it (C(storage)), and C(active) true while it has a live member.
    - ZooKeeper-stored groups have C(state) C(active), C(inactive) or C(absent) (C(unknown) for Storm) and
      C(members), the live consumer ids.
    - Kafka-stored groups have Kafka's C(state) (C(Empty), C(Stable), C(PreparingRebalance),
      C(CompletingRebalance), C(Dead), C(Assigning), C(Reconciling)), C(group_type) (C(classic), or C(consumer)
      for the new protocol of KIP-848), C(protocol_type) and C(members), one dict per member with C(member_id),
      C(client_id), C(host), C(group_instance_id) and C(partitions). C(members_known) is false for a
      new-protocol group, whose members DescribeGroups cannot show.
    - A named group no store has is one entry with C(state=absent) and C(storage=null).
  returned: always
  type: list
  elements: dict
  sample:
    - {"group": "billing", "storage": "zookeeper", "state": "inactive", "active": false, "members": [],
       "topics": ["invoices"]}
    - {"group": "payments", "storage": "kafka", "state": "Stable", "active": true, "group_type": "classic",
       "protocol_type": "consumer", "members_known": true, "topics": ["payments"],
       "members": [{"member_id": "payments-app-1-5f0c", "client_id": "payments-app", "host": "10.0.0.5",
                    "group_instance_id": null, "partitions": ["payments/0", "payments/1"]}]}
offsets:
  description:
    - One entry per committed partition offset, with C(storage) saying where it lives.
    - ZooKeeper-stored offsets have C(owner) (the owning consumer thread), C(last_commit) (the node's mtime) and
      C(path).
    - Kafka-stored offsets have C(consumer_id), C(host) and C(client_id) of the member that owns the partition
      (C(owner) is its member id), the commit's C(metadata) and C(leader_epoch); C(last_commit) and C(path) are
      null.
  returned: always
  type: list
  elements: dict
  sample:
    - {"group": "billing", "topic": "invoices", "partition": 3, "offset": 120431, "log_start_offset": 0,
       "log_end_offset": 130000, "lag": 9569, "owner": "billing_app1-1732610000000-1a2b3c4d-0",
       "last_commit": "2026-11-26T13:05:01.123Z", "below_log_start": false, "above_log_end": false,
       "path": "/consumers/billing/offsets/invoices/3", "storage": "zookeeper"}
    - {"group": "payments", "topic": "payments", "partition": 0, "offset": 88200, "log_start_offset": 0,
       "log_end_offset": 88500, "lag": 300, "owner": "payments-app-1-5f0c", "consumer_id": "payments-app-1-5f0c",
       "host": "10.0.0.5", "client_id": "payments-app", "last_commit": null, "below_log_start": false,
       "above_log_end": false, "path": null, "storage": "kafka", "metadata": "", "leader_epoch": 4}
earlier_offsets:
  description:
    - With O(sample_interval), the first read of the committed offsets, shaped like RV(offsets) (same log offsets).
  returned: when O(sample_interval) is above 0
  type: list
  elements: dict
  sample:
    - {"group": "billing", "topic": "invoices", "partition": 3, "offset": 120431, "log_start_offset": 0,
       "log_end_offset": 130000, "lag": 9569, "owner": "billing_app1-1732610000000-1a2b3c4d-0",
       "last_commit": "2026-11-26T13:05:01.123Z", "below_log_start": false, "above_log_end": false,
       "path": "/consumers/billing/offsets/invoices/3"}
cluster:
  description:
    - With O(cluster), what M(kafka_ops.remediation.cluster_info) returns for every topic with its defaults
      (RV(kafka_ops.remediation.cluster_info#module:brokers), C(broker_ids), C(controller_id), C(partitions),
      C(summary), C(healthy), ...).
  returned: when O(cluster) is true
  type: dict
  sample: {"broker_ids": [1, 2, 3], "controller_id": 2, "healthy": true,
           "partitions": [{"topic": "invoices", "partition": 3, "replicas": [1, 2, 3], "leader": 1, "isr": [1, 2, 3]}],
           "summary": {"brokers": 3, "controller_id": 2, "topics": 4, "partitions": 40, "under_replicated": 0,
                       "offline": 0, "at_min_isr": 0, "below_min_isr": 0}}
sampled_seconds:
  description: With O(sample_interval), the seconds that really passed between the two reads.
  returned: when O(sample_interval) is above 0
  type: float
  sample: 10.02
stray_nodes:
  description: Nodes that are not usable offsets, with the reason.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/consumers/billing/offset/invoices/0",
            "reason": "written by Kafka 1.1.0's broker to /offset (singular) by mistake; no consumer reads it"}]
unreadable_offsets:
  description:
    - Every partition offset node (C(/consumers/<g>/offsets/<t>/<p>), or Storm's C(offset) field) whose text is
      not a decimal offset, sorted by group, topic and partition. Each is in RV(stray_nodes) too, and in
      neither RV(offsets) nor the lag. (A negative offset is decimal text; it stays in RV(stray_nodes) only.)
    - C(raw) is the node's data as text (undecodable bytes escaped as C(\xNN)), at most 200 characters;
      C(reason) is C(not a decimal offset) or C(empty, not a decimal offset); the log offsets are null when
      the partition is not in the topic's assignment or the brokers were not asked.
  returned: always
  type: list
  elements: dict
  sample:
    - {"group": "billing", "topic": "invoices", "partition": 3, "path": "/consumers/billing/offsets/invoices/3",
       "raw": "abc", "reason": "not a decimal offset", "log_start_offset": 0, "log_end_offset": 130000,
       "owner": null, "last_commit": "2026-11-26T13:05:01.123Z"}
table:
  description:
    - ConsumerOffsetChecker's table (Group Topic Pid Offset logSize Lag Owner) for ZooKeeper-stored offsets, one
      line per entry of RV(offsets) and one per entry of RV(unreadable_offsets), whose Offset column shows
      C(unreadable:) and what the node holds.
    - C(kafka-consumer-groups --describe)'s table (GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG
      CONSUMER-ID HOST CLIENT-ID) for Kafka-stored offsets, after a blank line when both are shown.
  returned: always
  type: list
  elements: str
  sample: ["Group    Topic     Pid  Offset           logSize  Lag      Owner",
           "billing  invoices  3    120431           130000   9569     none",
           "billing  invoices  4    unreadable:'abc' 130000   unknown  none"]
"""

import time

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import metadata_backend
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.module_runner import ModuleError, ModuleRunner
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import kafka_groups, kafka_offset_store, offset_info


def run(runner: ModuleRunner) -> dict:
    params = runner.params
    if params["sample_interval"] < 0:
        raise ModuleError(f"sample_interval must not be negative, got {params['sample_interval']:g}")
    if params["layout"] == "storm" and not params["storm_root"]:
        raise ModuleError("layout=storm needs storm_root, the spout's zkRoot (for example /kafka-spout)")
    storage = params["storage"]
    if params["layout"] == "storm" and storage == "kafka":
        raise ModuleError("layout=storm reads spout offsets in ZooKeeper: use storage=zookeeper or auto")
    use_zookeeper = storage == "zookeeper" or (storage == "auto" and bool(params["zk_hosts"]))
    use_kafka = storage == "kafka" or (storage == "auto" and params["layout"] == "kafka")
    zk = runner.zookeeper() if use_zookeeper else None
    if storage == "auto" and use_kafka and zk is not None and not runner.bootstrap_servers():
        # A chroot without brokers (Storm's, a test's) holds no Kafka-stored group to read.
        use_kafka = False
        runner.warn("no Kafka broker is registered under /brokers/ids and kafka_bootstrap_servers is not set: only "
                    "ZooKeeper-stored groups were read")

    # Both reads share one answer from the brokers: log ranges barely move in seconds and asking twice doubles
    # the slowest part of the call.
    ranges: dict = {}

    def log_offsets(partitions):
        if not params["log_offsets"]:
            return {}
        missing = [key for key in partitions if key not in ranges]
        if missing:
            kafka = runner.kafka()
            starts = kafka.log_start_offsets(missing)
            ends = kafka.log_end_offsets(missing)
            ranges.update({key: (starts.get(key), ends.get(key)) for key in missing})
        return {key: ranges[key] for key in partitions}

    def read():
        """Both stores as the module reports them; ZooKeeper first, as it always was."""
        if not use_zookeeper:
            found = dict(groups=[], offsets=[], stray_nodes=[], unreadable_offsets=[])
        elif params["layout"] == "storm":
            found = offset_info.assemble(offset_info.read_storm_layout(
                zk, params["storm_root"], params["groups"], params["topics"], params["partitions"]), log_offsets)
        else:
            found = offset_info.assemble(offset_info.read_kafka_layout(
                zk, params["groups"], params["topics"], params["partitions"]), log_offsets)
        kafka_found = (kafka_offset_store.read_info(runner.kafka(), params["groups"], params["topics"],
                                                    params["partitions"], log_offsets)
                       if use_kafka else dict(groups=[], offsets=[]))
        return offset_info.merge_stores(found, kafka_found, params["groups"])

    first = read()
    first_at = time.monotonic()
    # From ZooKeeper when zk_hosts is set, else through the Admin API (a KRaft cluster has no ZooKeeper).
    cluster = metadata_backend.open_metadata(runner).read() if params["cluster"] else None
    if params["sample_interval"] <= 0:
        result = first
    else:
        time.sleep(max(0.0, params["sample_interval"] - (time.monotonic() - first_at)))
        second_at = time.monotonic()
        result = read()
        result.update(earlier_offsets=first["offsets"], sampled_seconds=round(second_at - first_at, 2))
    result.update(changed=False, table=offset_info.tables(result["offsets"], result["unreadable_offsets"]))
    if cluster is not None:
        result["cluster"] = cluster
    return result


def main() -> None:
    argument_spec = dict(
        groups=dict(type="list", elements="str"),
        topics=dict(type="list", elements="str"),
        partitions=dict(type="list", elements="int"),
        layout=dict(type="str", default="kafka", choices=["kafka", "storm"]),
        storm_root=dict(type="str"),
        log_offsets=dict(type="bool", default=True),
        sample_interval=dict(type="float", default=0.0),
        cluster=dict(type="bool", default=False),
        storage=dict(type="str", default="auto", choices=kafka_groups.STORAGES),
    )
    ModuleRunner(argument_spec, uses_kafka=True, zookeeper_required=False).run(run)


if __name__ == "__main__":
    main()
