# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""consumer_offset for a group whose offsets Kafka stores: refuse while it has members, plan with the same
planner as ZooKeeper-stored groups, back up in kafka-consumer-groups' CSV, commit once, read back."""

from __future__ import annotations

import datetime
import os
import time
from typing import Any, Callable, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import (
    kafka_groups, kafka_offset_store, offset_plan)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.consumer_offsets import (
    OffsetDataError, TopicPartition, file_stem, iso_utc, read_offsets_file, write_private_file)

SIDECAR_SUFFIX = ".meta.json"


class ChangeRefused(OffsetDataError):
    """A refusal with result keys (the group's state and members)."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


def check_group(kafka, group: str, view: kafka_groups.KafkaGroup, wait_inactive: float, check_mode: bool,
                warn: Callable[[str], None], force: bool = False,
                waiter=kafka_offset_store.wait_until_inactive) -> kafka_groups.KafkaGroup:
    """The group as it is when the change may go ahead: it exists and has no member (after waiting). Check mode
    plans despite members when asked to wait or forced, since it writes nothing."""
    if view.state == "absent":
        raise ChangeRefused(f"group '{group}' is not known to Kafka (no broker lists it and it has no committed "
                            "offsets): check the group name, or pass storage=zookeeper for a legacy group",
                            group_state="absent", members=[])
    if not view.active:
        return view
    if check_mode and (wait_inactive > 0 or force):
        then = f"waits up to {wait_inactive} s for it to become Empty" if wait_inactive > 0 else "refuses it"
        warn(f"group '{group}' is {view.state} with {kafka_groups.member_phrase(view)}; the real run {then}")
        return view
    if wait_inactive > 0:
        view = waiter(kafka, group, wait_inactive)
    if view.active:
        raise ChangeRefused(kafka_groups.refusal(view, wait_inactive), group_state=view.state, members=view.members)
    return view


def file_targets(path: str, group: str) -> tuple[dict[TopicPartition, Optional[int]], dict[TopicPartition, str]]:
    """Targets from a reset CSV or a backup: a backup's sidecar (beside it) adds the partitions that had no offset
    (their offsets are deleted) and the metadata each commit carried."""
    loaded = read_offsets_file(path, group)
    targets = dict(loaded.targets)
    metadata: dict[TopicPartition, str] = {}
    sidecar = path + SIDECAR_SUFFIX
    if os.path.exists(sidecar):
        try:
            with open(sidecar, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as error:
            raise OffsetDataError(f"cannot read the backup sidecar {sidecar}: {error}")
        absent, metadata = kafka_groups.parse_sidecar(text, group, sidecar)
        for key in absent:
            targets.setdefault(key, None)
    return targets, metadata


def write_backup(directory: str, group: str, before: dict[TopicPartition, Optional[int]],
                 metadata: dict[TopicPartition, str], origin: str, now: datetime.datetime) -> tuple[str, str]:
    """The CSV and its sidecar, each written atomically with mode 0600; returns (CSV path, time taken)."""
    taken = iso_utc(int(now.timestamp() * 1000))
    name = f"{file_stem(group, now)}.csv"
    write_private_file(directory, name + SIDECAR_SUFFIX,
                       kafka_groups.backup_sidecar(group, before, metadata, origin, taken))
    return write_private_file(directory, name, kafka_groups.backup_csv(before)), taken


def log_ranges(kafka, params: dict[str, Any], keys: list[TopicPartition]
               ) -> tuple[dict[TopicPartition, tuple[int, int]], Optional[dict[TopicPartition, Optional[int]]]]:
    """The partitions' log start and end (for the range check) and, for a time target, the offsets at that time."""
    if not params["log_offsets"]:
        return {}, None
    starts = kafka.log_start_offsets(keys)
    ends = kafka.log_end_offsets(keys)
    ranges = {key: (starts[key], ends[key]) for key in keys if key in starts and key in ends}
    if params["target"] not in ("datetime", "duration"):
        return ranges, None
    moment_ms = (offset_plan.parse_datetime_ms(params["datetime"]) if params["target"] == "datetime" else
                 int((time.time() - offset_plan.parse_duration_seconds(params["duration"])) * 1000))
    return ranges, kafka.offsets_for_time(keys, moment_ms)


def change(runner, kafka, origin: str, params: dict[str, Any], view: kafka_groups.KafkaGroup,
           committed: dict[TopicPartition, tuple[int, str, int]], explicit: dict, expected: dict,
           file_metadata: dict[TopicPartition, str]) -> dict[str, Any]:
    """Plan, back up, commit and read back; returns the module result or raises with one line."""
    group, target = params["group"], params["target"]
    view = check_group(kafka, group, view, params["wait_inactive"], runner.check_mode, runner.warn, params["force"])
    if view.state != "absent":
        # What the group holds now, after any wait: the guard compares with this read.
        committed = kafka.committed_offsets({group: None}).get(group) or {}
    keys = offset_plan.choose_partitions(
        group, params["topics"], params["partitions"], explicit, lambda: sorted({key[0] for key in committed}),
        lambda topics: kafka_offset_store.known_partitions(kafka, topics), "the brokers do not have them")
    current = kafka_groups.stored_from_kafka(committed, keys)
    ranges, by_time = log_ranges(kafka, params, keys)
    wanted = offset_plan.resolve_targets(target, keys, current, ranges, offset=params["offset"],
                                         shift_by=params["shift_by"], explicit=explicit or None, by_time=by_time)
    plan = offset_plan.plan_offsets(wanted, current, ranges, expected, params["clamp"])
    changes = [entry for entry in plan if entry["before"] != entry["after"]]
    result = dict(changed=bool(changes), plan=plan, backup_file=None, backup_time=None, storage="kafka",
                  group_state=view.state, group_type=view.group_type or None, members=view.members, requests=0,
                  transactions=0)
    if runner.diff_mode:
        result["diff"] = offset_plan.diff(group, plan, header=f"group {group} in Kafka (__consumer_offsets)")
    if not changes or runner.check_mode:
        return result
    # The metadata a commit carried is kept (as kafka-python's reset does); a restore writes the backup's back.
    metadata = {key: held[1] for key, held in committed.items()}
    metadata.update(file_metadata)
    now = datetime.datetime.now(datetime.timezone.utc)
    if params["backup"]:
        before = {(entry["topic"], entry["partition"]): entry["before"] for entry in plan}
        try:
            result["backup_file"], result["backup_time"] = write_backup(
                params["backup_dir"], group, before, {key: metadata[key] for key in before if metadata.get(key)},
                origin, now)
        except OSError as error:
            raise OffsetDataError(f"cannot write the backup in {params['backup_dir']} ({error.strerror or error}): "
                                  "nothing was changed; fix backup_dir or pass backup=false")
    outcome = kafka_offset_store.write_and_read_back(kafka, group, plan, metadata)
    result.update(changed=outcome.changed, requests=outcome.requests, read_back=outcome.read_back)
    if outcome.problem is None:
        return result
    message = outcome.problem + (f"; backup: {result['backup_file']}" if result["backup_file"] else "")
    raise ChangeRefused(message, **{name: result[name] for name in (
        "changed", "requests", "read_back", "backup_file", "backup_time", "group_state", "members")})
