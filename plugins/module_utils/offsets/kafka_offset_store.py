# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reads a Kafka-stored consumer group through the brokers and applies a planned offset change in one
OffsetCommit, reading it back after.

Kafka has no compare-and-set for offsets. What this does instead: the coordinator accepts an admin commit
only while the group has no member (checked atomically by the broker under the group's lock), the offsets
are read and compared with the expected ones just before the commit, every partition goes in one request
(stored as one batch, so all or nothing), and the offsets are read back after it. A committer that is not a
group member (a consumer using assign() with manual commits, another admin tool, a transaction's pending
offsets) can still write between the read and the commit; the read-back then shows it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import kafka_groups, offset_outcome
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.consumer_offsets import (
    OffsetDataError, TopicPartition)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.kafka_groups import KafkaGroup, group_view

# The broker's answer when a member joined between our look and the commit.
_GROUP_BECAME_ACTIVE = ("UnknownMemberIdError", "IllegalGenerationError", "RebalanceInProgressError",
                        "FencedInstanceIdError", "StaleMemberEpochError", "UnknownMemberIdException")


def read_groups(kafka, groups: Optional[list[str]]) -> tuple[list[KafkaGroup], dict[str, dict]]:
    """Every named group (default: every group the coordinators list) with its committed offsets."""
    listed = {entry["group_id"]: entry for entry in kafka.list_groups()}
    names = list(groups) if groups else sorted(listed)
    committed = kafka.committed_offsets({group: None for group in names}) if names else {}
    described = kafka.describe_groups(names) if names else {}
    views = [group_view(group, listed.get(group), described.get(group), bool(committed.get(group)))
             for group in names]
    return views, {group: committed.get(group) or {} for group in names}


def read_group(kafka, group: str) -> tuple[KafkaGroup, dict]:
    views, committed = read_groups(kafka, [group])
    return views[0], committed[group]


def wait_until_inactive(kafka, group: str, seconds: float, poll: float = 0.5,
                        clock: Callable[[], float] = time.monotonic,
                        sleep: Callable[[float], None] = time.sleep) -> KafkaGroup:
    """Poll the group until it has no member or seconds have passed; returns what was seen last."""
    deadline = clock() + seconds
    view = read_group(kafka, group)[0]
    while view.active and clock() < deadline:
        sleep(min(poll, max(0.0, deadline - clock())))
        view = read_group(kafka, group)[0]
    return view


def known_partitions(kafka, topics: list[str]) -> dict[str, list[int]]:
    """Partitions the brokers have for each topic; an unknown topic is an error."""
    found = kafka.topic_partitions(sorted(set(topics)))
    missing = sorted(topic for topic, partitions in found.items() if partitions is None)
    if missing:
        raise OffsetDataError(f"unknown topic(s) {', '.join(missing)}: the brokers do not know them; check the names")
    return {topic: partitions for topic, partitions in found.items() if partitions is not None}


@dataclass
class KafkaWriteOutcome:
    """What a write left in Kafka: the read-back judged per changed partition (offset_outcome), its summary (None
    when the read-back failed), whether the run changed anything, and the one line to fail with."""

    requests: int
    rows: list[dict[str, Any]]
    read_back: Optional[dict[str, Any]]
    changed: bool
    problem: Optional[str]


def _refused_line(what: str, refused: dict[TopicPartition, str]) -> str:
    shown = ", ".join(f"{t}/{p} {error}" for (t, p), error in sorted(refused.items())[:3])
    more = f" and {len(refused) - 3} more" if len(refused) > 3 else ""
    if any(error in _GROUP_BECAME_ACTIVE for error in refused.values()):
        return (f"the coordinator refused the {what} because a consumer joined the group meanwhile ({shown}{more}): "
                "stop the group's consumers, then rerun")
    return f"the coordinator refused the {what} ({shown}{more}): fix the cause, then rerun"


def write_and_read_back(kafka, group: str, plan: list[dict[str, Any]],
                        metadata: dict[TopicPartition, str]) -> KafkaWriteOutcome:
    """One OffsetCommit for every partition with a target, one OffsetDelete for those a backup says had no offset,
    then every changed partition read back whatever happened, so `changed` says what Kafka holds."""
    changes = [entry for entry in plan if entry["before"] != entry["after"]]
    commits = {(e["topic"], e["partition"]): (e["after"], metadata.get((e["topic"], e["partition"]), ""))
               for e in changes if e["after"] is not None}
    deletes = [(e["topic"], e["partition"]) for e in changes if e["after"] is None]
    failure: Optional[str] = None
    requests = 0
    try:
        if commits:
            requests += 1
            refused = kafka.commit_offsets(group, commits)
            if refused:
                failure = _refused_line("offset commit", refused)
        if deletes and failure is None:
            requests += 1
            refused = kafka.delete_offsets(group, deletes)
            if refused:
                failure = _refused_line("offset deletion", refused)
    except Exception as error:  # pylint: disable=broad-except
        # The request may have reached the coordinator before its answer was lost: the read-back decides.
        failure = f"the offset change failed ({error})"
    keys = [(entry["topic"], entry["partition"]) for entry in changes]
    try:
        held_now = kafka.committed_offsets({group: keys}).get(group) or {}
    except Exception as error:  # pylint: disable=broad-except
        unread = f"the offsets could not be read back ({error})"
        problem = (f"{failure}; {unread}" if failure else f"the offsets were committed, but {unread}") + \
            ": they may have changed, check them with consumer_offset_info"
        return KafkaWriteOutcome(requests, offset_outcome.judge_read_back(plan, None), None, True, problem)
    held = {key: (str(held_now[key][0]).encode() if key in held_now else None) for key in keys}
    rows = offset_outcome.judge_read_back(plan, held)
    changed = offset_outcome.changed(rows, False)
    if failure:
        problem = failure + offset_outcome.read_back_note(rows)
    else:
        problem = offset_outcome.read_back_problem(rows)
    return KafkaWriteOutcome(requests, rows, offset_outcome.summarise(rows), changed, problem)


def read_info(kafka, groups: Optional[list[str]], topics: Optional[list[str]], partitions: Optional[list[int]],
              log_offsets: Callable[[list[TopicPartition]], dict]) -> dict[str, Any]:
    """consumer_offset_info's groups and rows for Kafka-stored groups (named groups Kafka does not know are left
    out: the caller says absent once it has asked every store)."""
    views, committed = read_groups(kafka, groups)
    wanted = {}
    for view in views:
        wanted[view.group] = {key: held for key, held in committed[view.group].items()
                              if (not topics or key[0] in topics) and (not partitions or key[1] in partitions)}
    keys = sorted({key for held in wanted.values() for key in held})
    ranges = log_offsets(keys) if keys else {}
    result_groups, rows = [], []
    for view in views:
        if view.state == "absent":
            continue
        rows += kafka_groups.offset_rows(view, wanted[view.group], ranges)
        entry = view.as_result()
        entry.update(active=view.active, topics=sorted({key[0] for key in wanted[view.group]}))
        result_groups.append(entry)
    return dict(groups=result_groups, offsets=rows)
