# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure planner of consumer_offset: targets, range check, only-if guard, and the ZooKeeper transactions."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.consumer_offsets import (
    OffsetDataError, TopicPartition, encode_offset, offsets_path, parents_of)

# One multi must stay well below ZooKeeper's jute.maxbuffer (1 MiB by default), which also bounds the proposal
# followers receive; half of it leaves room for that framing and for clusters that lowered the limit a little.
MAX_MULTI_BYTES = 512 * 1024
_MULTI_HEADER = 9            # type int, done bool, err int
_OPEN_ACL = 4 + 4 + 27       # count, one (perms, "world", "anyone") entry, flags
_TIME_TARGETS = ("datetime", "duration")


@dataclass
class Stored:
    """One partition's offset node as read: offset/version None when the node does not exist; unreadable is the
    text of a node that holds no offset a consumer can start from (offset None then)."""

    offset: Optional[int]
    version: Optional[int]
    unreadable: Optional[str] = None


def name(key: TopicPartition) -> str:
    return f"{key[0]}/{key[1]}"


def _join(errors: list[str]) -> str:
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(errors[:3]) + more


def _integer(value: Any) -> Optional[int]:
    """An int given as an int or as decimal text (as Ansible's int options take it); None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def partition_targets(entries: list[Any], expected_offsets: list[dict[str, Any]]
                      ) -> tuple[dict[TopicPartition, int], dict[TopicPartition, Optional[int]]]:
    """Targets and only-if guards from partition_offsets and expected_offsets; one line with every problem.

    An entry is {topic, partition, offset} or, as a decision engine writes it, {topic, partition, target_offset,
    committed_offset, ...}: target_offset is the target (offset too when both are given and agree),
    committed_offset the offset the consumer was seen stuck at, a guard like expected_offsets (null: the
    partition had no offset node). Every other key is ignored. A guard given twice must agree.
    """
    targets: dict[TopicPartition, int] = {}
    guards: dict[TopicPartition, Optional[int]] = {}
    errors: list[str] = []
    for index, entry in enumerate(entries):
        where = f"partition_offsets[{index}]"
        if not isinstance(entry, dict):
            errors.append(f"{where} is not a dict with topic, partition and target_offset (or offset)")
            continue
        topic, partition = entry.get("topic"), _integer(entry.get("partition"))
        if not isinstance(topic, str) or not topic or partition is None or partition < 0:
            errors.append(f"{where} needs a topic name and a partition number, got topic={topic!r} "
                          f"partition={entry.get('partition')!r}")
            continue
        key = (topic, partition)
        where = f"{where} ({name(key)})"
        given = {field: entry[field] for field in ("target_offset", "offset") if entry.get(field) is not None}
        numbers = {field: _integer(value) for field, value in given.items()}
        bad = [f"{field} {given[field]!r}" for field, number in numbers.items() if number is None]
        if bad:
            errors.append(f"{where}: {', '.join(bad)} is not an integer")
        elif not numbers:
            errors.append(f"{where} has no target: give target_offset (or offset)")
        elif len(set(numbers.values())) > 1:
            errors.append(f"{where} gives target_offset {numbers['target_offset']} and offset {numbers['offset']}: "
                          "give one target")
        elif key in targets:
            errors.append(f"{where} names {name(key)} a second time")
        else:
            targets[key] = next(iter(numbers.values()))
        if "committed_offset" in entry:
            committed = entry["committed_offset"]
            if committed is not None and _integer(committed) is None:
                errors.append(f"{where}: committed_offset {committed!r} is not an integer")
            else:
                guards[key] = None if committed is None else _integer(committed)
    for item in expected_offsets:
        key = (item["topic"], item["partition"])
        if key in guards and guards[key] != item["offset"]:
            errors.append(f"{name(key)}: expected_offsets says {item['offset']} but its partition_offsets entry "
                          f"says committed_offset {guards[key]}: give one guard")
        guards[key] = item["offset"]
    if errors:
        raise OffsetDataError(_join(errors) + "; nothing was changed")
    return targets, guards


def choose_partitions(group: str, topics_wanted: Optional[list[str]], partitions: Optional[list[int]],
                      explicit: dict[TopicPartition, Optional[int]], group_topics: Callable[[], list[str]],
                      known_partitions: Callable[[list[str]], dict[str, list[int]]], where: str) -> list[TopicPartition]:
    """The partitions a change works on: the explicit ones (narrowed by topics and partitions) or every partition
    of the topics (default: those the group has offsets for); each must exist in the cluster. group_topics and
    known_partitions ask the store and the cluster; where names the cluster's view in an error."""
    if explicit:
        topic_filter, partition_filter = set(topics_wanted or []), set(partitions or [])
        keys = sorted(key for key in explicit if (not topic_filter or key[0] in topic_filter)
                      and (not partition_filter or key[1] in partition_filter))
        topics = sorted({key[0] for key in keys})
    else:
        topics = topics_wanted or group_topics()
        if not topics:
            raise OffsetDataError(f"group '{group}' has no offsets yet: name the topics")
        keys = []
    known = {topic: set(found) for topic, found in known_partitions(sorted(set(topics))).items()}
    if not explicit:
        wanted = set(partitions or [])
        keys = [(topic, p) for topic in sorted(known) for p in sorted(known[topic]) if not wanted or p in wanted]
        missing = sorted(wanted - {key[1] for key in keys})
        if missing:
            raise OffsetDataError(f"partition(s) {missing} do not exist in topic(s) {', '.join(sorted(known))}")
    unknown = [f"{topic}/{partition}" for topic, partition in keys if partition not in known.get(topic, ())]
    if unknown:
        raise OffsetDataError(f"unknown partition(s) {', '.join(unknown[:5])}: {where}")
    if not keys:
        raise OffsetDataError("no partition selected: check topics and partitions")
    return keys


