#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: partition_reassignment
short_description: Move partitions to new replica lists and wait until every new replica is in sync
version_added: 1.0.0
description:
  - Submits one partition reassignment (C(AlterPartitionReassignments), what C(kafka-reassign-partitions
    --execute) sends) for every partition of O(partitions) whose replicas differ from its target, then waits
    until each is complete. Complete means no reassignment runs on it, its replicas are the target in the
    given order and every target replica is in the ISR.
  - A partition already at its target and in sync is left alone; when none needs a change, nothing is
    submitted and C(changed) is false. A partition at its target with a replica still out of the ISR is
    waited for.
  - A reassignment already running to the same target is waited for, not refused, so a rerun after a timeout
    picks up where the first run stopped. One running to a different target fails the call, naming it, and
    nothing is submitted.
  - A reorder of the same replicas moves no data and completes at once; run
    M(kafka_ops.remediation.leader_election) after it to move the leadership.
  - B(Stall rule.) While a replica the reassignment adds is out of the ISR, its log size on its broker
    (C(DescribeLogDirs)) is read at every poll. When it has not grown for O(stall_timeout) seconds, the
    reassignment of that partition is cancelled (Kafka reverts it to its replicas before) and the call fails
    naming the partition, the brokers and the bytes copied. A follower that cannot copy a damaged batch stalls
    like that and logs C(Found invalid messages during fetch).
  - B(Throttle.) With O(throttle), the copy is throttled as C(kafka-reassign-partitions --throttle) does it.
    Before the submit, C(leader.replication.throttled.rate) and C(follower.replication.throttled.rate) are set
    to O(throttle) on every broker that holds or receives a replica of a partition that moves (those that are
    up), and the topic configs C(leader.replication.throttled.replicas) and
    C(follower.replication.throttled.replicas) gain the C(partition:broker) pairs of the existing and of the
    added replicas. Every change is an incremental config change, so no other config moves.
  - When the wait ends (complete, stalled, timed out or failed), the throttle is lifted in any case. Only what
    this call set is undone. A rate that was there before is restored, one it added is deleted, a rate someone
    changed meanwhile is left as it is, and the topic lists lose exactly the pairs added. A throttle that cannot
    be lifted (a broker went down) fails the call, naming it.
  - A rerun that finds its reassignment still running with all its pairs listed (an earlier run was
    interrupted before it could lift its throttle) takes that throttle as the reassignment's own and lifts it
    when the reassignment completes, rates included, as C(kafka-reassign-partitions --verify) does. The values
    that the interrupted run replaced cannot be known then, so they are not restored.
  - A throttled follower copies in bursts and can sit still for a whole replication quota window
    (C(replication.quota.window.num) times C(replication.quota.window.size.seconds), 11 s by default) while it
    still grows. With a throttle, the stall rule therefore waits at least two windows, or O(stall_timeout)
    when longer.
  - B(Timeout.) When O(timeout) runs out, the call fails naming every partition still moving and leaves
    their reassignments running (cancelling a half-done rebuild would only restart the copy later); rerun
    the same task to wait again, or cancel with C(kafka-reassign-partitions --cancel).
author:
  - Kafka Ops maintainers (@kafka-ops)
extends_documentation_fragment:
  - kafka_ops.remediation.attributes
  - kafka_ops.remediation.zookeeper
  - kafka_ops.remediation.kafka
attributes:
  check_mode:
    support: full
    details: Reads the partitions and reports what would be submitted and waited for, and the throttle it would
      set; submits and sets nothing.
  diff_mode:
    support: full
    details: The replica lists of the partitions before and after.
options:
  zk_hosts:
    description:
      - ZooKeeper ensemble as C(host:port[,host:port...]), only used to find the brokers (C(/brokers/ids)) when
        O(kafka_bootstrap_servers) is not set. The reassignment itself goes to the controller through the
        brokers.
    type: str
    required: false
  partitions:
    description: The partitions and their target replicas, the preferred leader first.
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
      replicas:
        description: Target replica broker ids, in order; the first is the preferred leader.
        type: list
        elements: int
        required: true
  timeout:
    description: Seconds to wait until every partition is at its target and in sync.
    type: float
    default: 1800
  stall_timeout:
    description:
      - Seconds an added replica that is out of the ISR may go without its log growing before the
        reassignment of its partition is cancelled. C(0) turns the stall rule off.
    type: float
    default: 120
  poll_interval:
    description: Seconds between two reads of the partitions while waiting.
    type: float
    default: 2
  throttle:
    description:
      - Replication rate limit in bytes per second for the copy, on each broker that takes part, for leaders
        and followers alike. C(0) sets no throttle.
      - Kafka needs time to copy at that rate; raise O(timeout) to at least the bytes to copy divided by
        O(throttle).
    type: int
    default: 0
