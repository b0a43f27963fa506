# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The waits around a consumer group, wherever its offsets live: no live member, a live member, or every
skipped partition's committed offset past its target. One stage on the collection's waiter.

A ZooKeeper-stored group's members are the children of /consumers/<g>/ids; a Kafka-stored group has none
while its coordinator calls it Empty (or Dead).

group_wait's module and its action plugin both call wait(); the action plugin adds the process check that
ends a start gate at once when the consumer process it waits on has exited.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import waiter
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.kafka_client import CoordinatorUnavailable
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import kafka_offset_store
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.consumer_offsets import (
    OffsetDataError, group_path, ids_path, offsets_path, parse_offset)

STATES = ["inactive", "active", "flowing"]
STORAGES = ["auto", "zookeeper", "kafka"]
SHOWN = 10
TopicPartition = tuple[str, int]


def group_wait_argument_spec() -> dict[str, Any]:
    """group_wait's own options; the connection options come from the ZooKeeper and Kafka layers."""
    return dict(
        group=dict(type="str", required=True),
        state=dict(type="str", choices=STATES, default="inactive"),
        targets=dict(type="list", elements="dict", options=dict(
            topic=dict(type="str", required=True),
            partition=dict(type="int", required=True),
            target_offset=dict(type="int", required=True),
        )),
        timeout=dict(type="float", default=120.0),
        poll_interval=dict(type="float", default=0.5),
        process_command=dict(type="str"),
        storage=dict(type="str", choices=STORAGES, default="auto"),
    )


class GroupWaitFailed(Exception):
    """The wait failed or its options are wrong: one sentence, plus the result keys of what was seen last."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


def past_target(committed: Optional[int], log_end: Optional[int], target_offset: int) -> bool:
    """The consumer has moved past the target: its committed offset is beyond it, or it has read everything
    there is and the log ends at or after the target (nothing newer than the target has been written yet)."""
    if committed is None:
        return False
    return committed > target_offset or (log_end is not None and committed >= log_end >= target_offset)


def log_end_needed(targets: list[dict[str, Any]], committed: dict[TopicPartition, Optional[int]]) -> list[TopicPartition]:
    """Partitions where only the log end can tell: committed exactly at the target (above it already passes,
    below it cannot pass whatever the log end is), so the brokers are asked only about those."""
    return [(t["topic"], t["partition"]) for t in targets
            if committed.get((t["topic"], t["partition"])) == t["target_offset"]]


def split_targets(targets: list[dict[str, Any]], committed: dict[TopicPartition, Optional[int]],
                  log_ends: dict[TopicPartition, Optional[int]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(flowing, waiting): each target as {topic, partition, target_offset, committed_offset}, in input order."""
    flowing, waiting = [], []
    for target in targets:
        key = (target["topic"], target["partition"])
        entry = dict(topic=key[0], partition=key[1], target_offset=target["target_offset"],
                     committed_offset=committed.get(key))
        past = past_target(entry["committed_offset"], log_ends.get(key), target["target_offset"])
        (flowing if past else waiting).append(entry)
    return flowing, waiting


def live_consumers(members: list[str]) -> str:
    """'1 live consumer' / '2 live consumers'."""
    return f"{len(members)} live consumer{'' if len(members) == 1 else 's'}"


def member_list(members: list[str]) -> str:
    """The member ids, the first ten of them when there are more."""
    return ", ".join(members[:SHOWN]) + (f", and {len(members) - SHOWN} more" if len(members) > SHOWN else "")


def waiting_phrase(waiting: list[dict[str, Any]]) -> str:
    """'orders/1 (committed 20, target 21), orders/2 (no committed offset, target 5)'."""

    def one(entry: dict[str, Any]) -> str:
        committed = ("no committed offset" if entry["committed_offset"] is None
                     else f"committed {entry['committed_offset']}")
        return f"{entry['topic']}/{entry['partition']} ({committed}, target {entry['target_offset']})"
    shown = ", ".join(one(entry) for entry in waiting[:SHOWN])
    return shown + (f", and {len(waiting) - SHOWN} more" if len(waiting) > SHOWN else "")


def process_exit_phrase(returncode: int, stdout: str, stderr: str) -> Optional[str]:
    """None while process_command exits 0 (the process runs), else how it answered, for the failure sentence.

    A status command says why on stdout; a command that could not run (126, 127) says it on stderr. The ssh
    connection's own "Shared connection to ... closed." on stderr is not the command's word.
    """
    if returncode == 0:
        return None

    def last_line(text: str) -> str:
        lines = [line.strip() for line in (text or "").splitlines()
                 if line.strip() and not line.startswith("Shared connection to ")]
        return lines[-1] if lines else ""
    cannot_run = returncode in (126, 127)
    said = (last_line(stderr) or last_line(stdout)) if cannot_run else (last_line(stdout) or last_line(stderr))
    said_part = f": {said}" if said else ""
    if cannot_run:
        return f"process_command could not run (exit {returncode}{said_part})"
    return f"process_command exited {returncode}{said_part}"


