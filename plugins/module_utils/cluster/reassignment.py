# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Decisions about partition replicas, pure and without I/O: what partition_info reports, which partitions a
reassignment must submit, wait for or refuse, when a reassignment is complete or has stalled, the replication
throttle it sets and lifts, and which partitions a preferred leader election must move.

A partition's state ("info") is the dict partition_info returns: topic, partition, replicas (Kafka's order,
the preferred leader first), isr, leader (None without one), reassignment (None, or {adding, removing} while
one runs), size_bytes and configs.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

Key = tuple[str, int]


def name_of(key: Key) -> str:
    return f"{key[0]}-{key[1]}"


def key_of(entry: dict) -> Key:
    return str(entry["topic"]), int(entry["partition"])


def _flag(value: Optional[str]) -> bool:
    return str(value).strip().lower() == "true"


def config_summary(raw: dict[str, Optional[str]]) -> dict[str, Any]:
    """The topic configs a repair decides on, typed, from Kafka's names and string values."""
    min_isr = raw.get("min.insync.replicas")
    return dict(min_insync_replicas=int(min_isr) if min_isr not in (None, "") else 1,
                unclean_leader_election=_flag(raw.get("unclean.leader.election.enable")),
                remote_storage=_flag(raw.get("remote.storage.enable")),
                cleanup_policy=str(raw.get("cleanup.policy") or "delete"))


def wanted_keys(topics: Optional[list[str]], partitions: Optional[list[dict]],
                states: dict[str, Optional[dict[int, dict]]]) -> tuple[list[Key], list[str]]:
    """The (topic, partition) keys asked for, sorted, and a sentence for each topic or partition the brokers do
    not know. ``topics`` asks for every partition of each topic; ``partitions`` for the listed ones."""
    keys: set[Key] = set()
    unknown: list[str] = []
    for topic in topics or []:
        known = states.get(topic)
        if known is None:
            unknown.append(f"topic {topic!r} does not exist: check its name (kafka-topics --list)")
        else:
            keys.update((topic, partition) for partition in known)
    for entry in partitions or []:
        try:
            key = key_of(entry)
        except (KeyError, TypeError, ValueError):
            unknown.append(f"partitions entry {entry!r} needs a topic and a partition number")
            continue
        known = states.get(key[0])
        if known is None:
            unknown.append(f"partition {name_of(key)}: topic {key[0]!r} does not exist: check its name "
                           "(kafka-topics --list)")
        elif key[1] not in known:
            unknown.append(f"partition {name_of(key)} does not exist: topic {key[0]!r} has partitions "
                           f"{_ranges(sorted(known))}; check the partition numbers")
        else:
            keys.add(key)
    return sorted(keys), sorted(set(unknown))


def _ranges(numbers: list[int]) -> str:
    if not numbers:
        return "none"
    if numbers == list(range(numbers[0], numbers[-1] + 1)) and len(numbers) > 2:
        return f"{numbers[0]}-{numbers[-1]}"
    return ", ".join(str(n) for n in numbers)


def partition_infos(keys: Iterable[Key], states: dict[str, Optional[dict[int, dict]]],
                    reassignments: dict[Key, dict], sizes: Optional[dict[Key, dict[int, int]]] = None,
                    configs: Optional[dict[str, dict]] = None) -> list[dict[str, Any]]:
    """partition_info's answer for keys (each known in states): sorted by topic then partition. size_bytes is
    the largest replica's log, configs the typed topic configs; both are left out when not read."""
    infos = []
    for key in sorted(keys):
        state = (states.get(key[0]) or {})[key[1]]
        running = reassignments.get(key)
        info: dict[str, Any] = dict(
            topic=key[0], partition=key[1], replicas=[int(b) for b in state["replicas"]],
            isr=[int(b) for b in state["isr"]], leader=state["leader"],
            reassignment=None if running is None else dict(adding=list(running["adding"]),
                                                           removing=list(running["removing"])))
        if sizes is not None:
            info["size_bytes"] = max((sizes.get(key) or {}).values(), default=0)
        if configs is not None:
            info["configs"] = config_summary(configs.get(key[0]) or {})
        infos.append(info)
    return infos


# Reassignment ----------------------------------------------------------------------------------------------

