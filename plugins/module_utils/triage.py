# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The decision engine of skip_corrupt.yml: every decision of the run, as one pure function of what was read.

The playbook gathers facts and asks ``decide`` again after each gathering step; each answer names what it
still needs (``need``: the committed offsets, the replicas' scans, a watch of the offsets) or, once it has
everything, what to do: which partitions are stuck and where each skip goes, every refusal with its reason and
what to do, which phases run, and the hosts of each phase in order. ``after_offset_change`` turns the offset
change's outcome into what the rest of the run does. Nothing here reads a cluster or a file, so every branch
is reachable from a unit test.
"""

from __future__ import annotations

from typing import Any, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import restart_order
from ansible_collections.kafka_ops.remediation.plugins.module_utils.repair import (
    repair_plan, repair_run, stuck_repair)

BROKER_RESTARTS = ("full_stop", "rolling", "none")
OFFSET_STORAGES = ("auto", "zookeeper", "kafka")
# What broker_restart means when not given: a ZooKeeper-stored group's offsets can move with the brokers
# stopped, a Kafka-stored group's only through its running group coordinator.
DEFAULT_RESTART = {"zookeeper": "full_stop", "kafka": "none", "both": "none", "auto": "full_stop"}
# Where a group's offsets live decides when a full_stop stops the cluster: around the move for ZooKeeper-stored
# groups (as legacy runbooks do it), after the move for groups whose offsets Kafka holds, since only a running
# group coordinator can move those.
KAFKA_STORED = ("kafka", "both")
PREFERENCES = ("zookeeper", "kafka", "larger")
# For a group in both stores (a dual-commit legacy consumer): consumer_offset_info and consumer_offset read both
# (auto), while its members register, and its progress shows first, in ZooKeeper.
READ_STORAGE = {"both": "auto"}
MEMBER_STORAGE = {"both": "zookeeper"}
# Journal phases after which a rerun resumes the old plan instead of deciding again: the offsets may have moved.
RESUMED_PHASES = ("moving_offsets", "offsets_moved")
SHOWN = 10

Key = tuple[str, int]


class DecisionInputError(ValueError):
    """A setting or a gathered fact that cannot be used; the text is the one-line message."""


def _key(entry: dict) -> Key:
    return str(entry["topic"]), int(entry["partition"])


def _name(key: Key) -> str:
    return f"{key[0]}-{key[1]}"


def _shown(items: list[str]) -> str:
    more = f" (and {len(items) - SHOWN} more)" if len(items) > SHOWN else ""
    return ", ".join(items[:SHOWN]) + more


# Settings ---------------------------------------------------------------------------------------------------

def as_list(value: Any, what: str, element: type = str) -> list:
    """A list, a comma-separated string or a single value, as -e key=value and AWX/AAP surveys give them."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items: list = [item.strip() for item in value.split(",") if item.strip()]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        items = [value]
    else:
        raise DecisionInputError(f"{what} must be a list, a comma-separated string or a single value, "
                                 f"got {type(value).__name__} {value!r}")
    converted = []
    for item in items:
        try:
            if element is int:
                if isinstance(item, bool) or (isinstance(item, float) and not item.is_integer()):
                    raise ValueError(item)
                converted.append(int(item))
            elif isinstance(item, (str, int)) and not isinstance(item, bool):
                converted.append(str(item))
            else:
                raise ValueError(item)
        except (TypeError, ValueError):
            kind = "partition numbers" if element is int else "names"
            raise DecisionInputError(f"{what} must hold {kind}, got {item!r} in {value!r}") from None
    return converted


def _number(value: Any, what: str, minimum: float = 0, integer: bool = False) -> Any:
    try:
        if isinstance(value, bool):
            raise ValueError(value)
        number = float(value)
        if integer and not number.is_integer():
            raise ValueError(value)
    except (TypeError, ValueError):
        raise DecisionInputError(f"{what} must be a {'whole ' if integer else ''}number, got {value!r}") from None
    if number < minimum:
        raise DecisionInputError(f"{what} must be at least {minimum:g}, got {value!r}")
    return int(number) if integer else number


def _flag(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return value.strip().lower() in ("true", "yes", "on", "1")
    raise DecisionInputError(f"{what} must be true or false, got {value!r}")


def _explicit_offsets(value: Any) -> list[dict]:
    if value in (None, "", []):
        return []
    if not isinstance(value, list):
        raise DecisionInputError(f"offsets must be a list of {{topic, partition, offset}}, got {value!r}")
    offsets = []
    for entry in value:
        try:
            offsets.append(dict(topic=str(entry["topic"]), partition=int(entry["partition"]),
                                target_offset=int(entry["offset"])))
        except (TypeError, KeyError, ValueError):
            raise DecisionInputError(f"each entry of offsets needs topic, partition and offset, got {entry!r}") from None
    return offsets


def read_settings(raw: dict) -> dict:
    """The run's settings, checked and normalised; raises DecisionInputError naming the first bad one."""
    group = raw.get("consumer_group")
    if not isinstance(group, str) or not group.strip():
        raise DecisionInputError("pass -e consumer_group=<the stuck group>")
    restart = raw.get("broker_restart") or ""
    if restart and restart not in BROKER_RESTARTS:
        raise DecisionInputError(f"broker_restart must be full_stop, rolling or none, got {restart!r}")
    storage = raw.get("offset_storage") or "auto"
    if storage not in OFFSET_STORAGES:
        raise DecisionInputError(f"offset_storage must be auto, zookeeper or kafka, got {storage!r}")
    prefer = raw.get("prefer_store") or ""
    if prefer and prefer not in PREFERENCES:
        raise DecisionInputError(f"prefer_store must be zookeeper, kafka or larger, got {prefer!r}")
    try:
        repair = repair_plan.read_settings(raw)
    except repair_plan.RepairInputError as error:
        raise DecisionInputError(str(error)) from None
    return dict(
        repair,
        report_dir=str(raw.get("report_dir") or "~/.ansible/kafka_ops_remediation/reports"),
        group=group.strip(),
        offset_storage=storage,
        prefer_store=prefer,
        # Empty until the group's storage is known: the default depends on it (DEFAULT_RESTART).
        broker_restart_asked=restart,
        broker_restart=restart or DEFAULT_RESTART[storage],
        topics=as_list(raw.get("topics"), "topics"),
        partitions=as_list(raw.get("partitions"), "partitions", int),
        offsets=_explicit_offsets(raw.get("offsets")),
        max_skipped_records=_number(raw.get("max_skipped_records", 10000), "max_skipped_records", integer=True),
        stuck_interval=_number(raw.get("stuck_interval", 10), "stuck_interval"),
        allow_intact_replica=_flag(raw.get("allow_intact_replica", False), "allow_intact_replica"),
        allow_slow_full_stop=_flag(raw.get("allow_slow_full_stop", False), "allow_slow_full_stop"),
        verify_timeout=_number(raw.get("verify_timeout", 120), "verify_timeout"),
        verify_poll_interval=_number(raw.get("verify_poll_interval", 0.5), "verify_poll_interval", minimum=0.05),
        state_file=str(raw.get("state_file") or "the run journal"),
    )


def _nodes(inventory: dict) -> list[dict]:
    """Every node of the inventory (brokers, KRaft controllers, combined nodes) with its id and roles."""
    try:
        nodes = restart_order.read_nodes(dict(inventory, broker_ids=inventory.get("broker_ids") or []))
    except restart_order.RestartOrderError as error:
        raise DecisionInputError(str(error)) from None
    if not any(node["broker"] for node in nodes):
        raise DecisionInputError("the inventory has no kafka_brokers hosts: list every broker with its broker_service_id")
    return nodes


def _broker_hosts(nodes: list[dict]) -> dict[str, int]:
    """{host: broker.id} of the nodes that hold partitions, in inventory order."""
    return {node["host"]: node["node_id"] for node in nodes if node["broker"]}


# The answer -------------------------------------------------------------------------------------------------

def _answer(settings: dict, **fields: Any) -> dict:
    answer = dict(
        need=None, action=None, message="", group=settings["group"], broker_restart=settings["broker_restart"],
        resumed=False, resumed_phase=None, scan_requests={}, watch=None, stuck=[], targets=[], undamaged=[],
        refusals=[], unreadable_offsets=[], stop_order=[], start_together=[], stop_brokers_at=None, bring_back=[],
        host_groups=[], phases=_phases(),
        offset_storage=settings.get("offset_storage", "auto"),
        read_storage=READ_STORAGE.get(settings.get("offset_storage", "auto"), settings.get("offset_storage", "auto")),
        member_storage=MEMBER_STORAGE.get(settings.get("offset_storage", "auto"),
                                          settings.get("offset_storage", "auto")),
        move=dict(log_offsets=not _stops_before_move(settings),
                  storage=READ_STORAGE.get(settings.get("offset_storage", "auto"), settings.get("offset_storage", "auto")),
                  prefer_store=settings.get("prefer_store") or None), rolled=[], backup_file=None,
        cluster={}, controller_id=None, broker_ids=[], group_state=[], watched_seconds=0, explicit=False,
        outcome=None, journal_planned=None, journal_moving=None, journal_update=None, settings=settings,
        verify_targets=[], repair=None, repair_partitions=[], verify_requests={})
    answer.update(fields)
    return answer


def _phases(**on: bool) -> dict:
    names = ("repair", "stop_consumers", "stop_brokers", "move_offsets", "roll_brokers", "start_brokers",
             "start_consumers", "verify", "report")
    return {name: bool(on.get(name, False)) for name in names}


def _stops_before_move(settings: dict) -> bool:
    """A full_stop of a ZooKeeper-stored group stops the cluster while the offsets move; any other run moves them
    with the cluster running (a Kafka-stored group's offsets move only through its running group coordinator)."""
    return settings["broker_restart"] == "full_stop" and settings.get("offset_storage", "auto") not in KAFKA_STORED


def _restart_plan(nodes: list[dict], cluster: dict, settings: dict) -> dict:
    """The order of the run's broker restart: {stop_order, start_together, refusal}. stop_order is the stop order of
    a full_stop, the restart order of a rolling run; start_together the nodes a full_stop starts at once first."""
    try:
        mode = restart_order.metadata_mode(nodes, cluster)
    except restart_order.RestartOrderError as error:
        raise DecisionInputError(str(error)) from None
    controller_id = cluster.get("controller_id")
    if settings["broker_restart"] == "rolling":
        return dict(stop_order=restart_order.rolling(nodes, mode, controller_id, brokers_only=True)["order"],
                    start_together=[], refusal=None)
    plan = restart_order.full_stop(nodes, mode, controller_id, settings["allow_slow_full_stop"])
    return dict(stop_order=plan["stop"], start_together=plan["start_together"],
                refusal=plan["refusal"] if settings["broker_restart"] == "full_stop" else None)


def _acting(answer: dict, consumers: list[str], stop_order: list[str], rolled: list[str], offsets_moved: bool,
            start_together: Optional[list[str]] = None) -> dict:
    """Phases and host groups of a run that acts (fresh or resumed). ``start_together``: the nodes a full_stop
    starts at once first (KRaft controllers; the ZooKeeper-mode controller alone, the last one stopped)."""
    restart = answer["broker_restart"]
    groups = [dict(name=host, groups="skip_corrupt_consumers") for host in consumers]
    full_stop = restart == "full_stop"
    rolling = restart == "rolling"
    before_move = _stops_before_move(answer["settings"])
    # A journal from before KRaft has no start_together: its full_stop started the last one stopped first.
    together = list(stop_order[-1:] if start_together is None else start_together)
    if full_stop and not offsets_moved:
        stop = "skip_corrupt_stop" if before_move else "skip_corrupt_stop_after_move"
        groups += [dict(name=host, groups=f"{stop}_first") for host in stop_order[:-1]]
        groups += [dict(name=host, groups=f"{stop}_last") for host in stop_order[-1:]]
    if full_stop:
        groups += [dict(name=host, groups="skip_corrupt_start_first") for host in together]
        groups += [dict(name=host, groups="skip_corrupt_start_then") for host in reversed(stop_order)
                   if host not in together]
    to_roll = [host for host in stop_order if host not in rolled] if rolling else []
    last = stop_order[-1:] if rolling else []
    groups += [dict(name=host, groups="skip_corrupt_roll_first") for host in to_roll if host not in last]
    groups += [dict(name=host, groups="skip_corrupt_roll_last") for host in to_roll if host in last]
    answer.update(
        action="resume" if answer["resumed"] else "act", stop_order=stop_order, rolled=list(rolled),
        start_together=together,
        stop_brokers_at=("before_move" if before_move else "after_move") if full_stop else None,
        host_groups=groups,
        verify_targets=[dict(topic=t["topic"], partition=t["partition"], target_offset=t["target_offset"])
                        for t in answer["targets"]],
        phases=_phases(stop_consumers=not offsets_moved and bool(consumers),
                       stop_brokers=full_stop and not offsets_moved, move_offsets=not offsets_moved,
                       roll_brokers=bool(to_roll), start_brokers=full_stop, start_consumers=bool(consumers),
                       # Only consumers this run starts can be watched flowing: with none in the inventory (the
                       # application is started by other means) the report says the skip is not verified.
                       verify=bool(consumers), report=True))
    return answer


# Resuming ---------------------------------------------------------------------------------------------------

def _resume(settings: dict, journal: dict, consumers: list[str]) -> dict:
    plan = journal.get("decision") or {}
    targets = plan.get("targets") or []
    phase = journal["phase"]
    answer = _answer(
        {**settings, "broker_restart": journal.get("broker_restart") or settings["broker_restart"],
         "offset_storage": journal.get("offset_storage") or settings["offset_storage"],
         "prefer_store": journal.get("prefer_store") or settings["prefer_store"]},
        resumed=True, resumed_phase=phase, targets=targets, stuck=plan.get("stuck") or [],
        undamaged=plan.get("undamaged") or [], cluster=plan.get("cluster") or {},
        controller_id=plan.get("controller_id"), broker_ids=plan.get("broker_ids") or [],
        explicit=bool(plan.get("explicit")), backup_file=journal.get("backup_file"))
    answer = _acting(answer, consumers, list(journal.get("stop_order") or []),
                     list(journal.get("rolled") or []), offsets_moved=phase == "offsets_moved",
                     start_together=journal.get("start_together"))
    answer["journal_moving"] = dict(phase="moving_offsets")
    answer["message"] = (
        f"Resuming the run of {journal.get('started_at', 'an earlier run')} for group {settings['group']} at phase "
        f"\"{phase}\" ({len(targets)} partition(s), broker_restart={answer['broker_restart']}): the offsets may "
        "already have moved, so the plan of that run is kept and no offset moves twice. Delete "
        f"{settings['state_file']} to start afresh instead.")
    return answer


def _bring_back(journal: dict) -> list[dict]:
    """Nodes an earlier run may have left stopped, as host groups: it stopped them all (a full_stop of a
    ZooKeeper-stored group, which stops before the move) and then failed or refused before it started them
    again. The nodes it starts at once come first (KRaft controllers: a lone voter elects no leader), then the
    others in reverse stop order. Starting a node that runs only checks its health."""
    if not journal or journal.get("phase") in (None, "complete") + RESUMED_PHASES:
        return []
    if journal.get("broker_restart") != "full_stop" or journal.get("offset_storage") in KAFKA_STORED:
        return []
    stop_order = list(journal.get("stop_order") or [])
    together = journal.get("start_together")
    together = stop_order[-1:] if together is None else list(together)
    return ([dict(name=host, groups="skip_corrupt_bring_back_together") for host in together]
            + [dict(name=host, groups="skip_corrupt_bring_back") for host in reversed(stop_order)
               if host not in together])


# The preflight ----------------------------------------------------------------------------------------------

def _unreadable(sample: dict) -> list[dict]:
    return sorted((dict(entry) for entry in sample.get("unreadable_offsets") or []), key=lambda e: e.get("path", ""))


def _unreadable_refusal(group: str, unreadable: list[dict]) -> str:
    nodes = [f"{entry['path']} holds {entry.get('raw')!r}" for entry in unreadable]
    return (f"group {group} cannot start as it is: {len(unreadable)} offset node(s) are not decimal offsets "
            f"({_shown(nodes)}), and its consumers fail on them when they read their position. Set each one with "
            "kafka_ops.remediation.consumer_offset (target=offset, or target=earliest/latest) or restore a "
            "backup with restore_offsets.yml, then rerun. Nothing was changed.")


def _health_refusal(brokers: dict[str, int], cluster: dict) -> Optional[str]:
    registered = set(int(b) for b in cluster.get("broker_ids") or [])
    missing = sorted(host for host, broker in brokers.items() if broker not in registered)
    summary = cluster.get("summary") or {}
    if not missing and cluster.get("healthy", True):
        return None
    down = f"brokers not registered: {', '.join(f'{h} ({brokers[h]})' for h in missing)}; " if missing else ""
    return (f"the cluster is not healthy, so nothing was changed: {down}registered {sorted(registered)}, "
            f"{summary.get('under_replicated', 0)} under-replicated and {summary.get('offline', 0)} offline "
            "partition(s). Bring the missing brokers back (broker_service start) and let followers catch up, "
            "then rerun.")


def _storage(settings: dict, groups: list[dict]) -> tuple[str, Optional[str]]:
    """Where the group's offsets live (zookeeper, kafka, or auto when no store has it), from consumer_offset_info's
    groups, and a refusal when that cannot be decided."""
    asked = settings["offset_storage"]
    # Results without a storage key come from ZooKeeper (the only store consumer_offset_info read before).
    found = sorted({g.get("storage", "zookeeper") for g in groups
                    if g.get("group") == settings["group"] and g.get("state") != "absent"} - {None})
    if asked != "auto":
        return asked, None
    if len(found) > 1:
        return "both", None
    return (found[0] if found else "auto"), None


def _of_storage(result: dict, storage: str, prefer: str = "") -> dict:
    """consumer_offset_info's result narrowed to one store (rows without a storage key are ZooKeeper's), or for a
    group in both, one row per partition with the offset its consumer starts from (_both_stores)."""
    if storage == "auto":
        return result
    if storage == "both":
        return _both_stores(result, prefer)

    def mine(entry: dict) -> bool:
        return (entry.get("storage") or "zookeeper") == storage

    return dict(result, groups=[g for g in result.get("groups") or [] if mine(g) or g.get("storage", "") is None],
                offsets=[o for o in result.get("offsets") or [] if mine(o)],
                unreadable_offsets=[] if storage == "kafka" else result.get("unreadable_offsets") or [])


def _both_stores(result: dict, prefer: str) -> dict:
    """A dual-commit group's rows: where ZooKeeper and Kafka agree, ZooKeeper's row; where they disagree, the row
    of the store prefer names (the larger offset for 'larger', what such a consumer starts from). Disagreeing
    partitions without a preference are listed in 'disagree'."""
    rows: dict[Key, dict[str, dict]] = {}
    for row in result.get("offsets") or []:
        rows.setdefault(_key(row), {})[row.get("storage") or "zookeeper"] = row
    merged, disagree = [], []
    for key, by_store in sorted(rows.items()):
        zookeeper, kafka = by_store.get("zookeeper"), by_store.get("kafka")
        if zookeeper and kafka and zookeeper.get("offset") == kafka.get("offset"):
            merged.append(zookeeper)
            continue
        if zookeeper and kafka:
            disagree.append(f"{_name(key)} ZooKeeper {zookeeper.get('offset')}, Kafka {kafka.get('offset')}")
        if prefer == "larger" and zookeeper and kafka:
            merged.append(max((zookeeper, kafka), key=lambda row: int(row.get("offset") or 0)))
        else:
            merged.append(by_store.get(prefer) or zookeeper or kafka)
    groups = [g for g in result.get("groups") or [] if (g.get("storage") or "zookeeper") == "zookeeper"]
    return dict(result, groups=groups, offsets=merged, disagree=[] if prefer else disagree)


def _lagging(sample: dict, partitions: list[int]) -> list[dict]:
    lagging = [entry for entry in sample.get("offsets") or []
               if entry.get("offset") is not None and entry.get("log_end_offset") is not None
               and int(entry["offset"]) < int(entry["log_end_offset"])
               and (not partitions or int(entry["partition"]) in partitions)]
    return sorted(lagging, key=_key)


def _scan_requests(lagging: list[dict], cluster_partitions: list[dict], brokers: dict[str, int]) -> dict:
    replicas = {_key(entry): [int(r) for r in entry.get("replicas") or []] for entry in cluster_partitions}
    requests: dict[str, list[dict]] = {}
    for host, broker in brokers.items():
        per_topic: dict[str, dict] = {}
        for entry in lagging:
            key = _key(entry)
            if broker in replicas.get(key, []):
                request = per_topic.setdefault(key[0], dict(topic=key[0], partitions=[], start_offsets={}))
                request["partitions"].append(key[1])
                request["start_offsets"][str(key[1])] = int(entry["offset"])
        if per_topic:
            requests[host] = [per_topic[topic] for topic in sorted(per_topic)]
    return requests


def _scan_results(scans: list) -> tuple[dict[Key, dict[int, dict]], dict[Key, list[dict]]]:
    """Every broker's corrupt_record_info results (registered loop results, as gathered from each host)."""
    by_partition: dict[Key, dict[int, dict]] = {}
    records: dict[Key, list[dict]] = {}
    for host_result in scans or []:
        results = host_result.get("results", [host_result]) if isinstance(host_result, dict) else host_result or []
        for result in results:
            if not isinstance(result, dict):
                continue
            for scan in result.get("partitions") or []:
                by_partition.setdefault(_key(scan), {})[int(scan["broker_id"])] = scan
            for record in result.get("corrupt_records") or []:
                records.setdefault(_key(record), []).append(record)
    return by_partition, records


def _damage_at(scan: dict, committed: int) -> bool:
    """The damage holds a consumer at ``committed``: it starts at or before it, and readable data resumes after
    it (or never, which the plan refuses separately)."""
    first = scan.get("first_damaged_offset")
    next_valid = scan.get("next_valid_offset")
    return first is not None and int(first) <= committed and (next_valid is None or int(next_valid) > committed)


def _record_holds(record: dict, committed: int, damaged: dict) -> bool:
    if record.get("broker_id") is None or int(record["broker_id"]) not in damaged:
        return False
    first, next_valid = record.get("first_offset"), record.get("next_valid_offset")
    return (first is None or int(first) <= committed) and (next_valid is None or int(next_valid) > committed)


def _held(lagging: list[dict], scans: dict[Key, dict[int, dict]], leaders: dict[Key, Any]) -> list[dict]:
    held = []
    for entry in lagging:
        leader = leaders.get(_key(entry))
        scan = scans.get(_key(entry), {}).get(int(leader)) if leader is not None else None
        if scan is not None and _damage_at(scan, int(entry["offset"])):
            held.append(entry)
    return held


def _not_moving(sample: list[dict], watched: list[dict]) -> list[Key]:
    earlier = {_key(entry): entry for entry in sample}
    still = []
    for entry in watched:
        before = earlier.get(_key(entry))
        if before is None or entry.get("offset") is None or before.get("offset") is None:
            continue
        log_end = entry.get("log_end_offset")
        log_end = before.get("log_end_offset") if log_end is None else log_end
        if log_end is not None and int(before["offset"]) == int(entry["offset"]) < int(log_end):
            still.append(_key(entry))
    return still


def _plan_partition(entry: dict, settings: dict, scans: dict[int, dict], records: list[dict], replicas: list[int],
                    leader: Any, group_active: bool) -> tuple[str, Any]:
    """('target', target) | ('refusal', sentence) | ('undamaged', entry) for one stuck partition."""
    key = _key(entry)
    committed = int(entry["offset"])
    missing = sorted(set(replicas) - set(scans))
    damaged = {broker: scan for broker, scan in scans.items() if _damage_at(scan, committed)}
    intact = sorted(broker for broker in scans if broker not in damaged)
    if not damaged:
        return "undamaged", dict(topic=key[0], partition=key[1], committed_offset=committed,
                                 scanned_brokers=sorted(scans))
    if missing:
        return "refusal", (f"partition {_name(key)}: the replicas on brokers {missing} were not scanned (host down "
                           "or not in the inventory): scan every replica before deciding, or pass explicit offsets")
    if leader is not None and int(leader) in intact:
        who = "its consumers are stopped" if not group_active else "it is slow or stuck for another reason"
        return "refusal", (f"partition {_name(key)}: the leader (broker {int(leader)}) is intact at offset "
                           f"{committed}; the group is not stuck on damage ({who}). Offset {committed} is damaged "
                           f"only on follower(s) {sorted(damaged)}: keep them from leading until they are repaired, "
                           "and start the group's consumers, which read from the leader")
    if intact and not settings["allow_intact_replica"]:
        return "refusal", (f"partition {_name(key)}: offset {committed} is damaged on brokers {sorted(damaged)}, "
                           f"the leader among them, but intact on brokers {intact}: the records can be saved by "
                           "making an intact replica the leader; to skip them anyway rerun with "
                           "-e allow_intact_replica=true")
    next_valid = {scan.get("next_valid_offset") for scan in damaged.values()}
    if None in next_valid:
        return "refusal", (f"partition {_name(key)}: no readable offset after the damage at {committed} on brokers "
                           f"{sorted(damaged)}: nothing to skip to until new records arrive; pass explicit offsets "
                           "(-e offsets=...)")
    if len(next_valid) > 1:
        resumes = ", ".join(f"broker {b}: {s['next_valid_offset']}" for b, s in sorted(damaged.items()))
        return "refusal", (f"partition {_name(key)}: replicas disagree on where readable data resumes ({resumes}): "
                           "decide and pass explicit offsets (-e offsets=...)")
    target = int(next_valid.pop())
    skipped = target - committed
    if skipped > settings["max_skipped_records"]:
        return "refusal", (f"partition {_name(key)}: skipping from {committed} to {target} would pass {skipped} "
                           f"records, more than max_skipped_records={settings['max_skipped_records']}: check the "
                           "damage, then raise the limit")
    return "target", dict(
        topic=key[0], partition=key[1], committed_offset=committed, target_offset=target, records_skipped=skipped,
        log_end_offset=entry.get("log_end_offset"), damaged_brokers=sorted(damaged), intact_brokers=intact,
        damage=[record for record in records if _record_holds(record, committed, damaged)], explicit=False)


def _explicit_plan(settings: dict, offsets: list[dict]) -> tuple[list[dict], list[str]]:
    known = {_key(entry): entry for entry in offsets}
    targets, refusals = [], []
    for wanted in settings["offsets"]:
        key = _key(wanted)
        target = wanted["target_offset"]
        entry = known.get(key)
        if entry is None or entry.get("offset") is None:
            refusals.append(f"partition {_name(key)}: the group has no committed offset there: check topic and "
                            "partition")
            continue
        committed = int(entry["offset"])
        low, high = entry.get("log_start_offset"), entry.get("log_end_offset")
        if low is not None and high is not None and not int(low) <= target <= int(high):
            refusals.append(f"partition {_name(key)}: offset {target} is outside the log [{low}, {high}]: pick one "
                            "inside it")
            continue
        skipped = target - committed
        if skipped > settings["max_skipped_records"]:
            refusals.append(f"partition {_name(key)}: moving from {committed} to {target} would pass {skipped} "
                            f"records, more than max_skipped_records={settings['max_skipped_records']}: raise the "
                            "limit if this is intended")
            continue
        targets.append(dict(topic=key[0], partition=key[1], committed_offset=committed, target_offset=target,
                            records_skipped=max(skipped, 0), log_end_offset=high, damaged_brokers=[],
                            intact_brokers=[], damage=[], explicit=True))
    return targets, refusals


def _undamaged_refusal(group: str, undamaged: list[dict], group_active: bool) -> str:
    where = _shown([f"{e['topic']}/{e['partition']}/{e['committed_offset']}" for e in undamaged])
    if not group_active:
        why = ("The group has no live consumer, so nothing moves its offsets: start its consumers and see whether "
               "they get stuck.")
    else:
        why = ("It may be stuck for another reason, such as a record larger than its fetch size "
               "(fetch.message.max.bytes): read the consumer's log.")
    return (f"Nothing was changed: no damaged record where group {group} sits on {where} "
            f"(topic/partition/offset); every replica reads cleanly from there. {why}")


def decide(settings: dict, inventory: dict, journal: Optional[dict] = None, sample: Optional[dict] = None,
           scans: Optional[list] = None, watch: Optional[dict] = None, started_at: str = "",
           repair_scans: Optional[list] = None, repair_infos: Optional[list] = None) -> dict:
    """The whole decision of one skip_corrupt.yml run from what has been gathered so far.

    ``settings``: the playbook's variables (consumer_group, topics, partitions, offsets, broker_restart,
    max_skipped_records, stuck_interval, allow_intact_replica, verify_timeout, verify_poll_interval).
    ``inventory``: {broker_hosts: [hosts], broker_ids: [their broker_service_id], consumers: [hosts running the
    group's consumers]}.
    ``journal``: the run journal of an earlier run ({} or None when there is none).
    ``sample``: consumer_offset_info's result with cluster=true; ``scans``: every broker's registered
    corrupt_record_info results; ``watch``: consumer_offset_info's result after the stuck interval;
    ``started_at``: when the run started, for the journal; ``repair_scans``: every replica's full scan of the
    partitions to repair, with digests and the damaged bytes; ``repair_infos``: partition_info's partitions.
    Raises DecisionInputError when a setting or the inventory cannot be used.
    """
    settings = read_settings(settings)
    nodes = _nodes(inventory)
    brokers = _broker_hosts(nodes)
    consumers = [str(host) for host in inventory.get("consumers") or []]
    journal = journal or {}
    if journal.get("repair_phase") in repair_run.RESUMED_PHASES:
        return _resume_repair(settings, journal, consumers, brokers)
    if journal.get("phase") in RESUMED_PHASES:
        return _resume(settings, journal, consumers)
    bring_back = _bring_back(journal)
    if sample is None:
        return _answer(settings, need="sample", bring_back=bring_back)

    cluster = sample.get("cluster") or {}
    storage, storage_refusal = _storage(settings, sample.get("groups") or [])
    settings = dict(settings, offset_storage=storage,
                    broker_restart=settings["broker_restart_asked"] or DEFAULT_RESTART[storage])
    sample = _of_storage(sample, storage, settings["prefer_store"])
    groups = sample.get("groups") or []
    group_active = any(g.get("active", g.get("state") == "active") for g in groups)
    answer = _answer(settings, bring_back=bring_back, cluster=cluster.get("summary") or {},
                     controller_id=cluster.get("controller_id"), broker_ids=cluster.get("broker_ids") or [],
                     group_state=groups, unreadable_offsets=_unreadable(sample),
                     explicit=bool(settings["offsets"]))

    def refuse(message: str, refusals: Optional[list[str]] = None) -> dict:
        answer.update(action="refuse", message=message, refusals=refusals or [message])
        return answer

    if storage_refusal:
        return refuse(storage_refusal)
    if sample.get("disagree"):
        return refuse(f"Group {settings['group']} has offsets in ZooKeeper and in Kafka (an old consumer with "
                      f"dual.commit.enabled), and they disagree: {_shown(sample['disagree'])}. Rerun with "
                      "prefer_store=larger (what such a consumer starts from), zookeeper or kafka; the skip then "
                      "writes both stores. Nothing was changed.")
    restart_plan = _restart_plan(nodes, cluster, settings)
    if restart_plan["refusal"]:
        return refuse(restart_plan["refusal"])
    answer.update(stop_order=restart_plan["stop_order"], start_together=restart_plan["start_together"])
    if watch is not None:
        watch = _of_storage(watch, storage, settings["prefer_store"])
    if answer["unreadable_offsets"]:
        return refuse(_unreadable_refusal(settings["group"], answer["unreadable_offsets"]))
    unhealthy = _health_refusal(brokers, cluster)
    if unhealthy:
        return refuse(unhealthy[0].upper() + unhealthy[1:])
    offsets = sample.get("offsets") or []
    if not offsets:
        topics = f" for topics {', '.join(settings['topics'])}" if settings["topics"] else ""
        where = {"zookeeper": "in ZooKeeper", "kafka": "in Kafka"}.get(storage, "in ZooKeeper nor in Kafka")
        return refuse(f"Group {settings['group']} has no committed offsets {where}{topics}: check the group "
                      "name (and topics) and rerun. Nothing was changed.")

    if settings["offsets"]:
        targets, refusals = _explicit_plan(settings, offsets)
        return _conclude(answer, settings, consumers, brokers, targets, refusals, [], [], group_active, started_at)

    lagging = _lagging(sample, settings["partitions"])
    if scans is None:
        requests = _scan_requests(lagging, cluster.get("partitions") or [], brokers)
        if requests:
            answer.update(need="scans", scan_requests=requests)
            return answer
        scans = []
    by_partition, records = _scan_results(scans)
    leaders = {_key(entry): entry.get("leader") for entry in cluster.get("partitions") or []}
    held = _held(lagging, by_partition, leaders)
    unexplained = len(lagging) > len(held)
    if watch is None and unexplained and (not held or settings["partitions"]):
        answer.update(need="watch", watch=dict(topics=sorted({entry["topic"] for entry in lagging}),
                                               seconds=settings["stuck_interval"]))
        return answer
    not_moving = set(_not_moving(offsets, (watch or {}).get("offsets") or [])) if watch is not None else set()
    stuck_keys = {_key(entry) for entry in held} | not_moving
    stuck = [entry for entry in lagging if _key(entry) in stuck_keys]
    answer.update(stuck=stuck, watched_seconds=settings["stuck_interval"] if watch is not None else 0)

    if not settings["offsets"]:
        found = stuck_repair.candidates(stuck, by_partition, cluster.get("partitions") or [])
        choice, why = stuck_repair.choose(found, settings["remedy"])
        if choice == "refuse":
            return refuse(why)
        if choice == "repair":
            return _repair(answer, settings, consumers, brokers, found, repair_scans, repair_infos, started_at)
    replicas = {_key(entry): [int(r) for r in entry.get("replicas") or []] for entry in cluster.get("partitions") or []}
    targets, refusals, undamaged = [], [], []
    for entry in stuck:
        key = _key(entry)
        kind, value = _plan_partition(entry, settings, by_partition.get(key, {}), records.get(key, []),
                                      replicas.get(key, []), leaders.get(key), group_active)
        {"target": targets, "refusal": refusals, "undamaged": undamaged}[kind].append(value)
    return _conclude(answer, settings, consumers, brokers, targets, refusals, undamaged, lagging, group_active,
                     started_at)


def _repair_phases(consumers: list[str]) -> dict:
    # The consumers are restarted after the rebuild: a consumer that met the damage has paused the partition or
    # died (as the old consumer's fetcher thread and most Java applications do), and reads on only when started.
    return _phases(repair=True, stop_consumers=bool(consumers), start_consumers=bool(consumers),
                   verify=bool(consumers), report=True)


def _repair(answer: dict, settings: dict, consumers: list[str], brokers: dict[str, int], found: list[dict],
            scans: Optional[list], infos: Optional[list], started_at: str) -> dict:
    """Repair instead of skipping: every stuck batch is intact on an in-sync replica."""
    partitions = [dict(topic=c["topic"], partition=c["partition"], replicas=c["replicas"], leader=c["leader"])
                  for c in found]
    if scans is None or infos is None:
        answer.update(need="repair_scans", repair_partitions=stuck_repair.partitions_to_read(found),
                      scan_requests=repair_plan.scan_requests(partitions, brokers,
                                                              digest_offsets=stuck_repair.digest_offsets(found),
                                                              capture_bytes=settings["capture_bytes"]))
        return answer
    plan = repair_plan.plan_repairs(partitions, scans, infos, settings)
    if plan["refusals"]:
        message = ("Nothing was changed. " + " | ".join(plan["refusals"]) + ". To skip the damaged records "
                   "instead, rerun with -e remedy=skip -e allow_intact_replica=true.")
        answer.update(action="refuse", message=message, refusals=plan["refusals"])
        return answer
    repair = repair_run.acting(plan, settings, scans, started_at, brokers)
    answer.update(
        action="repair", repair=repair, host_groups=[dict(name=h, groups="skip_corrupt_consumers") for h in consumers],
        verify_targets=stuck_repair.verify_targets(found, plan["repairs"]),
        verify_requests=repair_run.verify_requests(repair, brokers), phases=_repair_phases(consumers),
        message=(f"Group {settings['group']} is stuck on {len(found)} partition(s) whose records are intact on "
                 "another replica: repairing instead of skipping, 0 records to lose: "
                 + _shown([f"{name_of(c)} damaged on brokers {c['damaged']}, rebuilt from {c['intact']}"
                           for c in found]) + "."))
    answer["journal_planned"] = dict(journal_entry(answer, started_at), repair_phase="planned",
                                     repair=repair_run.journal_entry(repair), verify_targets=answer["verify_targets"])
    return answer


def _resume_repair(settings: dict, journal: dict, consumers: list[str], brokers: dict[str, int]) -> dict:
    repair = repair_run.resume(journal)
    answer = _answer(settings, action="repair", resumed=True, resumed_phase=journal["repair_phase"], repair=repair,
                     verify_targets=journal.get("verify_targets") or [], phases=_repair_phases(consumers),
                     host_groups=[dict(name=h, groups="skip_corrupt_consumers") for h in consumers],
                     verify_requests=repair_run.verify_requests(repair, brokers))
    answer["message"] = (
        f"Resuming the repair of {journal.get('started_at', 'an earlier run')} for group {settings['group']} after "
        f"phase \"{journal['repair_phase']}\": the original replica lists it kept are restored. Delete "
        f"{settings['state_file']} to start afresh instead.")
    return answer


def name_of(entry: dict) -> str:
    return f"{entry['topic']}-{entry['partition']}"


def _conclude(answer: dict, settings: dict, consumers: list[str], brokers: dict[str, int], targets: list[dict],
              refusals: list[str], undamaged: list[dict], lagging: list[dict], group_active: bool,
              started_at: str) -> dict:
    answer.update(targets=targets, undamaged=undamaged, refusals=list(refusals))
    if refusals:
        answer.update(action="refuse", message="Nothing was changed. " + " | ".join(refusals))
        return answer
    # Naming partitions makes one without damage where the group sits a refusal rather than a note.
    if undamaged and (not targets or settings["partitions"]):
        message = _undamaged_refusal(settings["group"], undamaged, group_active)
        answer.update(action="refuse", message=message, refusals=[message])
        return answer
    if not targets:
        state = "every committed offset is at the log end" if not lagging else "its lagging offsets are moving"
        answer.update(action="nothing", message=(f"Group {settings['group']} is not stuck: {state}. Nothing to do, "
                                                 "nothing was changed."))
        return answer
    answer = _acting(answer, consumers, answer["stop_order"], [], offsets_moved=False,
                     start_together=answer["start_together"])
    entry = journal_entry(answer, started_at)
    # Until the offsets move, a rerun decides afresh: the journal matters before then only to bring back the
    # brokers a full_stop run stopped before the move, so other runs write it first when the offsets are about to
    # move.
    answer["journal_planned"] = entry if answer["stop_brokers_at"] == "before_move" else None
    answer["journal_moving"] = dict(entry, phase="moving_offsets")
    lost = sum(target["records_skipped"] for target in targets)
    answer["message"] = (f"Group {settings['group']} is stuck on {len(targets)} partition(s): "
                         + _shown([f"{t['topic']}-{t['partition']} {t['committed_offset']} -> {t['target_offset']}"
                                   for t in targets])
                         + f"; {lost} record(s) to skip, broker_restart={answer['broker_restart']}.")
    return answer


def journal_entry(answer: dict, started_at: str) -> dict:
    """What the journal keeps of a run that acts: enough for a rerun to resume without deciding again."""
    return dict(
        phase="planned", started_at=started_at, group=answer["group"], broker_restart=answer["broker_restart"],
        offset_storage=answer["offset_storage"], prefer_store=answer["move"].get("prefer_store"),
        stop_order=answer["stop_order"], start_together=answer["start_together"], rolled=[], backup_file=None,
        report=None, refusal=None,
        decision={key: answer[key] for key in ("targets", "stuck", "undamaged", "cluster", "controller_id",
                                               "broker_ids", "explicit")})


# After the offset change --------------------------------------------------------------------------------------

def after_offset_change(answer: dict, result: dict, check_mode: bool = False) -> dict:
    """What the rest of the run does once consumer_offset has run (or refused).

    A refusal or failure stops the consumers' start and the verification, but brokers this run stopped are
    started again, so that a refusal leaves the cluster as available as it was found; the run then fails with
    one message saying what refused, whether any offset changed, and what to do.
    """
    answer = dict(answer)
    if not answer["phases"]["move_offsets"]:
        answer["outcome"] = dict(moved=True, changed=False, message="")
        return answer
    if not result.get("failed"):
        answer["outcome"] = dict(moved=True, changed=bool(result.get("changed")), message="")
        answer["backup_file"] = result.get("backup_file") or answer.get("backup_file")
        answer["journal_update"] = None if check_mode else dict(phase="offsets_moved",
                                                                backup_file=answer["backup_file"])
        return answer
    changed = bool(result.get("changed")) and not check_mode
    members = result.get("members") or []
    if result.get("group_state") not in (None, "inactive", "absent", "Empty", "Dead") and members:
        # Phrased here: the module's own message names module options this playbook does not expose.
        shown = ", ".join(_member(member) for member in members[:5]) + (" ..." if len(members) > 5 else "")
        reason = (f"group {answer['group']} has {len(members)} live consumer(s) again ({shown}), started outside "
                  "this run after its consumers were stopped; they would overwrite the change")
    else:
        reason = str(result.get("msg") or "no reason given").rstrip(".")
    restart = answer["broker_restart"]
    stopped_first = answer.get("stop_brokers_at") == "before_move"
    if stopped_first:
        brokers = (f"The brokers this run stopped ({', '.join(answer['stop_order'])}) are started again, each "
                   "gated on health, before the run ends.")
    elif restart == "rolling":
        brokers = "No broker was restarted."
    else:
        brokers = "The brokers were not touched."
    what_changed = ("Some offsets DID change: see the result and the backup file to restore the exact previous "
                    "state with restore_offsets.yml." if changed else "No offset changed.")
    todo = (f"Find out why, then rerun -e consumer_group={answer['group']}: the rerun reads the cluster afresh. "
            "The group's consumers stay stopped until then.")
    # A full_stop that moves first has stopped nothing yet: it stops nothing now either.
    phases = dict(answer["phases"], roll_brokers=False, start_consumers=False, verify=False, report=False,
                  stop_brokers=answer["phases"]["stop_brokers"] and stopped_first,
                  start_brokers=answer["phases"]["start_brokers"] and stopped_first)
    message = f"The offset change did not happen: {reason}. {what_changed} {brokers} {todo}"
    answer.update(phases=phases, outcome=dict(moved=False, changed=changed, message=message),
                  backup_file=result.get("backup_file") or answer.get("backup_file"))
    # Not a phase a rerun resumes from: it decides afresh, starting first the brokers this run stopped.
    answer["journal_update"] = None if check_mode else dict(phase="refused", refusal=message,
                                                            backup_file=answer["backup_file"])
    return answer


def _member(member: Any) -> str:
    """A legacy consumer id as it is, a Kafka group member by client id and host."""
    if isinstance(member, dict):
        return f"client id {member.get('client_id') or '?'} on {member.get('host') or '?'}"
    return str(member)


def refusal_for_bad_input(error: DecisionInputError, raw_settings: Any) -> dict:
    """The answer to settings or an inventory that cannot be used: refuse before anything is read."""
    group = raw_settings.get("consumer_group") if isinstance(raw_settings, dict) else None
    settings = dict(group=str(group or ""), broker_restart="none")
    message = f"Nothing was changed: {error}."
    return _answer(settings, action="refuse", message=message, refusals=[message])