def resolve_targets(target: str, selected: list[TopicPartition], current: dict[TopicPartition, Stored],
                    log_ranges: dict[TopicPartition, tuple[int, int]], *, offset: Optional[int] = None,
                    shift_by: Optional[int] = None, explicit: Optional[dict[TopicPartition, Optional[int]]] = None,
                    by_time: Optional[dict[TopicPartition, Optional[int]]] = None) -> dict[TopicPartition, Optional[int]]:
    """The wanted offset of every selected partition (None only from a backup: delete the node)."""
    wanted: dict[TopicPartition, Optional[int]] = {}
    errors: list[str] = []
    for key in selected:
        stored = current[key].offset
        if explicit is not None and key in explicit:
            wanted[key] = explicit[key]
        elif target == "offset":
            wanted[key] = offset
        elif target in ("earliest", "latest"):
            if key not in log_ranges:
                errors.append(f"no log offsets for {name(key)}")
                continue
            wanted[key] = log_ranges[key][0 if target == "earliest" else 1]
        elif target in ("current", "shift_by"):
            if current[key].unreadable is not None:
                errors.append(f"{name(key)} holds {current[key].unreadable!r}, not an offset to start from: "
                              "give it an explicit target (partition_offsets)")
                continue
            if stored is None:
                errors.append(f"{name(key)} has no committed offset to start from")
                continue
            wanted[key] = stored + (shift_by or 0) if target == "shift_by" else stored
        elif target in _TIME_TARGETS:
            found = (by_time or {}).get(key)
            # Like Kafka's tools: no record at or after the time means the log end.
            wanted[key] = found if found is not None else log_ranges.get(key, (None, None))[1]
            if wanted[key] is None:
                errors.append(f"no log offsets for {name(key)}")
        else:
            errors.append(f"{name(key)} has no target in this run")
    if errors:
        raise OffsetDataError(_join(errors))
    return wanted


def plan_offsets(wanted: dict[TopicPartition, Optional[int]], current: dict[TopicPartition, Stored],
                 log_ranges: dict[TopicPartition, tuple[int, int]], expected: dict[TopicPartition, Optional[int]],
                 clamp: bool) -> list[dict[str, Any]]:
    """Per-partition plan with the range check and the only-if guard; raises with every problem in one line.

    The guard is a compare-and-set: a partition listed in expected must hold its expected offset, or already
    hold the offset this call writes (after clamping), so a rerun after a successful change has nothing to
    write there instead of refusing.
    """
    range_errors: list[str] = []
    plan = []
    for key in sorted(wanted):
        after = wanted[key]
        start, end = log_ranges.get(key, (None, None))
        if after is not None:
            if after < 0:
                range_errors.append(f"target offset {after} for {name(key)} is negative")
            elif start is not None and after < start:
                if clamp:
                    after = start
                else:
                    range_errors.append(f"target {after} for {name(key)} is below the log start offset {start}")
            elif end is not None and after > end:
                if clamp:
                    after = end
                else:
                    range_errors.append(f"target {after} for {name(key)} is above the log end offset {end}")
        # An unreadable node's text stands for its offset: diff, backup and read-back show what it held.
        before = current[key].offset if current[key].unreadable is None else current[key].unreadable
        skipped = max(0, after - before) if isinstance(after, int) and isinstance(before, int) else None
        plan.append(dict(topic=key[0], partition=key[1], before=before, after=after, log_start_offset=start,
                         log_end_offset=end, records_skipped=skipped))
    targets = {(entry["topic"], entry["partition"]): entry["after"] for entry in plan}
    errors: list[str] = []
    for key, offset in sorted(expected.items()):
        if key not in targets:
            errors.append(f"expected_offsets names {name(key)}, which this run does not change")
        elif current[key].unreadable is not None or current[key].offset not in (offset, targets[key]):
            seen = (f"holds {current[key].unreadable!r}" if current[key].unreadable is not None else
                    "has no offset node" if current[key].offset is None else f"is at {current[key].offset}")
            wanted = "no offset node" if offset is None else offset
            target = "no offset node" if targets[key] is None else targets[key]
            errors.append(f"{name(key)} {seen}, not at the expected {wanted} nor at the target {target}: "
                          "the consumer moved since it was seen")
    errors += range_errors
    if errors:
        raise OffsetDataError(_join(errors) + (" (pass clamp=true to clamp into the log)" if any(
            "log start" in e or "log end" in e for e in range_errors) else "") + "; nothing was changed")
    return plan


