#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: consumer_offset
short_description: Move a consumer group's offsets safely, atomically and with a backup, wherever they are stored
version_added: 1.0.0
description:
  - Sets the offsets a consumer group has committed to an explicit offset, the log start or end, the current
    offset shifted by N, the first offset at a time, the contents of a file (Kafka's reset CSV or
    ExportZkOffsets lines, detected from the content) or, with O(target=skip), to the first readable offset
    after a corrupt record.
  - Works on both places a group's offsets live (O(storage)). A legacy consumer (Kafka's old high-level
    consumer, Storm, Spark and frameworks built on it) stores them in ZooKeeper under
    C(/consumers/<group>/offsets); every client since Kafka 0.9 stores them in Kafka (C(__consumer_offsets)).
    RV(storage) says which one the module changed.
  - For B(ZooKeeper-stored groups), the module refuses a group that has live members (children of C(/consumers/<group>/ids))
    unless O(wait_inactive) sees them leave or O(force=true). Writes all partitions in one version-checked
    ZooKeeper transaction (split into as few as fit in one request, undoing committed parts if a later one
    fails), so a concurrent commit leaves nothing changed; creates missing offset nodes. The backup is in
    ExportZkOffsets format.
  - For B(Kafka-stored groups), the module refuses unless the group is C(Empty) (or C(Dead)), naming its members by client id
    and host; O(wait_inactive) waits for them to leave. The coordinator itself accepts an admin commit only
    while the group has no member. Kafka has no compare-and-set for offsets, so the module does the closest
    thing. It reads the offsets just before the commit and compares them with O(expected_offsets), sends every
    partition of the change in one OffsetCommit (which Kafka stores as one batch, all or nothing) and reads them
    back. A committer that is not a group member (a consumer using C(assign()) with manual commits, another
    admin tool, a transaction's pending offsets) can still write between the read and the commit; the read-back
    then fails the module naming the partitions. The backup is kafka-consumer-groups' reset CSV
    (C(topic,partition,offset), which C(kafka-consumer-groups --reset-offsets --from-file) reads too) with a
    C(.meta.json) sidecar that lists the partitions that had no offset and each commit's metadata; a restore
    from the CSV deletes those partitions' offsets (OffsetDelete) and writes the metadata back. Moving a
    group's committed offsets does nothing for applications that restore their position from their own
    checkpoints (Flink, Spark Structured Streaming).
  - Checks every target against the log start and end offsets (or clamps with O(clamp=true)) and, with
    O(expected_offsets), only acts if the consumer still sits where it was seen (or already at the target).
  - Reads every changed partition back after writing, whether the write succeeded or not, and reports
    C(changed) as what the store holds then (RV(read_back)). When another writer changed a partition after the
    commit, the module fails with C(changed=true) and says how many partitions are at their target and which
    hold something else. A failure stays short (one line and small fields, never the plan); when ZooKeeper
    keeps a change of the run, every partition with what it holds goes into a report file (RV(report_file))
    beside the backup.
  - Saves the previous offsets first to a backup file; O(target=file) with that file restores the exact
    previous state, deleting offsets that did not exist before.
  - Sets a ZooKeeper offset node that holds no offset a consumer can start from (such as C(abc), or a negative
    number) when its target does not start from it (not O(target=current) or O(target=shift_by)) and no
    only-if guard names it. RV(plan) and the diff show its text as C(before); the backup keeps it in a
    C(# unreadable <path>:<text>) line, which a restore leaves alone.
author:
  - Kafka Ops maintainers (@kafka-ops)
extends_documentation_fragment:
  - kafka_ops.remediation.attributes
  - kafka_ops.remediation.zookeeper
  - kafka_ops.remediation.kafka
attributes:
  check_mode:
    support: full
    details: Reads, checks and plans everything and returns the plan; writes nothing, not even the backup.
  diff_mode:
    support: full
    details: Shows each changed partition's offset before and after.
options:
  zk_hosts:
    description:
      - ZooKeeper ensemble as C(host:port[,host:port...]), the same string Kafka's C(zookeeper.connect) uses
        without the chroot.
      - Needed for ZooKeeper-stored groups, and to find the brokers when O(kafka_bootstrap_servers) is not set.
        Without it, only Kafka-stored groups are looked at.
    type: str
    required: false
  group:
    description: The consumer group (its C(group.id)).
    type: str
    required: true
  prefer_store:
    description:
      - For a group whose offsets live in both stores, which one wins where they disagree, for the only-if
        guard and for targets relative to the current offset (C(current), C(shift_by)). C(larger) is what a
        dual-commit consumer starts from. Without it, a disagreement fails the module, naming the partitions.
    type: str
    choices: [zookeeper, kafka, larger]
  storage:
    description:
      - Where the group's offsets live. C(auto) asks ZooKeeper (when O(zk_hosts) is set) and Kafka, and changes
        the store that has the group; a group found in neither fails naming where the module looked.
      - A group C(auto) finds in both (an old consumer with C(offsets.storage=kafka) and
        C(dual.commit.enabled), which commits to both and starts from the larger) is changed in both. Where the
        two disagree the module refuses unless O(prefer_store) says which wins. ZooKeeper is written first,
        then Kafka; when Kafka refuses, ZooKeeper is put back. The backup is the ExportZkOffsets file
        (RV(backup_file)) and kafka-consumer-groups' CSV beside it (RV(backup_files)); O(target=file) with
        either restores both stores.
      - C(zookeeper) for C(/consumers/<group>/offsets) only, C(kafka) for C(__consumer_offsets) only.
    type: str
    default: auto
    choices: [auto, zookeeper, kafka]
  topics:
    description:
      - Topics to change. Default is every topic the group has offsets for (or, for O(target=file),
        O(target=skip) and O(partition_offsets), the topics listed there).
    type: list
    elements: str
  partitions:
    description: Partitions to change within O(topics). Default is all of each topic's partitions.
    type: list
    elements: int
  target:
    description:
      - C(offset) sets O(offset) (or each O(partition_offsets) entry); C(earliest)/C(latest) the log start/end;
        C(current) keeps the offsets (with O(clamp=true) it pulls out-of-range offsets back into the log);
        C(shift_by) adds O(shift_by); C(datetime) and C(duration) use the first offset at O(datetime) or at
        now minus O(duration); C(file) reads O(file); C(skip) moves the O(partition_offsets) partitions to the
        given first readable offsets.
    type: str
    required: true
    choices: [offset, earliest, latest, current, shift_by, datetime, duration, file, skip]
  offset:
    description: The offset for O(target=offset), for every selected partition.
    type: int
  shift_by:
    description: Records to move by with O(target=shift_by); negative moves back.
    type: int
  datetime:
    description: ISO 8601 time with a zone for O(target=datetime), like C(2026-11-26T10:00:00Z).
    type: str
  duration:
    description: How far back from now for O(target=duration), ISO 8601 (C(PT1H)) or short (C(90m), C(1h), C(2d)).
    type: str
  file:
    description:
      - Offsets file on the controller for O(target=file). Kafka's reset CSV (C(topic,partition,offset) or
        C(group,topic,partition,offset)), ExportZkOffsets lines (C(/consumers/<g>/offsets/<t>/<p>:<offset>)) or a
        backup written by this module. Rows for other groups are ignored.
    type: path
  partition_offsets:
    description:
      - Per-partition targets, for O(target=skip) and O(target=offset). Each entry names C(topic) and
        C(partition) and the offset to store (the next offset the consumer reads) in one of two forms.
      - C({topic, partition, offset}).
      - 'The entries of the skip decision as they are: C({topic, partition, target_offset, committed_offset, ...}).
        C(target_offset) is the offset to store. C(committed_offset), when present, is the offset the group was
        seen stuck at and acts as the only-if guard for that partition, exactly like an O(expected_offsets)
        entry (null: the partition had no offset node); a partition guarded by both must be given the same
        offset by both.'
      - Any other key of an entry (C(records_skipped), C(damaged_brokers), C(damage), C(log_end_offset), ...) is
        ignored. An entry with both C(offset) and C(target_offset) must give the same offset.
      - A partition may appear once. Every malformed entry is named in one failure, and nothing is changed.
    type: list
    elements: dict
  expected_offsets:
    description:
      - Only-if guard, a compare-and-set. Each listed partition must currently hold this offset, or already
        hold the offset this call would write (after O(clamp)); the latter has nothing to write and is reported
        unchanged, so rerunning after a successful change reports no change. Any other offset fails the module,
        naming the partition, and nothing is changed. Pass the offset the consumer was seen stuck at.
      - A C(committed_offset) in an O(partition_offsets) entry is the same guard for its partition.
    type: list
    elements: dict
    suboptions:
      topic:
        description: Topic.
        type: str
        required: true
      partition:
        description: Partition.
        type: int
        required: true
      offset:
        description: The offset the partition must hold now (unless it already holds its target).
        type: int
        required: true
  clamp:
    description: Clamp targets below the log start or above the log end into the log instead of failing.
    type: bool
    default: false
  force:
    description:
      - Change a ZooKeeper-stored group's offsets even though it has live members (they will overwrite the
        change).
      - For a Kafka-stored group, whose coordinator refuses such a change anyway, only check mode accepts it,
        planning despite the members (a playbook's check run, whose consumers were not really stopped).
    type: bool
    default: false
  wait_inactive:
    description:
      - Seconds to wait for the group's live members to leave (a Kafka-stored group to become C(Empty)) before
        refusing. Skipped in check mode. A Kafka consumer that crashed, or a static member
        (C(group.instance.id)), stays a member until its C(session.timeout.ms) (45 s by default) passes.
    type: int
    default: 0
  backup:
    description: Save the previous offsets to a file in O(backup_dir) before writing.
    type: bool
    default: true
  backup_dir:
    description:
      - Directory on the controller for backup files (created with mode 0700), and for the report file of a
        run that fails after changing offsets (RV(report_file)).
    type: path
    default: ~/.ansible/kafka_ops_remediation/backups
  log_offsets:
    description:
      - Ask the brokers for log start/end offsets for the range check. Set to false only when the brokers are
        stopped and the targets are known to be valid (explicit, skip, file, current, shift_by); there is no
        range check then.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Skip the corrupt record the consumer is stuck on, only if it is still stuck there
  kafka_ops.remediation.consumer_offset:
    zk_hosts: zk1.example.com:2181
    zk_chroot: /kafka
    group: billing
    target: skip
    partition_offsets:
      - {topic: invoices, partition: 3, offset: 120446}
    expected_offsets:
      - {topic: invoices, partition: 3, offset: 120431}
    wait_inactive: 60
  delegate_to: localhost
  run_once: true
  register: billing_skip

- name: Skip with the entries of the skip decision as they are (committed_offset is the only-if guard)
  kafka_ops.remediation.consumer_offset:
    zk_hosts: zk1.example.com:2181
    zk_chroot: /kafka
    group: billing
    target: skip
    partition_offsets:
      - topic: invoices
        partition: 3
        committed_offset: 120431
        target_offset: 120446
        records_skipped: 15
        log_end_offset: 130000
        damaged_brokers: [1, 2, 3]
  delegate_to: localhost
  run_once: true

- name: Undo the skip from its backup file
  kafka_ops.remediation.consumer_offset:
    zk_hosts: zk1.example.com:2181
    zk_chroot: /kafka
    group: billing
    target: file
    file: "{{ billing_skip.backup_file }}"
  delegate_to: localhost
  run_once: true

- name: Skip past a corrupt batch for a modern consumer group (offsets in Kafka), once its consumers are gone
  kafka_ops.remediation.consumer_offset:
    kafka_bootstrap_servers: [kafka1.example.com:9092, kafka2.example.com:9092]
    storage: kafka
    group: payments
    target: skip
    partition_offsets:
      - {topic: payments, partition: 7, offset: 88213}
    expected_offsets:
      - {topic: payments, partition: 7, offset: 88200}
    wait_inactive: 60
  delegate_to: localhost
  run_once: true

- name: Replay the last two hours of one topic
  kafka_ops.remediation.consumer_offset:
    zk_hosts: zk1.example.com:2181
    zk_chroot: /kafka
    group: billing
    topics: [invoices]
    target: duration
    duration: PT2H
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
plan:
  description:
    - Every selected partition with its offset before and after (after equals before when unchanged).
    - C(before) is the node's text for a node that held no offset a consumer can start from.
  returned: success
  type: list
  elements: dict
  sample: [{"topic": "invoices", "partition": 3, "before": 120431, "after": 120446, "log_start_offset": 0,
            "log_end_offset": 130000, "records_skipped": 15}]
diff:
  description:
    - Changed partitions before and after, as C(topic/partition) to offset (null = no node).
    - For a group in both stores, a list of two such diffs, ZooKeeper's and Kafka's.
  returned: when diff mode is on
  type: raw
  sample: {"before": {"invoices/3": 120431}, "after": {"invoices/3": 120446}}
backup_file:
  description:
    - Backup of the previous offsets, null when nothing was written. ExportZkOffsets lines (C(.offsets)) for a
      ZooKeeper-stored group; kafka-consumer-groups' reset CSV (C(.csv), with a C(.csv.meta.json) sidecar beside
      it) for a Kafka-stored group. O(target=file) with this file restores the exact previous state.
  returned: always
  type: str
  sample: /home/ops/.ansible/kafka_ops_remediation/backups/billing-20261126T140501.123456Z.offsets