def read_targets(partitions: list[dict]) -> tuple[dict[Key, list[int]], list[str]]:
    """{key: target replicas} from the module's ``partitions``, and a sentence for each bad entry (no replicas,
    a broker twice, one partition given two different targets)."""
    targets: dict[Key, list[int]] = {}
    problems: list[str] = []
    for entry in partitions:
        key = key_of(entry)
        replicas = [int(b) for b in entry.get("replicas") or []]
        if not replicas:
            problems.append(f"partition {name_of(key)}: no replicas given: list the broker ids it should have")
        elif len(set(replicas)) != len(replicas):
            problems.append(f"partition {name_of(key)}: replicas {replicas} name a broker twice")
        elif key in targets and targets[key] != replicas:
            problems.append(f"partition {name_of(key)} is given two targets, {targets[key]} and {replicas}: give "
                            "it once")
        else:
            targets[key] = replicas
    return targets, problems


def running_target(info: dict) -> Optional[list[int]]:
    """The target of the reassignment running on a partition (None when none runs): while one runs, Kafka's
    replica list is the target followed by the replicas being removed."""
    running = info.get("reassignment")
    if not running:
        return None
    removing = set(running.get("removing") or [])
    return [b for b in info["replicas"] if b not in removing]


def replicas_before(info: dict) -> list[int]:
    """The replicas a partition had before its running reassignment (its replicas when none runs)."""
    adding = set((info.get("reassignment") or {}).get("adding") or [])
    return [b for b in info["replicas"] if b not in adding]


def is_complete(target: list[int], info: dict) -> bool:
    """A reassignment is complete when none runs, the replicas are the target in its order, and every target
    replica is in the ISR."""
    return (not info.get("reassignment") and list(info["replicas"]) == list(target)
            and set(target) <= set(info.get("isr") or []))


def plan_reassignment(targets: dict[Key, list[int]], infos: list[dict]) -> dict[str, Any]:
    """What to do for each partition: ``submit`` {key: target} for those not at their target (nothing runs),
    ``wait`` for those whose reassignment to the same target already runs or that are at the target with a
    replica still out of the ISR, ``done`` for those at the target and in sync, ``conflicts`` (one sentence
    each) for those a reassignment to another target is moving; ``before`` their replicas before any."""
    by_key = {key_of(info): info for info in infos}
    plan: dict[str, Any] = dict(submit={}, wait=[], done=[], conflicts=[], before={})
    for key in sorted(targets):
        target, info = targets[key], by_key[key]
        plan["before"][key] = replicas_before(info)
        running = running_target(info)
        if running is not None and running != target:
            plan["conflicts"].append(
                f"partition {name_of(key)}: a reassignment to {running} is running (adding "
                f"{info['reassignment']['adding']}, removing {info['reassignment']['removing']}), not to {target}: "
                "let it finish or cancel it (kafka-reassign-partitions --cancel), then rerun")
        elif running is not None or (list(info["replicas"]) == target and not is_complete(target, info)):
            plan["wait"].append(key)
        elif is_complete(target, info):
            plan["done"].append(key)
        else:
            plan["submit"][key] = target
    return plan


def unfinished(targets: dict[Key, list[int]], infos: list[dict]) -> list[dict[str, Any]]:
    """What still keeps each partition from its target: replicas, ISR and what its reassignment adds."""
    left = []
    for info in infos:
        key = key_of(info)
        if key in targets and not is_complete(targets[key], info):
            left.append(dict(topic=key[0], partition=key[1], target=targets[key], replicas=info["replicas"],
                             isr=info.get("isr") or [], adding=(info.get("reassignment") or {}).get("adding") or []))
    return left


def timeout_message(left: list[dict], timeout: float) -> str:
    """One line for a reassignment wait that timed out; the reassignments keep running."""
    moving = "; ".join(f"{name_of(key_of(p))} replicas {p['replicas']} ISR {p['isr']} (target {p['target']}"
                       + (f", adding {p['adding']})" if p["adding"] else ")") for p in left)
    return (f"the reassignment did not complete within {timeout:g} s: {moving}. It keeps running: rerun the "
            "same task to wait for it again, or cancel it (kafka-reassign-partitions --cancel)")


