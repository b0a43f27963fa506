# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reads a legacy consumer group from ZooKeeper and applies a planned offset change all-or-nothing."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.consumer_offsets import (
    OffsetDataError, TopicPartition, group_path, ids_path, offset_problem, offsets_path, parse_offset, unreadable_text)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import offset_outcome
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.offset_plan import (
    Stored, choose_partitions, split_transactions, undo_operations)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.zookeeper import describe_zookeeper_exception


class TransactionFailed(Exception):
    """A multi that ZooKeeper refused; nothing of it was applied."""


def group_members(zk, group: str) -> Optional[list[str]]:
    """Live consumer ids of the group (children of /consumers/<g>/ids); None when the group does not exist."""
    group_children, members = zk.list_children([group_path(group), ids_path(group)])
    if group_children is None:
        return None
    return members or []


def group_state(members: Optional[list[str]]) -> str:
    if members is None:
        return "absent"
    return "active" if members else "inactive"


def wait_until_inactive(zk, group: str, seconds: float, poll: float = 0.5,
                        clock: Callable[[], float] = time.monotonic,
                        sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """Poll the group's members until none are left or seconds have passed; returns those still there."""
    deadline = clock() + seconds
    members = group_members(zk, group) or []
    while members and clock() < deadline:
        sleep(min(poll, max(0.0, deadline - clock())))
        members = group_members(zk, group) or []
    return members


def topic_partitions(zk, topics: list[str]) -> dict[str, list[int]]:
    """Partitions Kafka has for each topic, from /brokers/topics/<t>; an unknown topic is an error."""
    found = zk.read_nodes([f"/brokers/topics/{topic}" for topic in topics])
    result: dict[str, list[int]] = {}
    missing = []
    for topic, node in zip(topics, found):
        if node is None:
            missing.append(topic)
            continue
        try:
            assignment = json.loads(node[0].decode("utf-8")).get("partitions") or {}
        except (UnicodeDecodeError, ValueError, AttributeError):
            raise OffsetDataError(f"/brokers/topics/{topic} does not hold Kafka's JSON assignment")
        result[topic] = sorted(int(partition) for partition in assignment)
    if missing:
        raise OffsetDataError(f"unknown topic(s) {', '.join(sorted(missing))}: not under /brokers/topics; "
                              "check the names and zk_chroot")
    return result


def select_partitions(zk, group: str, topics_wanted: Optional[list[str]], partitions: Optional[list[int]],
                      explicit: dict[TopicPartition, Optional[int]]) -> list[TopicPartition]:
    """The partitions a change works on (offset_plan.choose_partitions), from ZooKeeper's view of the group."""
    return choose_partitions(
        group, topics_wanted, partitions, explicit,
        lambda: zk.list_children([offsets_path(group)])[0] or [], lambda topics: topic_partitions(zk, topics),
        "not in /brokers/topics assignment")


def read_current(zk, group: str, keys: list[TopicPartition]) -> tuple[dict[TopicPartition, Stored], dict[str, bytes]]:
    """Stored offset and version of every partition's node (None/None when absent; the text when it holds no
    offset a consumer can start from) and the raw data by path."""
    paths = [offsets_path(group, topic, partition) for topic, partition in keys]
    current: dict[TopicPartition, Stored] = {}
    raw: dict[str, bytes] = {}
    for key, path, node in zip(keys, paths, zk.read_nodes(paths)):
        if node is None:
            current[key] = Stored(None, None)
            continue
        if offset_problem(node[0]) is None:
            current[key] = Stored(parse_offset(node[0], path), node[1].version)
        else:
            current[key] = Stored(None, node[1].version, unreadable_text(node[0]))
        raw[path] = node[0]
    return current, raw


def existing_paths(zk, paths: list[str]) -> set[str]:
    return {path for path, node in zip(paths, zk.read_nodes(paths)) if node is not None}


def _commit_part(zk, part: list[tuple]) -> list[Any]:
    """Commit one multi; raise TransactionFailed naming the first operation ZooKeeper refused."""
    try:
        results = zk.commit(part)
    except Exception as error:  # pylint: disable=broad-except
        if type(error).__name__ in ("ConnectionLoss", "SessionExpiredError", "ZooKeeperError"):
            # The multi may have been applied before the answer was lost: read back before deciding.
            return _settle_unanswered(zk, part, error)
        raise TransactionFailed(f"ZooKeeper refused the change: {type(error).__name__}")
    for operation, result in zip(part, results):
        if isinstance(result, Exception) and type(result).__name__ != "RolledBackError":
            raise TransactionFailed(f"{operation[1]} {_explain(result)}")
    if len(results) != len(part):
        raise TransactionFailed(f"ZooKeeper answered {len(results)} results for {len(part)} operations")
    return results


def _settle_unanswered(zk, part: list[tuple], error: Exception) -> list[Any]:
    """Results of a multi whose answer was lost, judged from what ZooKeeper holds now (it is atomic, so either
    every operation shows or none does); TransactionFailed when none does."""
    found = zk.retry(zk.read_nodes, [operation[1] for operation in part])
    applied, results = [], []
    for operation, node in zip(part, found):
        kind = operation[0]
        if kind == "set":
            applied.append(node is not None and node[0] == operation[2] and node[1].version == operation[3] + 1)
            results.append(node[1] if node is not None else None)
        elif kind == "create":
            applied.append(node is not None and node[0] == operation[2])
            results.append(operation[1])
        else:
            applied.append(node is None)
            results.append(True)
    if all(applied):
        return results
    raise TransactionFailed(f"the answer to a transaction was lost ({type(error).__name__}) and it did not apply")


def _explain(error: Exception) -> str:
    reasons = {
        "BadVersionError": "was changed by someone else after it was read (version check failed)",
        "NodeExistsError": "was created by someone else after it was read",
        "NoNodeError": "was deleted by someone else after it was read",
        "NotEmptyError": "has children now, so it was not deleted",
        "NoAuthError": "is not writable with these credentials (NoAuth): check zk_auth / zk_sasl",
    }
    return reasons.get(type(error).__name__, f"failed: {type(error).__name__}")


class WriteFailed(OffsetDataError):
    """The change did not go through. committed_remaining: a committed transaction of it may still be in
    ZooKeeper (its undo failed, or the connection failed mid-way); transactions: how many were committed."""

    def __init__(self, message: str, committed_remaining: bool, transactions: int) -> None:
        super().__init__(message)
        self.committed_remaining = committed_remaining
        self.transactions = transactions


def apply_parts(zk, groups: list[list[tuple]], previous: dict[str, bytes]) -> int:
    """Commit the operation groups in as few version-checked multis as fit; if one fails, undo the parts
    already committed so the outcome stays all or nothing. Returns the number of multis used; raises
    WriteFailed."""
    parts = split_transactions(groups, zk.chroot)
    done: list[tuple[list[tuple], list[Any]]] = []
    for index, part in enumerate(parts):
        where = f" (transaction {index + 1} of {len(parts)})" if len(parts) > 1 else ""
        try:
            results = _commit_part(zk, part)
        except TransactionFailed as error:
            undo_failure = _undo(zk, done, previous)
            if undo_failure:
                raise WriteFailed(f"{error}{where}; undoing the {len(done)} committed transaction(s) failed too "
                                  f"({undo_failure}): restore from the backup file", True, len(done))
            suffix = f"; the {len(done)} committed transaction(s) were undone" if done else ""
            raise WriteFailed(f"{error}{where}: nothing was changed{suffix}; rerun to re-read the group",
                              False, len(done))
        except Exception as error:  # pylint: disable=broad-except
            # The connection failed beyond its retries while the answer was settled: the part may have applied.
            raise WriteFailed(f"ZooKeeper failed while writing{where}: {_describe(error)}", True, len(done))
        done.append((part, results))
    return len(parts)


def _describe(error: Exception) -> str:
    return describe_zookeeper_exception(error) or f"{type(error).__name__}{f': {error}' if str(error) else ''}"


def _undo(zk, done: list[tuple[list[tuple], list[Any]]], previous: dict[str, bytes]) -> Optional[str]:
    undo_groups = [[operation] for part, results in reversed(done)
                   for operation in undo_operations(part, results, previous)]
    try:
        for part in split_transactions(undo_groups, zk.chroot):
            _commit_part(zk, part)
    except TransactionFailed as error:
        return str(error)
    except Exception as error:  # pylint: disable=broad-except
        return _describe(error)
    return None


@dataclass
class WriteOutcome:
    """What a write left in ZooKeeper: the read-back judged per changed partition (offset_outcome), its summary
    (None when the read-back failed), whether the run changed anything, and the one line to fail with."""

    transactions: int
    rows: list[dict[str, Any]]
    read_back: Optional[dict[str, Any]]
    changed: bool
    problem: Optional[str]


def write_and_read_back(zk, group: str, groups: list[list[tuple]], previous: dict[str, bytes],
                        plan: list[dict[str, Any]]) -> WriteOutcome:
    """Apply the change, then read every changed node back whatever happened, so that `changed` says what
    ZooKeeper holds after the run, not what the run meant to do."""
    failure: Optional[WriteFailed] = None
    try:
        transactions = apply_parts(zk, groups, previous)
    except WriteFailed as error:
        failure, transactions = error, error.transactions
    committed_remaining = failure is None or failure.committed_remaining
    keys = [(entry["topic"], entry["partition"]) for entry in plan if entry["before"] != entry["after"]]
    try:
        found = zk.read_nodes([offsets_path(group, *key) for key in keys])
    except Exception as error:  # pylint: disable=broad-except
        unread = f"the offsets could not be read back ({_describe(error)})"
        problem = f"{failure}; {unread}" if failure else f"{transactions} transaction(s) committed, but {unread}"
        if committed_remaining:
            problem += ": they may have changed, check them with consumer_offset_info"
        return WriteOutcome(transactions, offset_outcome.judge_read_back(plan, None), None, committed_remaining,
                            problem)
    held = {key: None if node is None else node[0] for key, node in zip(keys, found)}
    rows = offset_outcome.judge_read_back(plan, held)
    problem = f"{failure}{offset_outcome.read_back_note(rows)}" if failure else offset_outcome.read_back_problem(rows)
    return WriteOutcome(transactions, rows, offset_outcome.summarise(rows),
                        offset_outcome.changed(rows, committed_remaining), problem)
