# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The three partition admin modules' bodies: read the partitions, decide (module_utils/cluster/reassignment.py),
skip the write in check mode, write once, and wait with the collection's one waiter until Kafka has done it.

``replicas`` is a connection.kafka_replicas.KafkaReplicas (unit tests pass a fake with the same calls).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import reassignment, waiter
from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster.reassignment import Key, name_of
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.kafka_client import KafkaClientError
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.module_runner import ModuleError


def read_infos(replicas, topics: Optional[list[str]], partitions: Optional[list[dict]], sizes: bool = True,
               configs: bool = True) -> list[dict[str, Any]]:
    """partition_info's answer; an unknown topic or partition fails in one line naming every one."""
    asked = sorted(set(topics or []) | {str(p["topic"]) for p in partitions or [] if p.get("topic") is not None})
    states = replicas.partition_states(asked)
    keys, unknown = reassignment.wanted_keys(topics, partitions, states)
    if unknown:
        raise ModuleError("; ".join(unknown))
    running = replicas.reassignments(keys)
    holders = {b for topic, partition in keys for b in states[topic][partition]["replicas"]}
    found_sizes = replicas.log_sizes(keys, holders) if sizes else None
    found_configs = replicas.topic_configs(sorted({key[0] for key in keys})) if configs else None
    return reassignment.partition_infos(keys, states, running, found_sizes, found_configs)


def _refused(what: str, refused: dict[Key, str]) -> str:
    return f"the controller refused {what} for " + "; ".join(
        f"partition {name_of(key)} ({error})" for key, error in sorted(refused.items()))


def reassign(replicas, partitions: list[dict], timeout: float, stall_timeout: float, poll_interval: float,
             check_mode: bool, clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep, throttle: int = 0) -> dict[str, Any]:
    """partition_reassignment: submit one reassignment for every partition off its target, then wait until
    each is complete. A stall cancels the stalled partitions' reassignment; a timeout leaves it running. With a
    throttle (bytes/s), the replication throttle is set before the submit and lifted when the wait ends, however
    it ends."""
    targets, problems = reassignment.read_targets(partitions)
    if throttle < 0:
        problems.append(f"throttle must be 0 (none) or a rate in bytes per second, got {throttle}")
    if problems:
        raise ModuleError("; ".join(problems))
    entries = [dict(topic=key[0], partition=key[1]) for key in targets]
    infos = read_infos(replicas, None, entries, sizes=False, configs=False)
    plan = reassignment.plan_reassignment(targets, infos)
    if plan["conflicts"]:
        raise ModuleError("; ".join(plan["conflicts"]))
    results = {key: dict(topic=key[0], partition=key[1], before=plan["before"][key], after=targets[key],
                         submitted=key in plan["submit"], waited=0.0) for key in sorted(targets)}
    summary: dict[str, Any] = dict(plan=dict(
        submit=[dict(topic=k[0], partition=k[1], replicas=r) for k, r in plan["submit"].items()],
        wait=[dict(topic=k[0], partition=k[1]) for k in plan["wait"]],
        done=[dict(topic=k[0], partition=k[1]) for k in plan["done"]]))
    moves = reassignment.throttle_moves(plan, targets)
    planned = reassignment.plan_throttle(throttle, moves, replicas.live_brokers()) if throttle and moves else None
    if planned:
        summary["throttle"] = planned
    changed = any(r["before"] != r["after"] for r in results.values())
    if check_mode:
        return dict(summary, changed=changed, partitions=list(results.values()),
                    msg=_reassign_summary(plan, planned, check_mode=True))
    if planned is None:
        return _submit_and_wait(replicas, plan, targets, results, timeout, stall_timeout, poll_interval, clock,
                                sleep, dict(summary, changed=changed))
    found = replicas.broker_configs(planned["brokers"],
                                    reassignment.RATE_CONFIGS + reassignment.QUOTA_WINDOW_CONFIGS)
    changes = reassignment.throttle_changes(
        planned, moves, plan["wait"], reassignment.broker_overrides(found),
        replicas.topic_overrides(sorted(planned["topics"]), reassignment.THROTTLED_REPLICAS))
    throttled_stall = reassignment.throttled_stall_timeout(stall_timeout, throttle,
                                                           reassignment.quota_window(found))
    failure: Optional[Exception] = None
    try:
        refused = replicas.alter_configs(changes["write"]["brokers"], changes["write"]["topics"])
        if refused:
            raise ModuleError("the replication throttle was refused, nothing was submitted: " + "; ".join(
                f"{resource}: {error}" for resource, error in sorted(refused.items())),
                partitions=list(results.values()))
        return _submit_and_wait(replicas, plan, targets, results, timeout, throttled_stall, poll_interval, clock,
                                sleep, dict(summary, changed=changed))
    except Exception as error:
        # Kept for the lift below, which must not hide it; the error itself goes on as it is.
        failure = error
        if isinstance(error, ModuleError):
            error.details.setdefault("throttle", planned)
        raise
    finally:
        _lift_throttle(replicas, planned, changes["undo"], failure, results)