def operation_bytes(operation: tuple, chroot: str) -> int:
    """Bytes one operation adds to a multi request (path with chroot, data, version or ACL and flags)."""
    kind, path = operation[0], chroot + operation[1]
    size = _MULTI_HEADER + 4 + len(path.encode("utf-8"))
    if kind == "set":
        return size + 4 + len(operation[2]) + 4
    if kind == "create":
        return size + 4 + len(operation[2]) + _OPEN_ACL
    return size + 4  # delete or check: version


def write_operations(group: str, plan: list[dict[str, Any]], current: dict[TopicPartition, Stored],
                     existing_paths: set[str], absent_parents: list[str]) -> list[list[tuple]]:
    """Operations per changed partition, kept together: ('set', path, data, version), ('create', path, data),
    ('delete', path, version). Missing parents are created before their first child; parents a backup says did
    not exist are deleted after their children (as the last group)."""
    groups: list[list[tuple]] = []
    created: set[str] = set()
    for entry in plan:
        key = (entry["topic"], entry["partition"])
        if entry["after"] == entry["before"]:
            continue
        path = offsets_path(group, *key)
        stored = current[key]
        if entry["after"] is None:
            groups.append([("delete", path, stored.version)])
        elif stored.version is not None:
            groups.append([("set", path, encode_offset(entry["after"]), stored.version)])
        else:
            operations = []
            for parent in parents_of(path):
                if parent not in existing_paths and parent not in created:
                    operations.append(("create", parent, b""))
                    created.add(parent)
            operations.append(("create", path, encode_offset(entry["after"])))
            groups.append(operations)
    removable = [("delete", parent, -1) for parent in sorted(absent_parents, key=len, reverse=True)
                 if parent in existing_paths]
    if removable and groups:
        groups.append(removable)
    return groups


def split_transactions(groups: list[list[tuple]], chroot: str, limit: Optional[int] = None) -> list[list[tuple]]:
    """As few multis as fit under limit bytes each, in order, never splitting a partition's operations."""
    limit = limit or MAX_MULTI_BYTES
    parts: list[list[tuple]] = []
    current: list[tuple] = []
    used = 0
    for operations in groups:
        size = sum(operation_bytes(op, chroot) for op in operations)
        if current and used + size > limit:
            parts.append(current)
            current, used = [], 0
        current.extend(operations)
        used += size
    if current:
        parts.append(current)
    return parts


def undo_operations(part: list[tuple], results: list[Any], previous: dict[str, bytes]) -> list[tuple]:
    """Operations that undo a committed part, newest first: reset values at their new versions, delete what was
    created, recreate what was deleted (previous maps path -> the data it held)."""
    undo = []
    for operation, result in reversed(list(zip(part, results))):
        kind, path = operation[0], operation[1]
        if kind == "set":
            undo.append(("set", path, previous[path], result.version))
        elif kind == "create":
            undo.append(("delete", path, 0))
        elif kind == "delete":
            undo.append(("create", path, previous.get(path, b"")))
    return undo


def diff(group: str, plan: list[dict[str, Any]], header: Optional[str] = None) -> dict[str, Any]:
    changed = [entry for entry in plan if entry["before"] != entry["after"]]
    header = header or offsets_path(group)
    return dict(
        before_header=header, after_header=header,
        before={name((e["topic"], e["partition"])): e["before"] for e in changed},
        after={name((e["topic"], e["partition"])): e["after"] for e in changed},
    )


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration_seconds(text: str) -> float:
    """'PT1H', 'P1DT30M', 'PT90S' (ISO 8601) or '90m', '1h', '2d', '45s', '1w' -> seconds."""
    value = text.strip()
    short = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw])", value, re.IGNORECASE)
    if short:
        return float(short.group(1)) * _DURATION_UNITS[short.group(2).lower()]
    iso = re.fullmatch(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", value.upper())
    if iso and value.upper() not in ("P", "PT") and not value.upper().endswith("T"):
        weeks, days, hours, minutes, seconds = (float(part or 0) for part in iso.groups())
        return (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds
    raise OffsetDataError(f"duration '{text}' is not ISO 8601 (PT1H, P1DT2H) nor like 90m, 1h, 2d")


def parse_datetime_ms(text: str) -> int:
    """ISO 8601 with a time zone ('2026-11-26T10:00:00Z', '...+01:00') -> epoch milliseconds."""
    try:
        moment = datetime.datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise OffsetDataError(f"datetime '{text}' is not ISO 8601, for example 2026-11-26T10:00:00Z")
    if moment.tzinfo is None:
        raise OffsetDataError(f"datetime '{text}' has no time zone: add Z for UTC or an offset like +01:00")
    return int(moment.timestamp() * 1000)