"""

EXAMPLES = r"""
- name: Make broker 2 the preferred leader of orders-0 (a reorder, no data moves)
  kafka_ops.remediation.partition_reassignment:
    zk_hosts: zk1.example.com:2181
    zk_chroot: /kafka
    partitions:
      - {topic: orders, partition: 0, replicas: [2, 3, 1]}
  delegate_to: localhost
  run_once: true

- name: Add broker 1 back to orders-0 and wait until its copy is in sync, cancelling a copy stuck for 5 minutes
  kafka_ops.remediation.partition_reassignment:
    zk_hosts: zk1.example.com:2181
    zk_chroot: /kafka
    partitions:
      - {topic: orders, partition: 0, replicas: [1, 2, 3]}
    timeout: 3600
    stall_timeout: 300
  delegate_to: localhost
  run_once: true
  register: orders_readd

- name: Move orders-0 and orders-1 onto broker 4, copying at 50 MB/s at most so producers keep their bandwidth
  kafka_ops.remediation.partition_reassignment:
    kafka_bootstrap_servers:
      - kafka1.example.com:9092
    partitions:
      - {topic: orders, partition: 0, replicas: [4, 2, 3]}
      - {topic: orders, partition: 1, replicas: [2, 4, 3]}
    throttle: 52428800
    timeout: 7200
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
partitions:
  description: Every partition given, with its replicas before and after and how long it was waited for.
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
    before:
      description: Replicas before (without those a running reassignment adds).
      type: list
      elements: int
    after:
      description: Target replicas.
      type: list
      elements: int
    submitted:
      description: Whether this call submitted the partition's reassignment (or would, in check mode).
      type: bool
    waited:
      description: Seconds from the start of the wait until the partition was complete; 0 when not waited for.
      type: float
  sample:
    - {"topic": "orders", "partition": 0, "before": [1, 2, 3], "after": [2, 3, 1], "submitted": true,
       "waited": 0.4}
plan:
  description: The partitions submitted (C(submit), with their targets), waited for (C(wait)) and left alone
    (C(done)).
  returned: success
  type: dict
  sample: {"submit": [{"topic": "orders", "partition": 0, "replicas": [2, 3, 1]}], "wait": [], "done": []}
stalled:
  description: On a stall, the stalled partitions with the brokers, the bytes copied per broker and the seconds
    without growth.
  returned: when a reassignment stalled
  type: list
  elements: dict
  sample: [{"topic": "orders", "partition": 0, "brokers": [1], "bytes": {"1": 524288}, "seconds": 120.4}]
unfinished:
  description: On a timeout, what still kept each partition from its target.
  returned: when the wait timed out
  type: list
  elements: dict
  sample: [{"topic": "orders", "partition": 0, "target": [1, 2, 3], "replicas": [1, 2, 3], "isr": [2, 3],
            "adding": [1]}]
throttle:
  description:
    - The replication throttle set for the copy (or that would be set, in check mode), lifted when the call
      returns; the topic lists are the C(partition:broker) pairs of the existing replicas (C(leader)) and of the
      added ones (C(follower)).
  returned: when O(throttle) is set and a partition copies data
  type: dict
  contains:
    rate:
      description: Bytes per second, for leaders and followers.
      type: int
    brokers:
      description: The brokers the rate was set on.
      type: list
      elements: int
    topics:
      description: Per topic, the pairs added to C(leader.replication.throttled.replicas) and
        C(follower.replication.throttled.replicas).
      type: dict
  sample: {"rate": 52428800, "brokers": [1, 2, 3, 4],
           "topics": {"orders": {"leader": ["0:1", "0:2", "0:3"], "follower": ["0:4"]}}}
msg:
  description: What was submitted and waited for.
  returned: always
  type: str
  sample: reassigned orders-0; 0 already at their target; every partition is at its target and in sync
"""

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import partition_admin
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.kafka_replicas import KafkaReplicas
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.module_runner import ModuleRunner


def run(runner: ModuleRunner) -> dict:
    params = runner.params
    result = partition_admin.reassign(KafkaReplicas(runner.kafka()), params["partitions"], params["timeout"],
                                      params["stall_timeout"], params["poll_interval"], runner.check_mode,
                                      throttle=params["throttle"])
    if runner.diff_mode:
        result["diff"] = dict(
            before={f"{p['topic']}-{p['partition']}": p["before"] for p in result["partitions"]},
            after={f"{p['topic']}-{p['partition']}": p["after"] for p in result["partitions"]})
    return result


def main() -> None:
    argument_spec = dict(
        partitions=dict(type="list", elements="dict", required=True, options=dict(
            topic=dict(type="str", required=True),
            partition=dict(type="int", required=True),
            replicas=dict(type="list", elements="int", required=True),
        )),
        timeout=dict(type="float", default=1800.0),
        stall_timeout=dict(type="float", default=120.0),
        poll_interval=dict(type="float", default=2.0),
        throttle=dict(type="int", default=0),
    )
    ModuleRunner(argument_spec, uses_kafka=True, zookeeper_required=False).run(run)


if __name__ == "__main__":
    main()