backup_time:
  description: When the backup was taken (ISO 8601 UTC), null without a backup.
  returned: always
  type: str
  sample: "2026-11-26T14:05:01.123Z"
backup_files:
  description: For a group in both stores, the ZooKeeper backup and the Kafka one (the CSV).
  returned: when O(storage) resolves to both stores
  type: list
  elements: str
  sample: [/home/ops/.ansible/kafka_ops_remediation/backups/billing-20261126T140501.123456Z.offsets,
           /home/ops/.ansible/kafka_ops_remediation/backups/billing-20261126T140501.123456Z.csv]
backup_content:
  description:
    - What the backup files hold, null when nothing was written, as C({group, files}), C(files) mapping each
      file's name to its text - the C(.offsets) file, the C(.csv) and its C(.csv.meta.json) sidecar, as there are.
    - Published by the playbooks in C(set_stats) as C(kafka_ops_backup_content), so that a later job restores
      from it (C(restore_offsets.yml -e backup_content=...)) where the backup file is not.
  returned: always
  type: dict
  sample:
    group: billing
    files:
      billing-20261126T140501.123456Z.offsets: "# kafka_ops.remediation ...\n/consumers/billing/offsets/invoices/3:120431\n"
disagreements:
  description: For a group in both stores, the partitions where they disagreed, with what each held.
  returned: when O(storage) resolves to both stores
  type: list
  elements: dict
  sample: [{"topic": "invoices", "partition": 3, "zookeeper": 120431, "kafka": 120440}]
