#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: group_wait
short_description: Wait until a consumer group has left, has joined, or flows past given offsets
version_added: 1.0.0
description:
  - Waits, in one call and one session, for a consumer group to reach O(state), polling every O(poll_interval)
    seconds, bounded by O(timeout). The twin of M(kafka_ops.remediation.broker_wait) for consumer groups.
  - Works on both places a group's offsets live (O(storage)). A legacy group (ZooKeeper-stored offsets) has a
    live member while C(/consumers/<group>/ids) has a child; a Kafka-stored group while its coordinator calls
    it anything but C(Empty) or C(Dead).
  - O(state=inactive) (after a stop) waits until the group has no live member, so that no consumer can
    overwrite an offset change. A timeout names the members still there (for a Kafka-stored group by member
    id, client id and host).
  - O(state=active) (after a start) waits until the group has at least one live member.
  - O(state=flowing) (after a skip) waits until every entry of O(targets) has a committed offset past its
    target. Only for this state, and only for partitions committed exactly at their target, the brokers are
    asked for the log end offset.
  - With O(process_command), the command runs on the task's host after every check that did not pass; when it
    exits non-zero the process being waited on is gone, and the wait fails at once instead of running out its
    timeout.
  - Each failure is one sentence that names what was waited for and what was seen last.
  - The ZooKeeper and Kafka reads run on the controller (an action plugin), so the controller or execution
    environment needs kazoo (and kafka-python for Kafka-stored groups and O(state=flowing)); the task's host only runs
    O(process_command). Do not delegate the task to localhost when O(process_command) must run on the
    consumer host.
author:
  - Kafka Ops maintainers (@kafka-ops)
extends_documentation_fragment:
  - kafka_ops.remediation.attributes
  - kafka_ops.remediation.attributes.read_only
  - kafka_ops.remediation.zookeeper
  - kafka_ops.remediation.kafka
attributes:
  check_mode:
    details: Waits for nothing in check mode (the stop or start it follows did not happen) and returns C(changed=false).
  action:
    support: full
    description: Runs on the controller as an action plugin; only O(process_command) runs on the task's host.
options:
  zk_hosts:
    description:
      - ZooKeeper ensemble as C(host:port[,host:port...]), the same string Kafka's C(zookeeper.connect) uses
        without the chroot.
      - Needed for ZooKeeper-stored groups, and to find the brokers when O(kafka_bootstrap_servers) is not set.
    type: str
    required: false
  group:
    description: The consumer group (its C(group.id)).
    type: str
    required: true
  storage:
    description:
      - Where the group's offsets live. C(auto) takes ZooKeeper when O(zk_hosts) is set and the group has a
        C(/consumers/<group>) node (a legacy consumer registered there at least once), Kafka otherwise.
    type: str
    choices: [auto, zookeeper, kafka]
    default: auto
  state:
    description:
      - V(inactive) waits for the group to have no live member, V(active) for at least one, V(flowing) for every
        entry of O(targets) to have its committed offset past the target.
    type: str
    choices: [inactive, active, flowing]
    default: inactive
  targets:
    description:
      - The partitions and the offsets the group must move past, for O(state=flowing) (required there).
      - A partition is past its target when its committed offset is above O(targets[].target_offset), or when
        the committed offset has reached the log end and the log ends at or after the target (nothing newer has
        been written yet).
    type: list
    elements: dict
    suboptions:
      topic:
        description: Topic name.
        type: str
        required: true
      partition:
        description: Partition number.
        type: int
        required: true
      target_offset:
        description: The offset the committed offset must move past, for example where a skip moved it.
        type: int
        required: true
  timeout:
    description:
      - Seconds the wait may take. A legacy consumer's node goes at once on a clean close and one ZooKeeper
        session timeout after a crash; a start takes a JVM start and a rebalance.
    type: float
    default: 120
  poll_interval:
    description:
      - Seconds between two checks. Each check is one or two ZooKeeper reads (and, with O(process_command), one
        command on the task's host).
    type: float
    default: 0.5
  process_command:
    description:
      - A shell command, run on the task's host, that exits 0 exactly while the consumer process being waited on
        runs (a status command). When it exits non-zero the wait ends at once with a message saying the process
        exited; 126 and 127 mean the command itself could not run.
      - For O(state=active) and O(state=flowing) only.
    type: str
notes:
  - Supports C(module_defaults) through the C(group/kafka_ops.remediation.kafka) action group.
seealso:
  - module: kafka_ops.remediation.broker_wait
  - module: kafka_ops.remediation.consumer_offset_info
  - module: kafka_ops.remediation.consumer_offset
"""

EXAMPLES = r"""
- name: Wait until group billing has no live consumer after its stop
  kafka_ops.remediation.group_wait:
    zk_hosts: zk1.example.com:2181
    zk_chroot: /kafka
    group: billing
    state: inactive
    timeout: 60

- name: Start the consumer, then wait until it joins, failing at once if its process dies
  kafka_ops.remediation.group_wait:
    zk_hosts: zk1.example.com:2181
    zk_chroot: /kafka
    group: billing
    state: active
    process_command: systemctl is-active --quiet kafka-consumer@billing
    timeout: 120

- name: Wait until the skipped partitions move past their targets
  kafka_ops.remediation.group_wait:
    zk_hosts: zk1.example.com:2181
    zk_chroot: /kafka
    group: billing
    state: flowing
    targets:
      - topic: invoices
        partition: 3
        target_offset: 120432
    timeout: 120
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
members:
  description:
    - The group's live members at the last check, the children of C(/consumers/<group>/ids) for a
      ZooKeeper-stored group, C(<member id> (client id <id> on <host>)) for a Kafka-stored one.
  returned: when not in check mode
  type: list
  elements: str
  sample: ["billing_app1-1712000000000-3fa2c9d1"]
elapsed:
  description: Seconds the wait took.
  returned: when not in check mode
  type: float
  sample: 1.52
flowing:
  description: The targets past their target offset at the last check, with the committed offset seen.
  returned: when O(state=flowing) and not in check mode
  type: list
  elements: dict
  sample: [{"topic": "invoices", "partition": 3, "target_offset": 120432, "committed_offset": 120519}]
waiting:
  description: The targets not yet past their target offset at the last check (empty once the wait passed).
  returned: when O(state=flowing) and not in check mode
  type: list
  elements: dict
  sample: [{"topic": "invoices", "partition": 3, "target_offset": 120432, "committed_offset": 120431}]
"""

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import group_gates
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.module_runner import ModuleError, ModuleRunner


def run(runner: ModuleRunner) -> dict:
    """The module's own run, on the host it runs on; the action plugin does the same from the controller."""
    if runner.check_mode:
        return dict(changed=False, msg="check mode: not waiting")
    command = runner.params["process_command"]

    def process_exit():
        returncode, stdout, stderr = runner.module.run_command(command, use_unsafe_shell=True)
        return group_gates.process_exit_phrase(returncode, stdout, stderr)

    try:
        store = group_gates.group_reader(runner.params, runner.zookeeper, runner.kafka)
        return group_gates.wait(store, runner.params, lambda keys: runner.kafka().log_end_offsets(keys),
                                process_exit if command else None)
    except group_gates.GroupWaitFailed as failed:
        raise ModuleError(str(failed), **failed.details)


def main() -> None:
    ModuleRunner(group_gates.group_wait_argument_spec(), uses_kafka=True, zookeeper_required=False).run(run)


if __name__ == "__main__":
    main()
