# -*- coding: utf-8 -*-
# Copyright: contributors to kafka_ops.remediation
# Apache License 2.0 (see LICENSE)
"""Filters that turn what the preflight read into a decision: which partitions are stuck, and where each
may be skipped to.

They are pure functions of module results so that the whole decision is unit-tested, and the playbook
only gathers data and acts on the answer.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError


def _key(entry: dict) -> tuple[str, int]:
    return str(entry["topic"]), int(entry["partition"])


def _name(key: tuple[str, int]) -> str:
    return f"{key[0]}-{key[1]}"


def stuck_partitions(first_sample: Any, second_sample: Any) -> list[dict]:
    """Partitions whose committed offset is below the log end in both samples and did not move between them.

    Each sample is the ``offsets`` list of one consumer_offset_info call; the second may come without log
    offsets (log_offsets=false), then the first sample's log end offsets are used.
    """
    if not isinstance(first_sample, list) or not isinstance(second_sample, list):
        raise AnsibleFilterError("stuck_partitions expects two 'offsets' lists from consumer_offset_info")
    earlier = {_key(entry): entry for entry in first_sample}
    stuck = []
    for entry in second_sample:
        before = earlier.get(_key(entry))
        if before is None or entry.get("offset") is None or before.get("offset") is None:
            continue
        # The second read may skip the brokers' log ends: an offset that was behind and did not move still is.
        log_end = entry.get("log_end_offset")
        log_end = before.get("log_end_offset") if log_end is None else log_end
        if log_end is None:
            continue
        if int(entry["offset"]) < int(log_end) and int(before["offset"]) == int(entry["offset"]):
            stuck.append({**before, **{k: v for k, v in entry.items() if v is not None}})
    return sorted(stuck, key=_key)


def lagging_partitions(offsets: Any) -> list[dict]:
    """Partitions whose committed offset is below the log end in one read: the only ones a group can be stuck on."""
    if not isinstance(offsets, list):
        raise AnsibleFilterError("lagging_partitions expects the 'offsets' list of consumer_offset_info")
    lagging = [entry for entry in offsets
               if entry.get("offset") is not None and entry.get("log_end_offset") is not None
               and int(entry["offset"]) < int(entry["log_end_offset"])]
    return sorted(lagging, key=_key)


def held_partitions(lagging: Any, scanned_partitions: Any, cluster_partitions: Any) -> list[dict]:
    """Lagging partitions whose committed offset lies in damage on the replica of the current leader.

    A consumer fetches from the leader, so it cannot get past that offset: the partition is stuck, and
    watching its offset for a while would only confirm it.
    """
    if not isinstance(lagging, list) or not isinstance(scanned_partitions, list) or not isinstance(cluster_partitions, list):
        raise AnsibleFilterError("held_partitions expects the lagging partitions, the scanned partitions and "
                                 "cluster_info's partitions")
    leaders = {_key(entry): entry.get("leader") for entry in cluster_partitions}
    scans = {(_key(scan), int(scan["broker_id"])): scan for scan in scanned_partitions if scan.get("broker_id") is not None}
    held = []
    for entry in lagging:
        leader = leaders.get(_key(entry))
        scan = scans.get((_key(entry), int(leader))) if leader is not None else None
        if scan is not None and _damage_at(scan, int(entry["offset"])):
            held.append(entry)
    return held


def partitions_in(entries: Any, chosen: Any) -> list[dict]:
    """The entries whose topic and partition appear in ``chosen``, in input order, each once."""
    if not isinstance(entries, list) or not isinstance(chosen, list):
        raise AnsibleFilterError("partitions_in expects two lists of entries with topic and partition")
    keys = {_key(entry) for entry in chosen}
    return [entry for entry in entries if _key(entry) in keys]


def scan_requests(stuck: Any, cluster_partitions: Any, broker_id: Any) -> list[dict]:
    """What one broker must scan: per topic, the stuck partitions it holds a replica of, each from its
    committed offset (arguments for one corrupt_record_info call per topic)."""
    if not isinstance(stuck, list) or not isinstance(cluster_partitions, list):
        raise AnsibleFilterError("scan_requests expects the stuck partitions and cluster_info's partitions")
    held = {_key(entry) for entry in cluster_partitions if int(broker_id) in [int(r) for r in entry.get("replicas") or []]}
    requests: dict[str, dict] = {}
    for entry in stuck:
        key = _key(entry)
        if key not in held:
            continue
        request = requests.setdefault(key[0], {"topic": key[0], "partitions": [], "start_offsets": {}})
        request["partitions"].append(key[1])
        request["start_offsets"][str(key[1])] = int(entry["offset"])
    return [requests[topic] for topic in sorted(requests)]


def _damage_at(record_or_partition: dict, committed: int) -> bool:
    first_damaged = record_or_partition.get("first_damaged_offset")
    next_valid = record_or_partition.get("next_valid_offset")
    if first_damaged is None:
        return False
    # The damage holds the consumer when it starts at or before the committed offset and readable data
    # resumes after it (or never, which the caller refuses separately).
    return int(first_damaged) <= committed and (next_valid is None or int(next_valid) > committed)


def _record_holds(record: dict, committed: int, damaged_brokers: dict) -> bool:
    """Whether a corrupt_records entry is the damage a damaged replica holds the consumer on."""
    if record.get("broker_id") is None or int(record["broker_id"]) not in damaged_brokers:
        return False
    first = record.get("first_offset")
    next_valid = record.get("next_valid_offset")
    starts_before = first is None or int(first) <= committed
    return starts_before and (next_valid is None or int(next_valid) > committed)


def skip_plan(
    stuck: Any,
    scanned_partitions: Any,
    corrupt_records: Any = None,
    replicas: Any = None,
    max_skipped_records: int = 10000,
    allow_intact_replica: bool = False,
) -> dict:
    """Decide each stuck partition's skip target from the scans of every replica.

    ``stuck``: entries of ``stuck_partitions`` ({topic, partition, offset, log_end_offset, ...}).
    ``scanned_partitions``: the ``partitions`` entries of corrupt_record_info from every broker.
    ``corrupt_records``: the ``corrupt_records`` entries from every broker (details for the report).
    ``replicas``: cluster_info ``partitions`` (to notice a replica that was not scanned).
    Returns ``targets`` (what to skip), ``refusals`` (one sentence each; any refusal stops the run) and
    ``undamaged`` (stuck partitions with no damage where the consumer sits).
    """
    if not isinstance(stuck, list) or not isinstance(scanned_partitions, list):
        raise AnsibleFilterError("skip_plan expects the stuck partitions list and the scanned partitions list")
    scans: dict[tuple[str, int], dict[int, dict]] = {}
    for scan in scanned_partitions:
        scans.setdefault(_key(scan), {})[int(scan["broker_id"])] = scan
    records: dict[tuple[str, int], list[dict]] = {}
    for record in corrupt_records or []:
        records.setdefault(_key(record), []).append(record)
    assigned = {_key(entry): [int(r) for r in entry.get("replicas") or []] for entry in replicas or []}

    targets, refusals, undamaged = [], [], []
    for entry in stuck:
        key = _key(entry)
        committed = int(entry["offset"])
        by_broker = scans.get(key, {})
        missing = sorted(set(assigned.get(key, [])) - set(by_broker))
        damaged = {broker: scan for broker, scan in by_broker.items() if _damage_at(scan, committed)}
        intact = sorted(broker for broker in by_broker if broker not in damaged)
        if not damaged:
            undamaged.append({"topic": key[0], "partition": key[1], "offset": committed, "scanned_brokers": sorted(by_broker)})
            continue
        next_valid = {scan.get("next_valid_offset") for scan in damaged.values()}
        if missing:
            refusals.append(
                f"partition {_name(key)}: the replicas on brokers {missing} were not scanned (host down or not in "
                "the inventory): scan every replica before deciding, or pass explicit offsets"
            )
            continue
        if intact and not allow_intact_replica:
            refusals.append(
                f"partition {_name(key)}: offset {committed} is damaged on brokers {sorted(damaged)} but intact on "
                f"brokers {intact}: the records can be saved by making an intact replica the leader; to skip them "
                "anyway rerun with allow_intact_replica=true"
            )
            continue
        if None in next_valid:
            refusals.append(
                f"partition {_name(key)}: no readable offset after the damage at {committed} on brokers "
                f"{sorted(damaged)}: nothing to skip to until new records arrive; pass an explicit offset"
            )
            continue
        if len(next_valid) > 1:
            resumes = ", ".join(f"broker {broker}: {scan['next_valid_offset']}" for broker, scan in sorted(damaged.items()))
            refusals.append(
                f"partition {_name(key)}: replicas disagree on where readable data resumes ({resumes}): "
                "decide and pass explicit offsets"
            )
            continue
        target = int(next_valid.pop())
        skipped = target - committed
        if skipped > int(max_skipped_records):
            refusals.append(
                f"partition {_name(key)}: skipping from {committed} to {target} would pass {skipped} records, more "
                f"than max_skipped_records={int(max_skipped_records)}: check the damage, then raise the limit"
            )
            continue
        damage = [record for record in records.get(key, []) if _record_holds(record, committed, damaged)]
        targets.append(
            {
                "topic": key[0],
                "partition": key[1],
                "offset": committed,
                "target": target,
                "records_skipped": skipped,
                "log_end_offset": entry.get("log_end_offset"),
                "damaged_brokers": sorted(damaged),
                "intact_brokers": intact,
                "damage": damage,
            }
        )
    return {"targets": targets, "refusals": refusals, "undamaged": undamaged}


def explicit_skip_plan(requested: Any, current: Any, max_skipped_records: int = 10000) -> dict:
    """Targets the user gave explicitly: no detection, only the range and size checks.

    ``requested``: list of {topic, partition, offset}. ``current``: the group's ``offsets`` from
    consumer_offset_info (committed offset and log range of each partition).
    """
    if not isinstance(requested, list) or not isinstance(current, list):
        raise AnsibleFilterError("explicit_skip_plan expects the requested offsets and the group's offsets lists")
    known = {_key(entry): entry for entry in current}
    targets, refusals = [], []
    for wanted in requested:
        key = _key(wanted)
        target = int(wanted["offset"])
        entry = known.get(key)
        if entry is None or entry.get("offset") is None:
            refusals.append(f"partition {_name(key)}: the group has no committed offset there: check topic and partition")
            continue
        committed = int(entry["offset"])
        low, high = entry.get("log_start_offset"), entry.get("log_end_offset")
        if low is not None and high is not None and not int(low) <= target <= int(high):
            refusals.append(f"partition {_name(key)}: offset {target} is outside the log [{low}, {high}]: pick one inside it")
            continue
        skipped = target - committed
        if skipped > int(max_skipped_records):
            refusals.append(
                f"partition {_name(key)}: moving from {committed} to {target} would pass {skipped} records, more than "
                f"max_skipped_records={int(max_skipped_records)}: raise the limit if this is intended"
            )
            continue
        targets.append({"topic": key[0], "partition": key[1], "offset": committed, "target": target,
                        "records_skipped": max(skipped, 0), "log_end_offset": high, "damaged_brokers": [],
                        "intact_brokers": [], "damage": [], "explicit": True})
    return {"targets": targets, "refusals": refusals, "undamaged": []}


def _flowing(entry: dict, target: dict) -> bool:
    """Past the target, or at the log end when nothing newer than the target has been written."""
    offset = entry.get("offset")
    if offset is None:
        return False
    log_end = entry.get("log_end_offset")
    return int(offset) > int(target["target"]) or (log_end is not None and int(offset) >= int(log_end) >= int(target["target"]))


def past_targets(current_offsets: Any, targets: Any) -> list[dict]:
    """Skipped partitions whose committed offset has moved past the target: the group flows again."""
    if not isinstance(targets, list) or not isinstance(current_offsets, list):
        raise AnsibleFilterError("past_targets expects consumer_offset_info's offsets and the targets")
    now = {_key(entry): entry for entry in current_offsets}
    return [
        {"topic": target["topic"], "partition": target["partition"], "target": target["target"], "offset": now[_key(target)]["offset"]}
        for target in targets
        if _key(target) in now and _flowing(now[_key(target)], target)
    ]


def not_past_targets(current_offsets: Any, targets: Any) -> list[dict]:
    """Skipped partitions that are not flowing yet."""
    done = {_key(entry) for entry in past_targets(current_offsets, targets)}
    return [target for target in targets if _key(target) not in done]


class FilterModule:
    """Preflight decisions of skip_corrupt.yml."""

    def filters(self) -> dict:
        return {
            "stuck_partitions": stuck_partitions,
            "lagging_partitions": lagging_partitions,
            "held_partitions": held_partitions,
            "partitions_in": partitions_in,
            "scan_requests": scan_requests,
            "skip_plan": skip_plan,
            "explicit_skip_plan": explicit_skip_plan,
            "past_targets": past_targets,
            "not_past_targets": not_past_targets,
        }