def check_options(params: dict[str, Any]) -> None:
    """Option combinations the argument spec cannot express; raises GroupWaitFailed naming the fix."""
    if params["poll_interval"] <= 0:
        raise GroupWaitFailed(f"poll_interval must be above 0, got {params['poll_interval']:g}")
    if params["timeout"] < 0:
        raise GroupWaitFailed(f"timeout must not be negative, got {params['timeout']:g}")
    if params["state"] == "flowing" and not params.get("targets"):
        raise GroupWaitFailed("state=flowing needs targets: the partitions and the offsets to move past")
    if params["state"] != "flowing" and params.get("targets"):
        raise GroupWaitFailed(f"targets apply to state=flowing only, not to state={params['state']}")
    if params["state"] == "inactive" and params.get("process_command"):
        raise GroupWaitFailed("process_command applies to state=active and state=flowing (a process that must "
                              "keep running), not to state=inactive")


class ZooKeeperGroup:
    """A legacy group's live consumer ids and committed offsets, as ZooKeeper holds them."""

    where = "ZooKeeper"

    def __init__(self, zk, group: str) -> None:
        self.zk = zk
        self.group = group

    def members(self) -> list[str]:
        return self.zk.list_children([ids_path(self.group)])[0] or []

    def committed(self, keys: list[TopicPartition]) -> dict[TopicPartition, Optional[int]]:
        paths = [offsets_path(self.group, topic, partition) for topic, partition in keys]
        return {key: None if found is None else parse_offset(found[0], path)
                for key, path, found in zip(keys, paths, self.zk.read_nodes(paths))}


class KafkaGroup:
    """A Kafka-stored group's members and committed offsets, as its coordinator holds them."""

    where = "Kafka's group coordinator"

    def __init__(self, kafka, group: str) -> None:
        self.kafka = kafka
        self.group = group

    def members(self) -> list[str]:
        view = kafka_offset_store.read_group(self.kafka, self.group)[0]
        if not view.active:
            return []
        if not view.members:
            # A new-protocol group DescribeGroups cannot list, or a classic group between two generations.
            return [f"members of a group in state {view.state}"]
        return [f"{m['member_id']} (client id {m['client_id'] or '?'} on {m['host'] or '?'})" for m in view.members]

    def committed(self, keys: list[TopicPartition]) -> dict[TopicPartition, Optional[int]]:
        held = self.kafka.committed_offsets({self.group: keys}).get(self.group) or {}
        return {key: held[key][0] if key in held else None for key in keys}


def group_reader(params: dict[str, Any], zookeeper: Callable[[], Any], kafka: Callable[[], Any]):
    """The group as its store shows it. storage=auto takes ZooKeeper when zk_hosts is set and the group has a
    /consumers/<g> node (a legacy consumer registered there at least once), Kafka otherwise."""
    storage = params.get("storage") or "auto"
    if storage == "auto":
        known = bool(params.get("zk_hosts")) and zookeeper().list_children([group_path(params["group"])])[0] is not None
        storage = "zookeeper" if known else "kafka"
    return ZooKeeperGroup(zookeeper(), params["group"]) if storage == "zookeeper" else KafkaGroup(kafka(), params["group"])