zookeeper_plan:
  description: For a group in both stores, the plan as ZooKeeper sees it (its own offsets as C(before)).
  returned: when O(storage) resolves to both stores
  type: list
  elements: dict
kafka_plan:
  description: For a group in both stores, the plan as Kafka sees it (its own offsets as C(before)).
  returned: when O(storage) resolves to both stores
  type: list
  elements: dict
kafka_read_back:
  description: For a group in both stores, Kafka's part of the change read back, shaped like RV(read_back).
  returned: when the module wrote Kafka's part of a change to both stores
  type: dict
kafka_group_state:
  description: For a group in both stores, the state Kafka's group coordinator gives it (C(Empty) for a
    dual-commit consumer, which takes no part in Kafka's group management).
  returned: when O(storage) resolves to both stores
  type: str
  sample: Empty
storage:
  description: Where the changed offsets live, C(zookeeper), C(kafka) or C(both).
  returned: always
  type: str
  sample: kafka
group_state:
  description:
    - As found before any change. For a ZooKeeper-stored group C(active) (live members), C(inactive) or
      C(absent); for a Kafka-stored group Kafka's state (C(Empty), C(Stable), C(PreparingRebalance), ...).
  returned: always
  type: str
  sample: inactive
group_type:
  description: For a Kafka-stored group, C(classic) or C(consumer) (the new consumer protocol, KIP-848).
  returned: when O(storage) resolves to C(kafka)
  type: str
  sample: classic