def track_sizes(progress: dict[tuple[Key, int], dict], now: float, infos: list[dict],
                sizes: dict[Key, dict[int, int]]) -> dict[tuple[Key, int], dict]:
    """The copy progress of every replica a running reassignment adds that is not in the ISR yet:
    {(key, broker): {bytes, since}}, ``since`` being when its log size last grew (or was first seen). A
    broker that has no log of the partition yet counts as 0 bytes."""
    tracked: dict[tuple[Key, int], dict] = {}
    for info in infos:
        key = key_of(info)
        isr = set(info.get("isr") or [])
        for broker in (info.get("reassignment") or {}).get("adding") or []:
            if broker in isr:
                continue
            size = (sizes.get(key) or {}).get(broker, 0)
            seen = progress.get((key, broker))
            if seen is None or size > seen["bytes"]:
                tracked[(key, broker)] = dict(bytes=size, since=now)
            else:
                tracked[(key, broker)] = dict(bytes=seen["bytes"], since=seen["since"])
    return tracked


def stalled(progress: dict[tuple[Key, int], dict], now: float, stall_timeout: float) -> list[dict[str, Any]]:
    """Partitions with an added replica whose log has not grown for stall_timeout seconds while it is out of
    the ISR: [{topic, partition, brokers, bytes (copied so far, per broker), seconds}]. A stall_timeout of 0
    or less turns the rule off."""
    if stall_timeout <= 0:
        return []
    found: dict[Key, dict[str, Any]] = {}
    for (key, broker), seen in sorted(progress.items()):
        idle = now - seen["since"]
        if idle >= stall_timeout:
            entry = found.setdefault(key, dict(topic=key[0], partition=key[1], brokers=[], bytes={}, seconds=0.0))
            entry["brokers"].append(broker)
            entry["bytes"][broker] = seen["bytes"]
            entry["seconds"] = max(entry["seconds"], round(idle, 1))
    return [found[key] for key in sorted(found)]


def stall_message(stalls: list[dict], cancel_refused: dict[Key, str]) -> str:
    """One line for reassignments that stalled and what the cancel did."""
    parts = []
    for stall in stalls:
        key = key_of(stall)
        copied = ", ".join(f"broker {b} {stall['bytes'][b]} bytes" for b in stall["brokers"])
        outcome = (f"cancelling it failed ({cancel_refused[key]}): cancel it with kafka-reassign-partitions --cancel"
                   if key in cancel_refused else "cancelled, its replicas are back to where they were")
        parts.append(f"partition {name_of(key)}: the added replica(s) on brokers {stall['brokers']} stopped growing "
                     f"for {stall['seconds']:g} s outside the ISR ({copied} copied); {outcome}")
    return ("the reassignment stalled: " + "; ".join(parts)
            + ". A follower that cannot copy a batch logs 'Found invalid messages during fetch' in its server.log")


# Replication throttle --------------------------------------------------------------------------------------

RATE_CONFIGS = ("leader.replication.throttled.rate", "follower.replication.throttled.rate")
LEADER_REPLICAS = "leader.replication.throttled.replicas"
FOLLOWER_REPLICAS = "follower.replication.throttled.replicas"
THROTTLED_REPLICAS = (LEADER_REPLICAS, FOLLOWER_REPLICAS)
QUOTA_WINDOW_CONFIGS = ("replication.quota.window.num", "replication.quota.window.size.seconds")
# Kafka's own defaults for QUOTA_WINDOW_CONFIGS: the replication quota is measured over 11 samples of 1 s.
DEFAULT_QUOTA_WINDOW = (11, 1)
DYNAMIC_BROKER_CONFIG = "DYNAMIC_BROKER_CONFIG"


def _pairs(partition: int, brokers: Iterable[int]) -> list[str]:
    return [f"{partition}:{broker}" for broker in brokers]


def _listed(value: Optional[str]) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def throttle_moves(plan: dict[str, Any], targets: dict[Key, list[int]]) -> dict[Key, tuple[list[int], list[int]]]:
    """{key: (replicas before, target)} of the partitions a reassignment submits or waits for that copy data
    (their target adds a replica); a reorder, or a partition at its target catching up, copies nothing new."""
    keys = sorted(set(plan["submit"]) | set(plan["wait"]))
    return {key: (plan["before"][key], targets[key]) for key in keys
            if set(targets[key]) - set(plan["before"][key])}