class GroupGates:
    """Reads one group's members (and committed offsets) per check; remembers the last read for the result."""

    def __init__(self, store, targets: list[dict[str, Any]],
                 log_end_offsets: Callable[[list[TopicPartition]], dict[TopicPartition, Optional[int]]],
                 process_exit: Optional[Callable[[], Optional[str]]] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.group = store.group
        self.targets = targets
        self.log_end_offsets = log_end_offsets
        self.process_exit = process_exit
        self.clock = clock
        self.began = clock()
        self.members: list[str] = []
        self.unanswered: Optional[str] = None
        self.flowing: list[dict[str, Any]] = []
        self.waiting: list[dict[str, Any]] = []

    def _read_members(self) -> Optional[list[str]]:
        """The members, or None when the group's coordinator cannot answer now (it moves or loads after a broker
        restart or a leader election): such a check passes no gate, and the wait goes on."""
        try:
            self.members = self.store.members()
        except CoordinatorUnavailable as error:
            self.unanswered = str(error)
            return None
        self.unanswered = None
        return self.members

    def _read_offsets(self) -> bool:
        try:
            committed = self.store.committed([(t["topic"], t["partition"]) for t in self.targets])
        except CoordinatorUnavailable as error:
            self.unanswered = str(error)
            return False
        asked = log_end_needed(self.targets, committed)
        log_ends = self.log_end_offsets(asked) if asked else {}
        self.flowing, self.waiting = split_targets(self.targets, committed, log_ends)
        return True

    def _waited(self) -> float:
        return self.clock() - self.began

    def stage(self, state: str, timeout: float) -> waiter.Stage:
        """The one stage that waits for state, with its failure and (given a process check) abandon sentence."""
        who = f"group '{self.group}'"
        if state == "inactive":
            return waiter.Stage(
                state, timeout, lambda: (self._read_members() == [], []),
                lambda _u: self._unanswered_failure(timeout) or (
                    f"{who} still has {live_consumers(self.members)} after {timeout:g} s "
                    f"({member_list(self.members)}): "
                    + ("stop it, or rerun when it has left" if len(self.members) == 1
                       else "stop them, or rerun when they have left")))
        abandon = self._abandon(state) if self.process_exit is not None else None
        if state == "active":
            return waiter.Stage(
                state, timeout, lambda: (bool(self._read_members()), []),
                lambda _u: self._unanswered_failure(timeout) or (
                    f"{who} has no live consumer after {timeout:g} s: check that its consumers started, "
                    f"that they reach {self.store.where}, and what their logs say"),
                abandon)
        return waiter.Stage(state, timeout, self._check_flowing, self._flowing_failure(timeout), abandon)

    def _check_flowing(self) -> tuple[bool, list[dict[str, Any]]]:
        if self._read_members() is None or not self._read_offsets():
            return False, self.waiting
        return not self.waiting, self.waiting

    def _unanswered_failure(self, timeout: float) -> Optional[str]:
        if self.unanswered is None:
            return None
        return (f"group '{self.group}' could not be read at the end of the {timeout:g} s wait: "
                f"{self.unanswered}")

    def _flowing_failure(self, timeout: float) -> Callable[[list[dict[str, Any]]], str]:
        def failure(waiting: list[dict[str, Any]]) -> str:
            unanswered = self._unanswered_failure(timeout)
            if unanswered:
                return unanswered
            members = (f"{live_consumers(self.members)} ({member_list(self.members)})" if self.members
                       else "no live consumer")
            return (f"{len(waiting)} partition(s) of group '{self.group}' not past their target after {timeout:g} s: "
                    f"{waiting_phrase(waiting)}; the group has {members}: look at the consumer logs for the error "
                    "it stops on")
        return failure

    def _abandon(self, state: str) -> Callable[[], Optional[str]]:
        before = ("before the group had a live consumer" if state == "active"
                  else "before every partition moved past its target")

        def abandon() -> Optional[str]:
            exited = self.process_exit()
            if exited is None:
                return None
            seen = "" if state == "active" else f"; partitions still waiting: {waiting_phrase(self.waiting)}"
            return (f"the consumer process of group '{self.group}' exited {self._waited():.1f} s into the wait, "
                    f"{before} ({exited}){seen}: look at its log, fix the cause and rerun")
        return abandon


def wait(store, params: dict[str, Any],
         log_end_offsets: Callable[[list[TopicPartition]], dict[TopicPartition, Optional[int]]],
         process_exit: Optional[Callable[[], Optional[str]]] = None,
         clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Wait for params['state'] of the group store reads (group_reader); returns the result keys, or raises
    GroupWaitFailed with the same keys.

    process_exit(), when given, is asked after each check that did not pass: None while the awaited process
    runs, otherwise a phrase describing its exit, which ends the wait at once.
    """
    check_options(params)
    gates = GroupGates(store, params.get("targets") or [], log_end_offsets, process_exit, clock)
    stage = gates.stage(params["state"], params["timeout"])

    def outcome() -> dict[str, Any]:
        result: dict[str, Any] = dict(changed=False, members=gates.members, elapsed=round(clock() - gates.began, 2))
        if params["state"] == "flowing":
            result.update(flowing=gates.flowing, waiting=gates.waiting)
        return result

    try:
        waiter.run_stages([stage], params["poll_interval"], clock=clock, sleep=sleep)
    except waiter.WaitFailed as failed:
        raise GroupWaitFailed(str(failed), **outcome())
    except OffsetDataError as error:
        raise GroupWaitFailed(str(error), **outcome())
    return outcome()