def _lift_throttle(replicas, throttle: dict[str, Any], undo: dict[str, Any], failure: Optional[Exception],
                   results: dict) -> None:
    """Undo what setting the throttle did; a throttle that stays is a failure naming it, after failure's own
    message when the move had failed already."""
    refused: dict[str, str] = {}
    down: list[int] = []
    unread = None
    try:
        live = replicas.live_brokers()
        brokers_now = reassignment.broker_overrides(
            replicas.broker_configs(sorted(set(undo["brokers"]) & live), reassignment.RATE_CONFIGS))
        topics_now = replicas.topic_overrides(sorted(undo["topics"]), reassignment.THROTTLED_REPLICAS)
        lift = reassignment.throttle_lift(throttle["rate"], undo, live, brokers_now, topics_now)
        down = lift["down"]
        refused = replicas.alter_configs(lift["brokers"], lift["topics"])
    except KafkaClientError as error:
        unread = str(error)
    left = reassignment.throttle_left_message(down, refused, unread)
    if left is None:
        return
    if failure is None:
        raise ModuleError(left, partitions=list(results.values()), throttle=throttle)
    details = failure.details if isinstance(failure, ModuleError) else dict(throttle=throttle)
    raise ModuleError(f"{failure}; {left}", **details) from failure


def _submit_and_wait(replicas, plan: dict, targets: dict, results: dict, timeout: float, stall_timeout: float,
                     poll_interval: float, clock: Callable[[], float], sleep: Callable[[float], None],
                     summary: dict[str, Any]) -> dict[str, Any]:
    """Submit plan's reassignments and wait until every partition submitted or already moving is complete."""
    if plan["submit"]:
        refused = replicas.reassign(plan["submit"])
        if refused:
            raise ModuleError(_refused("the reassignment", refused), partitions=list(results.values()))
    pending = set(plan["submit"]) | set(plan["wait"])
    began = clock()
    progress: dict = {}
    stalls: list[dict] = []

    def check() -> tuple[bool, list[dict]]:
        nonlocal progress, stalls
        watched = sorted(pending)
        infos_now = read_infos(replicas, None, [dict(topic=k[0], partition=k[1]) for k in watched],
                               sizes=False, configs=False)
        now = clock()
        for info in infos_now:
            key = reassignment.key_of(info)
            if reassignment.is_complete(targets[key], info):
                pending.discard(key)
                results[key]["waited"] = round(now - began, 2)
        if pending and stall_timeout > 0:
            copying = [i for i in infos_now if reassignment.key_of(i) in pending and i.get("reassignment")]
            adding = {b for i in copying for b in i["reassignment"]["adding"] if b not in i["isr"]}
            sizes = replicas.log_sizes([reassignment.key_of(i) for i in copying], adding) if adding else {}
            progress = reassignment.track_sizes(progress, now, copying, sizes)
            stalls = reassignment.stalled(progress, now, stall_timeout)
        return not pending, reassignment.unfinished(targets, [i for i in infos_now
                                                              if reassignment.key_of(i) in pending])

    def abandon() -> Optional[str]:
        return "stalled" if stalls else None

    stage = waiter.Stage(name="reassignment", timeout=timeout, check=check,
                         failure=lambda left: reassignment.timeout_message(left, timeout), abandon=abandon)
    try:
        if pending:
            waiter.run_stages([stage], poll_interval, clock=clock, sleep=sleep)
    except waiter.GateAbandoned:
        cancelled = {reassignment.key_of(s) for s in stalls}
        refused = replicas.reassign({key: None for key in sorted(cancelled)})
        others = ", ".join(name_of(key) for key in sorted(pending - cancelled))
        raise ModuleError(reassignment.stall_message(stalls, refused)
                          + (f"; still running, not cancelled: {others}" if others else ""),
                          partitions=list(results.values()), stalled=stalls)
    except waiter.GateTimeout as error:
        raise ModuleError(str(error), partitions=list(results.values()), unfinished=error.unready)
    return dict(summary, partitions=list(results.values()), msg=_reassign_summary(plan, summary.get("throttle")))