def plan_throttle(rate: int, moves: dict[Key, tuple[list[int], list[int]]],
                  live: set[int]) -> Optional[dict[str, Any]]:
    """The throttle kafka-reassign-partitions --throttle sets for moves: ``rate`` bytes/s on every broker that
    holds or receives a replica of them (those that are up: a broker that is down copies nothing and cannot be
    configured), and per topic the partition:broker pairs of the existing replicas (``leader``) and of the added
    ones (``follower``). None without a rate or without a move."""
    if rate <= 0 or not moves:
        return None
    brokers: set[int] = set()
    topics: dict[str, dict[str, list[str]]] = {}
    for (topic, partition), (before, target) in sorted(moves.items()):
        brokers.update(before, target)
        lists = topics.setdefault(topic, dict(leader=[], follower=[]))
        lists["leader"] += _pairs(partition, before)
        lists["follower"] += _pairs(partition, [b for b in target if b not in before])
    return dict(rate=rate, brokers=sorted(brokers & live), topics=topics)


def broker_overrides(found: dict[int, dict[str, dict]]) -> dict[int, dict[str, Optional[str]]]:
    """{broker: {name: value}} of the configs set on each broker itself (DescribeConfigs source
    DYNAMIC_BROKER_CONFIG); None for a config it takes from the cluster default, its properties or Kafka."""
    return {broker: {name: (entry.get("value") if entry.get("source") == DYNAMIC_BROKER_CONFIG else None)
                     for name, entry in names.items()}
            for broker, names in found.items()}


def quota_window(found: dict[int, dict[str, dict]]) -> float:
    """The longest replication quota window of the brokers found, in seconds: samples times sample length."""
    windows = []
    for names in found.values():
        try:
            samples, seconds = (int((names.get(name) or {}).get("value") or default)
                                for name, default in zip(QUOTA_WINDOW_CONFIGS, DEFAULT_QUOTA_WINDOW))
        except ValueError:
            samples, seconds = DEFAULT_QUOTA_WINDOW
        windows.append(float(samples * seconds))
    return max(windows, default=float(DEFAULT_QUOTA_WINDOW[0] * DEFAULT_QUOTA_WINDOW[1]))


def throttled_stall_timeout(stall_timeout: float, rate: int, window: float) -> float:
    """The stall timeout under a throttle. A throttled follower copies in bursts: once a burst has spent its
    quota it fetches again only when that burst has left the quota window, so a copy that still grows can sit
    still for a whole window. Two windows without growth, or stall_timeout when longer, make a stall; 0 keeps
    the rule off."""
    if stall_timeout <= 0 or rate <= 0:
        return stall_timeout
    return max(stall_timeout, 2 * window)


def throttle_changes(throttle: dict[str, Any], moves: dict[Key, tuple[list[int], list[int]]],
                     resumed: Iterable[Key], brokers_now: dict[int, dict[str, Optional[str]]],
                     topics_now: dict[str, dict[str, Optional[str]]]) -> dict[str, Any]:
    """What setting ``throttle`` writes and what lifting it must undo, from the values set now on each broker
    (broker_overrides) and topic (None: not set).

    ``write``: {brokers: {broker: {name: value}}, topics: {topic: {name: value}}}, only what differs; the topic
    lists keep the pairs already there and gain ours. ``undo``: {brokers: {broker: {name: value to restore, None
    to delete}}, topics: {topic: {name: [pairs to take out]}}}. A value already equal to ours is someone
    else's and stays, except for a reassignment already running (``resumed``) whose pairs are all listed: that
    is its throttle, left by an earlier run that was interrupted (or by kafka-reassign-partitions --throttle),
    and it goes when the reassignment completes. A list of ``*`` (every replica throttled) is left alone."""
    adopted_brokers: set[int] = set()
    adopted_pairs: dict[tuple[str, str], set[str]] = {}
    for key in sorted(set(resumed) & set(moves)):
        before, target = moves[key]
        found = topics_now.get(key[0]) or {}
        leader, follower = _pairs(key[1], before), _pairs(key[1], [b for b in target if b not in before])
        if set(leader) <= set(_listed(found.get(LEADER_REPLICAS))) and \
                set(follower) <= set(_listed(found.get(FOLLOWER_REPLICAS))):
            adopted_brokers.update(before, target)
            adopted_pairs.setdefault((key[0], LEADER_REPLICAS), set()).update(leader)
            adopted_pairs.setdefault((key[0], FOLLOWER_REPLICAS), set()).update(follower)
    rate = str(throttle["rate"])
    write: dict[str, dict] = dict(brokers={}, topics={})
    undo: dict[str, dict] = dict(brokers={}, topics={})
    for broker in throttle["brokers"]:
        for name in RATE_CONFIGS:
            found_rate = (brokers_now.get(broker) or {}).get(name)
            if found_rate != rate:
                write["brokers"].setdefault(broker, {})[name] = rate
            if broker in adopted_brokers or found_rate != rate:
                undo["brokers"].setdefault(broker, {})[name] = None if broker in adopted_brokers else found_rate
    for topic, lists in sorted(throttle["topics"].items()):
        for name, ours in ((LEADER_REPLICAS, lists["leader"]), (FOLLOWER_REPLICAS, lists["follower"])):
            found_pairs = _listed((topics_now.get(topic) or {}).get(name))
            if "*" in found_pairs:
                continue
            missing = [pair for pair in ours if pair not in found_pairs]
            if missing:
                write["topics"].setdefault(topic, {})[name] = ",".join(found_pairs + missing)
            taken = missing + sorted(adopted_pairs.get((topic, name), set()) & set(found_pairs))
            if taken:
                undo["topics"].setdefault(topic, {})[name] = taken
    return dict(write=write, undo=undo)


