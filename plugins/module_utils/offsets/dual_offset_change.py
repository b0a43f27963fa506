# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""consumer_offset for a group whose offsets live in ZooKeeper and in Kafka at once: an old consumer with
offsets.storage=kafka and dual.commit.enabled, which commits to both and starts from the larger.

Both stores are read; where they disagree the module refuses unless prefer_store says which wins. A change
writes both, ZooKeeper first (its transaction is version-checked), then Kafka; if Kafka refuses, ZooKeeper is
put back, so that the stores never end up half changed by this run. Both are backed up under one name (the
ExportZkOffsets file and kafka-consumer-groups' CSV beside it), and a restore from either file restores both.
"""

from __future__ import annotations

import datetime
import os
from typing import Any, Callable, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import (
    kafka_groups, kafka_offset_change, kafka_offset_store, offset_outcome, offset_plan, offset_store)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.consumer_offsets import (
    OffsetDataError, TopicPartition, backup_text, iso_utc, offsets_path, parents_of, read_offsets_file,
    write_backup)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.offset_plan import Stored

ZOOKEEPER_SUFFIX, KAFKA_SUFFIX = ".offsets", ".csv"


def sibling_files(path: str) -> tuple[Optional[str], Optional[str]]:
    """(ZooKeeper file, Kafka file) of a backup taken of both stores: the file given and its sibling with the
    other suffix, each None when it does not exist. A file of neither suffix stands for both."""
    if path.endswith(ZOOKEEPER_SUFFIX):
        zookeeper, kafka = path, path[:-len(ZOOKEEPER_SUFFIX)] + KAFKA_SUFFIX
    elif path.endswith(KAFKA_SUFFIX):
        zookeeper, kafka = path[:-len(KAFKA_SUFFIX)] + ZOOKEEPER_SUFFIX, path
    else:
        return path, path
    return (zookeeper if os.path.exists(zookeeper) else None), (kafka if os.path.exists(kafka) else None)


def store_plan(plan: list[dict[str, Any]], current: dict[TopicPartition, Stored]) -> list[dict[str, Any]]:
    """The combined plan as one store sees it: the same targets, that store's own offsets as before."""
    entries = []
    for entry in plan:
        stored = current[(entry["topic"], entry["partition"])]
        before = stored.offset if stored.unreadable is None else stored.unreadable
        skipped = (max(0, entry["after"] - before)
                   if isinstance(entry["after"], int) and isinstance(before, int) else None)
        entries.append(dict(entry, before=before, records_skipped=skipped))
    return entries


def reverted(plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The plan that puts a store back where this run found it."""
    return [dict(entry, before=entry["after"], after=entry["before"]) for entry in plan
            if entry["before"] != entry["after"]]


def change(runner, zk, kafka, origin: str, params: dict[str, Any], view: kafka_groups.KafkaGroup,
           check_zookeeper_group: Callable) -> dict[str, Any]:
    """Plan, back up, write ZooKeeper then Kafka (putting ZooKeeper back if Kafka refuses), read back."""
    group, target = params["group"], params["target"]
    members = check_zookeeper_group(runner, zk, group)
    view = kafka_offset_change.check_group(kafka, group, view, params["wait_inactive"], runner.check_mode,
                                           runner.warn, params["force"])
    committed = kafka.committed_offsets({group: None}).get(group) or {}
    separate = target == "file"
    zk_explicit: dict = {}
    kafka_explicit: dict = {}
    absent_parents: list[str] = []
    file_metadata: dict[TopicPartition, str] = {}
    if separate:
        zk_file, kafka_file = sibling_files(params["file"])
        if zk_file is not None:
            loaded = read_offsets_file(zk_file, group)
            zk_explicit, absent_parents = loaded.targets, loaded.absent_parents
        if kafka_file is not None:
            kafka_explicit, file_metadata = kafka_offset_change.file_targets(kafka_file, group)
        # A backup of one store, or a hand-written file, sets both stores alike.
        zk_explicit = zk_explicit or kafka_explicit
        kafka_explicit = kafka_explicit or zk_explicit
        expected = offset_plan.partition_targets([], params["expected_offsets"] or [])[1]
    else:
        zk_explicit, expected = offset_plan.partition_targets(params["partition_offsets"] or [],
                                                              params["expected_offsets"] or [])
        kafka_explicit = zk_explicit
    explicit = {**kafka_explicit, **zk_explicit}
    zookeeper_topics = zk.list_children([offsets_path(group)])[0] or []
    keys = offset_plan.choose_partitions(
        group, params["topics"], params["partitions"], explicit,
        lambda: sorted(set(zookeeper_topics) | {key[0] for key in committed}),
        lambda topics: offset_store.topic_partitions(zk, topics), "not in /brokers/topics assignment")
    zk_current, previous = offset_store.read_current(zk, group, keys)
    kafka_current = kafka_groups.stored_from_kafka(committed, keys)
    # A restore puts each store back to its own backup: their disagreement is what it restores.
    combined, disagree = kafka_groups.combine_stores(zk_current, kafka_current,
                                                     "zookeeper" if separate else params["prefer_store"])
    log_ranges, by_time = kafka_offset_change.log_ranges(kafka, params, keys)
    if separate:
        zk_plan = offset_plan.plan_offsets(
            offset_plan.resolve_targets(target, keys, zk_current, log_ranges, explicit=zk_explicit),
            zk_current, log_ranges, expected, params["clamp"])
        kafka_plan = offset_plan.plan_offsets(
            offset_plan.resolve_targets(target, keys, kafka_current, log_ranges, explicit=kafka_explicit),
            kafka_current, log_ranges, expected, params["clamp"])
        plan = zk_plan
    else:
        wanted = offset_plan.resolve_targets(target, keys, combined, log_ranges, offset=params["offset"],
                                             shift_by=params["shift_by"], explicit=explicit or None, by_time=by_time)
        plan = offset_plan.plan_offsets(wanted, combined, log_ranges, expected, params["clamp"])
        zk_plan, kafka_plan = store_plan(plan, zk_current), store_plan(plan, kafka_current)

    candidates = sorted({parent for key in keys if zk_current[key].version is None
                         for parent in parents_of(offsets_path(group, *key))} | set(absent_parents))
    existing = offset_store.existing_paths(zk, candidates)
    zk_groups = offset_plan.write_operations(group, zk_plan, zk_current, existing, absent_parents)
    kafka_changes = [entry for entry in kafka_plan if entry["before"] != entry["after"]]
    result = dict(changed=bool(zk_groups or kafka_changes), plan=plan, backup_file=None, backup_files=[],
                  backup_time=None, storage="both", disagreements=disagree,
                  zookeeper_plan=zk_plan, kafka_plan=kafka_plan, group_state=offset_store.group_state(members),
                  members=members, kafka_group_state=view.state, transactions=0, requests=0)
    if runner.diff_mode:
        before = offset_plan.diff(group, zk_plan)
        after = offset_plan.diff(group, kafka_plan, header=f"group {group} in Kafka (__consumer_offsets)")
        result["diff"] = [before, after]
    if not result["changed"] or runner.check_mode:
        return result

    now = datetime.datetime.now(datetime.timezone.utc)
    if params["backup"]:
        result["backup_time"] = iso_utc(int(now.timestamp() * 1000))
        try:
            zk_before = {(entry["topic"], entry["partition"]): entry["before"] for entry in zk_plan}
            created = [path for path in candidates if path not in existing]
            zk_file = write_backup(params["backup_dir"], group,
                                   backup_text(group, zk_before, created, zk.hosts, result["backup_time"]), now)
            kafka_before = {(entry["topic"], entry["partition"]): entry["before"] for entry in kafka_plan}
            kafka_file = kafka_offset_change.write_backup(
                params["backup_dir"], group, kafka_before,
                {key: held[1] for key, held in committed.items() if key in kafka_before and held[1]}, origin, now)[0]
        except OSError as error:
            raise OffsetDataError(f"cannot write the backup in {params['backup_dir']} ({error.strerror or error}): "
                                  "nothing was changed; fix backup_dir or pass backup=false")
        result.update(backup_file=zk_file, backup_files=[zk_file, kafka_file])

    outcome = offset_store.write_and_read_back(zk, group, zk_groups, previous, zk_plan)
    result.update(changed=outcome.changed, transactions=outcome.transactions, read_back=outcome.read_back)
    if outcome.problem is not None:
        raise kafka_offset_change.ChangeRefused(
            f"{outcome.problem}; Kafka was not changed" + _backup_note(result), **_details(result))
    metadata = {key: held[1] for key, held in committed.items()}
    metadata.update(file_metadata)
    kafka_outcome = kafka_offset_store.write_and_read_back(kafka, group, kafka_plan, metadata)
    result.update(changed=outcome.changed or kafka_outcome.changed, requests=kafka_outcome.requests,
                  kafka_read_back=kafka_outcome.read_back)
    if kafka_outcome.problem is None:
        return result
    message = f"Kafka: {kafka_outcome.problem}; " + _put_back(zk, group, zk_plan, result)
    raise kafka_offset_change.ChangeRefused(message + _backup_note(result), **_details(result))


def _put_back(zk, group: str, zk_plan: list[dict[str, Any]], result: dict[str, Any]) -> str:
    """Undo this run's ZooKeeper change after Kafka refused its part; says what ZooKeeper holds then."""
    back = reverted(zk_plan)
    if not back:
        return "ZooKeeper was not changed"
    keys = [(entry["topic"], entry["partition"]) for entry in back]
    now, previous = offset_store.read_current(zk, group, keys)
    existing = offset_store.existing_paths(zk, [offsets_path(group, *key) for key in keys])
    undo = offset_store.write_and_read_back(
        zk, group, offset_plan.write_operations(group, back, now, existing, []), previous, back)
    put_back = undo.problem is None and all(row["state"] == offset_outcome.AT_TARGET for row in undo.rows)
    result["changed"] = bool(result.get("kafka_read_back") and result["kafka_read_back"]["at_target"]) or not put_back
    if put_back:
        return "ZooKeeper's change was put back, so neither store changed"
    return f"ZooKeeper keeps the change and putting it back failed ({undo.problem}): restore from the backup"


def _backup_note(result: dict[str, Any]) -> str:
    return f"; backup: {result['backup_file']}" if result["backup_file"] else ""


def _details(result: dict[str, Any]) -> dict[str, Any]:
    return {name: result.get(name) for name in ("changed", "transactions", "requests", "read_back", "kafka_read_back",
                                                "backup_file", "backup_files", "backup_time", "group_state",
                                                "members")}