def _reassign_summary(plan: dict, throttle: Optional[dict], check_mode: bool = False) -> str:
    moved = ", ".join(name_of(k) for k in sorted(plan["submit"])) or "none"
    waited = ", ".join(name_of(k) for k in plan["wait"])
    rate = (f" to {throttle['rate']} bytes/s on brokers {', '.join(str(b) for b in throttle['brokers'])}"
            if throttle else "")
    if check_mode:
        return (f"would reassign {moved}" + (f"; would wait for {waited}" if waited else "")
                + f"; {len(plan['done'])} already at their target"
                + (f"; would throttle replication{rate}" if throttle else ""))
    return (f"reassigned {moved}" + (f"; waited for {waited}" if waited else "")
            + f"; {len(plan['done'])} already at their target; every partition is at its target and in sync"
            + (f"; replication throttled{rate} during the copy, lifted since" if throttle else ""))


def elect_preferred(replicas, partitions: list[dict], timeout: float, poll_interval: float, check_mode: bool,
                    clock: Callable[[], float] = time.monotonic,
                    sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """leader_election: a preferred election for the partitions not led by their first replica, then a wait
    until the first replica leads each."""
    entries = [dict(topic=str(p["topic"]), partition=int(p["partition"])) for p in partitions]
    infos = read_infos(replicas, None, entries, sizes=False, configs=False)
    plan = reassignment.plan_election(infos)
    if plan["refusals"]:
        raise ModuleError("; ".join(plan["refusals"]))
    results = {reassignment.key_of(i): dict(topic=i["topic"], partition=i["partition"], leader_before=i["leader"],
                                            leader_after=i["replicas"][0], preferred=i["replicas"][0])
               for i in infos}
    changed = bool(plan["elect"])
    named = ", ".join(name_of(k) for k in plan["elect"]) or "none"
    if check_mode or not plan["elect"]:
        verb = "would elect" if check_mode else "elected"
        return dict(changed=changed, partitions=list(results.values()),
                    msg=f"{verb} the preferred leader of {named}; {len(plan['done'])} already led by it")
    refused = replicas.elect_preferred(plan["elect"])
    if refused:
        raise ModuleError(_refused("the preferred leader election", refused), partitions=list(results.values()))
    pending = set(plan["elect"])

    def check() -> tuple[bool, list[dict]]:
        now = read_infos(replicas, None, [dict(topic=k[0], partition=k[1]) for k in sorted(pending)],
                         sizes=False, configs=False)
        for info in now:
            key = reassignment.key_of(info)
            results[key]["leader_after"] = info["leader"]
            if reassignment.led_by_preferred(info):
                pending.discard(key)
        return not pending, [dict(topic=i["topic"], partition=i["partition"], leader=i["leader"],
                                  preferred=i["replicas"][0]) for i in now if reassignment.key_of(i) in pending]

    def failure(left: list[dict]) -> str:
        return (f"the preferred replicas did not take the lead within {timeout:g} s: " + "; ".join(
            f"partition {p['topic']}-{p['partition']} led by {p['leader']}, not {p['preferred']}" for p in left)
            + ": check the brokers' controller.log, then rerun")

    stage = waiter.Stage(name="preferred leader", timeout=timeout, check=check, failure=failure)
    try:
        waiter.run_stages([stage], poll_interval, clock=clock, sleep=sleep)
    except waiter.WaitFailed as error:
        raise ModuleError(str(error), partitions=list(results.values()))
    return dict(changed=changed, partitions=list(results.values()),
                msg=f"elected the preferred leader of {named}; {len(plan['done'])} already led by it")