def throttle_lift(rate: int, undo: dict[str, Any], live: set[int], brokers_now: dict[int, dict[str, Optional[str]]],
                  topics_now: dict[str, dict[str, Optional[str]]]) -> dict[str, Any]:
    """The writes that undo a throttle (throttle_changes' ``undo``), from the values set now: a broker rate is
    restored (or deleted) only while it still holds our rate, since a different value is someone's change made
    during the copy; a topic list loses our pairs and keeps any other, and goes when none is left. ``down``:
    the brokers whose rate cannot be undone because they are not up."""
    lift: dict[str, Any] = dict(brokers={}, topics={}, down=sorted(set(undo["brokers"]) - live))
    for broker, names in sorted(undo["brokers"].items()):
        for name, previous in names.items():
            if broker in live and (brokers_now.get(broker) or {}).get(name) == str(rate):
                lift["brokers"].setdefault(broker, {})[name] = previous or None
    for topic, names in sorted(undo["topics"].items()):
        for name, taken in names.items():
            found_pairs = _listed((topics_now.get(topic) or {}).get(name))
            left = [pair for pair in found_pairs if pair not in taken]
            if left != found_pairs:
                lift["topics"].setdefault(topic, {})[name] = ",".join(left) or None
    return lift


def throttle_left_message(down: list[int], refused: dict[str, str], unread: Optional[str]) -> Optional[str]:
    """One sentence for a throttle that could not be lifted (None when it was), and how to lift it by hand."""
    parts = [f"broker {broker} is not up" for broker in down]
    parts += [f"{resource} refused ({error})" for resource, error in sorted(refused.items())]
    if unread:
        parts.append(unread)
    if not parts:
        return None
    return ("the replication throttle was not lifted (" + "; ".join(parts) + "): remove it with kafka-configs "
            "--alter --delete-config, on each broker (--entity-type brokers) " + ",".join(RATE_CONFIGS)
            + " and on each topic (--entity-type topics) " + ",".join(THROTTLED_REPLICAS))


# Preferred leader election --------------------------------------------------------------------------------

def led_by_preferred(info: dict) -> bool:
    return bool(info["replicas"]) and info.get("leader") == info["replicas"][0]


def plan_election(infos: list[dict]) -> dict[str, Any]:
    """``elect`` the partitions whose leader is not their first replica, ``done`` the others, and ``refusals``
    (one sentence each) for those whose preferred replica is out of the ISR, which Kafka cannot elect."""
    plan: dict[str, Any] = dict(elect=[], done=[], refusals=[])
    for info in infos:
        key = key_of(info)
        if led_by_preferred(info):
            plan["done"].append(key)
        elif not info["replicas"] or info["replicas"][0] not in (info.get("isr") or []):
            preferred = info["replicas"][0] if info["replicas"] else None
            plan["refusals"].append(f"partition {name_of(key)}: the preferred replica {preferred} is not in the ISR "
                                    f"{info.get('isr') or []}, so it cannot lead: wait until it is in sync "
                                    "(broker_wait), then rerun")
        else:
            plan["elect"].append(key)
    return plan