members:
  description:
    - Live members found in the group. Consumer ids for a ZooKeeper-stored group; for a Kafka-stored group one
      dict per member with C(member_id), C(client_id), C(host), C(group_instance_id) and C(partitions).
  returned: always
  type: list
  elements: raw
  sample: []
transactions:
  description: ZooKeeper transactions committed (0 when nothing was written, and for Kafka-stored groups).
  returned: always
  type: int
  sample: 1
requests:
  description: OffsetCommit and OffsetDelete requests sent (0 when nothing was written).
  returned: when O(storage) resolves to C(kafka)
  type: int
  sample: 1
read_back:
  description:
    - Every changed node read back after writing (also after a failed write), counted by what it holds, with
      the first ten partitions of each kind (C(topic), C(partition), C(before), C(target), and C(holds), the
      node's text or null when it does not exist). Null when the read-back itself failed.
    - C(at_target) partitions hold the offset this run wrote, C(as_before) the offset they held before the run,
      C(overwritten) anything else (another writer).
  returned: when the module wrote offsets, on success and on failure
  type: dict
  contains:
    changed_partitions:
      description: Partitions the plan changes.
      type: int
    at_target:
      description: Partitions at their target.
      type: int
    as_before:
      description: Partitions at the offset they held before the run.
      type: int
    overwritten:
      description: Partitions holding neither.
      type: int
    at_target_sample:
      description: The first ten partitions at their target.
      type: list
      elements: dict
    as_before_sample:
      description: The first ten partitions at their previous offset.
      type: list
      elements: dict
    overwritten_sample:
      description: The first ten partitions holding something else.
      type: list
      elements: dict
  sample: {"changed_partitions": 10000, "at_target": 9999, "as_before": 0, "overwritten": 1,
           "at_target_sample": [{"topic": "invoices", "partition": 0, "before": 7, "target": 9, "holds": "9"}],
           "as_before_sample": [],
           "overwritten_sample": [{"topic": "invoices", "partition": 9999, "before": 7, "target": 9, "holds": "3"}]}
report_file:
  description:
    - When the module fails although ZooKeeper keeps a change of this run (another writer overwrote a node
      after the commit, an undo failed, or the read-back failed after a commit), a JSON file in O(backup_dir)
      with every changed partition (C(before), C(target), C(holds), C(state), log offsets), the read-back
      counts, the failure message and the backup file. The failure message names it.
  returned: on such a failure
  type: str
  sample: /home/ops/.ansible/kafka_ops_remediation/backups/billing-20261126T140501.123456Z.failed.json
"""

import datetime
import time

from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import (
    dual_offset_change, kafka_offset_change, kafka_offset_store, offset_plan, offset_storage, offset_store)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import kafka_groups
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.backup_content import read_backup_content
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.consumer_offsets import (
    OffsetDataError, backup_text, iso_utc, offsets_path, parents_of, read_offsets_file, write_backup,
    write_failure_report)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.module_runner import ModuleError, ModuleRunner

NEEDS_BROKERS = ("earliest", "latest", "datetime", "duration")


def check_group(runner: ModuleRunner, zk, group: str) -> list[str]:
    members = offset_store.group_members(zk, group)
    if members is None:
        raise ModuleError(f"group '{group}' does not exist (no /consumers/{group}): check the group name and zk_chroot")
    params = runner.params
    if members and params["force"]:
        runner.warn(f"force=true: changing offsets of group '{group}' although {len(members)} live consumer(s) "
                    f"({', '.join(members[:5])}) will overwrite them on their next commit")
    elif members and params["wait_inactive"] > 0 and runner.check_mode:
        runner.warn(f"group '{group}' has live consumers; the real run waits up to {params['wait_inactive']} s")
    elif members:
        left = (offset_store.wait_until_inactive(zk, group, params["wait_inactive"])
                if params["wait_inactive"] > 0 else members)
        if left:
            waited = f" after waiting {params['wait_inactive']} s" if params["wait_inactive"] > 0 else ""
            raise ModuleError(
                f"group '{group}' has {len(left)} live consumer(s){waited} ({', '.join(left[:5])}): stop them, "
                "pass wait_inactive=<seconds>, or force=true", group_state="active", members=left)
    return members


def explicit_targets(params) -> tuple[dict, dict, list[str]]:
    """Per-partition targets from partition_offsets or the file, the only-if guards, and parents a backup says
    were absent."""
    if params["target"] == "file":
        loaded = read_offsets_file(params["file"], params["group"])
        guards = offset_plan.partition_targets([], params["expected_offsets"] or [])[1]
        return loaded.targets, guards, loaded.absent_parents
    targets, guards = offset_plan.partition_targets(params["partition_offsets"] or [], params["expected_offsets"] or [])
    return targets, guards, []


def run(runner: ModuleRunner) -> dict:
    params = runner.params
    target = params["target"]
    if not params["log_offsets"] and (target in NEEDS_BROKERS or params["clamp"]):
        raise ModuleError(f"target={target}{' with clamp=true' if params['clamp'] else ''} needs log_offsets=true")
    storage, found = offset_storage.detect(runner, params["group"])
    if storage == "zookeeper":
        return change_zookeeper(runner)
    if params["force"] and not runner.check_mode:
        raise ModuleError("force=true applies to ZooKeeper-stored groups only: Kafka's coordinator refuses admin "
                          "commits while a group has members; stop them or pass wait_inactive=<seconds>")
    kafka = runner.kafka()
    view, committed = found if found is not None else kafka_offset_store.read_group(kafka, params["group"])
    if storage == "both":
        return dual_offset_change.change(runner, runner.zookeeper(), kafka, ",".join(runner.bootstrap_servers()),
                                         params, view, check_group)
    if target == "file":
        explicit, metadata = kafka_offset_change.file_targets(params["file"], params["group"])
        expected = offset_plan.partition_targets([], params["expected_offsets"] or [])[1]
    else:
        explicit, expected = offset_plan.partition_targets(params["partition_offsets"] or [],
                                                           params["expected_offsets"] or [])
        metadata = {}
    return kafka_offset_change.change(runner, kafka, ",".join(runner.bootstrap_servers()), params, view, committed,
                                      explicit, expected, metadata)


def change_zookeeper(runner: ModuleRunner) -> dict:
    params = runner.params
    group = params["group"]
    target = params["target"]
    zk = runner.zookeeper()
    members = check_group(runner, zk, group)
    explicit, expected, absent_parents = explicit_targets(params)
    keys = offset_store.select_partitions(zk, group, params["topics"], params["partitions"], explicit)
    current, previous = offset_store.read_current(zk, group, keys)

    log_ranges: dict = {}
    by_time = None
    if params["log_offsets"]:
        kafka = runner.kafka()
        starts = kafka.log_start_offsets(keys)
        ends = kafka.log_end_offsets(keys)
        log_ranges = {key: (starts[key], ends[key]) for key in keys if key in starts and key in ends}
        if target in ("datetime", "duration"):
            moment_ms = (offset_plan.parse_datetime_ms(params["datetime"]) if target == "datetime" else
                         int((time.time() - offset_plan.parse_duration_seconds(params["duration"])) * 1000))
            by_time = kafka.offsets_for_time(keys, moment_ms)

    wanted = offset_plan.resolve_targets(target, keys, current, log_ranges, offset=params["offset"],
                                         shift_by=params["shift_by"], explicit=explicit or None, by_time=by_time)
    plan = offset_plan.plan_offsets(wanted, current, log_ranges, expected, params["clamp"])

    candidates = sorted({parent for key in keys if current[key].version is None
                         for parent in parents_of(offsets_path(group, *key))} | set(absent_parents))
    existing = offset_store.existing_paths(zk, candidates)
    groups = offset_plan.write_operations(group, plan, current, existing, absent_parents)
    result = dict(changed=bool(groups), plan=plan, backup_file=None, backup_time=None, storage="zookeeper",
                  group_state=offset_store.group_state(members), members=members, transactions=0)
    if runner.diff_mode:
        result["diff"] = offset_plan.diff(group, plan)
    if not groups or runner.check_mode:
        return result

    now = datetime.datetime.now(datetime.timezone.utc)
    if params["backup"]:
        result["backup_time"] = iso_utc(int(now.timestamp() * 1000))
        before = {(entry["topic"], entry["partition"]): entry["before"] for entry in plan}
        created_parents = [path for path in candidates if path not in existing]
        text = backup_text(group, before, created_parents, zk.hosts, result["backup_time"])
        try:
            result["backup_file"] = write_backup(params["backup_dir"], group, text, now)
        except OSError as error:
            raise ModuleError(f"cannot write the backup in {params['backup_dir']} ({error.strerror or error}): "
                              "nothing was changed; fix backup_dir or pass backup=false")
    outcome = offset_store.write_and_read_back(zk, group, groups, previous, plan)
    result.update(changed=outcome.changed, transactions=outcome.transactions, read_back=outcome.read_back)
    if outcome.problem is None:
        return result
    raise failure(params, zk.hosts, result, outcome, now)


def failure(params, origin: str, result: dict, outcome: offset_store.WriteOutcome,
            now: datetime.datetime) -> ModuleError:
    """A short failure (no plan, no diff: thousands of partitions would make it unreadable); when ZooKeeper
    holds a change of this run, every partition with what it holds goes into a report file it names."""
    message = outcome.problem
    details = {name: result[name] for name in ("changed", "transactions", "read_back", "backup_file",
                                               "backup_time", "group_state", "members")}
    if outcome.changed:
        report = dict(group=params["group"], zookeeper=origin, failed_at=iso_utc(int(time.time() * 1000)),
                      message=message, backup_file=result["backup_file"], read_back=outcome.read_back,
                      partitions=outcome.rows)
        try:
            details["report_file"] = write_failure_report(params["backup_dir"], params["group"], report, now)
            message += f"; every partition with what it holds: {details['report_file']}"
        except OSError as error:
            message += f"; the report file could not be written in {params['backup_dir']} ({error.strerror or error})"
    if result["backup_file"]:
        message += f"; backup: {result['backup_file']}"
    return ModuleError(message, **details)


def guarded(runner: ModuleRunner) -> dict:
    try:
        result = run(runner)
    except kafka_offset_change.ChangeRefused as error:
        raise ModuleError(str(error), **error.details)
    except OffsetDataError as error:
        raise ModuleError(str(error))
    # What the backup files hold, for a later job on another controller (an AAP job's container is gone).
    backup_files = result.get("backup_files") or [result["backup_file"]] if result.get("backup_file") else []
    result["backup_content"] = read_backup_content(runner.params["group"], backup_files) if backup_files else None
    return result


def main() -> None:
    entry = dict(topic=dict(type="str", required=True), partition=dict(type="int", required=True),
                 offset=dict(type="int", required=True))
    argument_spec = dict(
        group=dict(type="str", required=True),
        topics=dict(type="list", elements="str"),
        partitions=dict(type="list", elements="int"),
        target=dict(type="str", required=True,
                    choices=["offset", "earliest", "latest", "current", "shift_by", "datetime", "duration", "file",
                             "skip"]),
        offset=dict(type="int"),
        shift_by=dict(type="int"),
        datetime=dict(type="str"),
        duration=dict(type="str"),
        file=dict(type="path"),
        # Checked by offset_plan.partition_targets: a decision engine's entries carry keys of their own.
        partition_offsets=dict(type="list", elements="dict"),
        expected_offsets=dict(type="list", elements="dict", options=entry),
        clamp=dict(type="bool", default=False),
        force=dict(type="bool", default=False),
        wait_inactive=dict(type="int", default=0),
        backup=dict(type="bool", default=True),
        backup_dir=dict(type="path", default="~/.ansible/kafka_ops_remediation/backups"),
        log_offsets=dict(type="bool", default=True),
        storage=dict(type="str", default="auto", choices=offset_storage.STORAGES),
        prefer_store=dict(type="str", choices=kafka_groups.PREFERENCES),
    )
    required_if = [
        ("target", "offset", ("offset", "partition_offsets"), True),
        ("target", "shift_by", ("shift_by",)),
        ("target", "datetime", ("datetime",)),
        ("target", "duration", ("duration",)),
        ("target", "file", ("file",)),
        ("target", "skip", ("partition_offsets",)),
    ]
    ModuleRunner(argument_spec, uses_kafka=True, zookeeper_required=False, required_if=required_if,
                 mutually_exclusive=[("offset", "partition_offsets")]).run(guarded)


if __name__ == "__main__":
    main()
