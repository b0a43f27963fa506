# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Whether and how damaged replicas are rebuilt from an intact one: pure decisions, no I/O.

A leader serves its bytes without checking them and a follower that must copy a damaged batch stalls, so a
replica is repaired by making an intact replica the leader, removing the damaged replicas (Kafka deletes their
logs) and adding them back (Kafka copies the partition from the intact leader, checking every batch's CRC as
it appends). Every step is a partition reassignment or a preferred leader election through the Admin API.

Notation as in the design notes: R is the original replica list (preferred leader first), D the brokers whose
copy holds damage, I the others in R's order.
"""

from __future__ import annotations

from typing import Any, Optional

Key = tuple[str, int]

# Journal phases of a repair, in order; a rerun resumes after the last one reached.
PHASES = ("planned", "evidence", "leader_moved", "removed", "readded", "elected", "verified", "complete")
# Steps of the rebuild, each with the journal phase it reaches.
STEPS = (("evidence", "evidence"), ("move_leader", "leader_moved"), ("remove", "removed"), ("readd", "readded"),
         ("restore_leader", "elected"), ("verify", "verified"))
REMEDIES = ("auto", "repair", "skip")
DEFAULT_MAX_REBUILD_BYTES = 10 * 1024 ** 3
# Bytes of each damaged entry kept as evidence: a v2 batch is at most message.max.bytes (1 MiB by default).
DEFAULT_CAPTURE_BYTES = 1024 * 1024


class RepairInputError(ValueError):
    """A repair setting that cannot be used, phrased for the user."""


def key_of(entry: dict) -> Key:
    return str(entry["topic"]), int(entry["partition"])


def name_of(key: Key) -> str:
    return f"{key[0]}-{key[1]}"


def read_settings(raw: dict) -> dict:
    """The repair's settings, checked; raises RepairInputError naming the first bad one."""
    remedy = raw.get("remedy") or "auto"
    if remedy not in REMEDIES:
        raise RepairInputError(f"remedy must be auto, repair or skip, got {remedy!r}")
    settings = dict(remedy=remedy)
    for name, default in (("max_rebuild_bytes", DEFAULT_MAX_REBUILD_BYTES), ("capture_bytes", DEFAULT_CAPTURE_BYTES)):
        value = raw.get(name)
        try:
            settings[name] = int(default if value in (None, "") else value)
        except (TypeError, ValueError):
            raise RepairInputError(f"{name} must be a number of bytes, got {value!r}") from None
        if settings[name] < 0:
            raise RepairInputError(f"{name} must not be negative, got {value!r}")
    for name in ("allow_under_min_isr", "allow_unclean_election_enabled"):
        value = raw.get(name, False)
        if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "false", "no", "0", ""):
            value = value.strip().lower() in ("true", "yes", "1")
        if not isinstance(value, bool):
            raise RepairInputError(f"{name} must be true or false, got {value!r}")
        settings[name] = value
    for name, default in (("rebuild_timeout", 1800.0), ("stall_timeout", 120.0)):
        value = raw.get(name)
        try:
            settings[name] = float(default if value in (None, "") else value)
        except (TypeError, ValueError):
            raise RepairInputError(f"{name} must be a number of seconds, got {value!r}") from None
        if settings[name] <= 0:
            raise RepairInputError(f"{name} must be more than 0 seconds, got {value!r}")
    value = raw.get("throttle")
    try:
        settings["throttle"] = int(0 if value in (None, "") else value)
    except (TypeError, ValueError):
        raise RepairInputError(f"throttle must be bytes per second (0 for none), got {value!r}") from None
    if settings["throttle"] < 0:
        raise RepairInputError(f"throttle must not be negative, got {value!r}")
    return settings


# What the scans say -------------------------------------------------------------------------------------------

def scan_results(scans: Any) -> list[dict]:
    """Every corrupt_record_info result in ``scans``: per-host registered loop results, or results as they are."""
    flat: list[dict] = []
    for item in scans or []:
        if isinstance(item, dict) and isinstance(item.get("results"), list):
            flat.extend(result for result in item["results"] if isinstance(result, dict))
        elif isinstance(item, dict):
            flat.append(item)
        elif isinstance(item, list):
            flat.extend(scan_results(item))
    return flat


def _gather(scans: Any) -> tuple[dict[Key, set[int]], dict[Key, list[dict]], dict[Key, list[dict]]]:
    """({partition: brokers scanned}, {partition: damaged entries}, {partition: digests}) from the scans."""
    scanned: dict[Key, set[int]] = {}
    damaged: dict[Key, list[dict]] = {}
    digests: dict[Key, list[dict]] = {}
    for result in scan_results(scans):
        for summary in result.get("partitions") or []:
            if summary.get("broker_id") is not None:
                scanned.setdefault(key_of(summary), set()).add(int(summary["broker_id"]))
        for record in result.get("corrupt_records") or []:
            damaged.setdefault(key_of(record), []).append(record)
        for digest in result.get("digests") or []:
            digests.setdefault(key_of(digest), []).append(digest)
    return scanned, damaged, digests


def _spans(records: list[dict]) -> list[dict]:
    """The damage map of one partition: each damaged span once, with the brokers whose copy holds it."""
    spans: dict[tuple, dict] = {}
    for record in records:
        if record.get("broker_id") is None:
            continue
        span = (record.get("first_offset"), record.get("last_offset"))
        entry = spans.setdefault(span, dict(first_offset=span[0], last_offset=span[1],
                                            next_valid_offset=record.get("next_valid_offset"), brokers=[]))
        if int(record["broker_id"]) not in entry["brokers"]:
            entry["brokers"].append(int(record["broker_id"]))
    for entry in spans.values():
        entry["brokers"].sort()
    return sorted(spans.values(), key=lambda s: (s["first_offset"] is None, s["first_offset"] or 0))


def damage_map_phrase(spans: list[dict]) -> str:
    """'offsets 20-29 on brokers [1, 3]; offsets 40-49 on brokers [2]'."""
    def offsets(span: dict) -> str:
        first, last = span["first_offset"], span["last_offset"]
        if first is None:
            return "a span without offsets"
        return f"offset {first}" if last in (None, first) else f"offsets {first}-{last}"
    return "; ".join(f"{offsets(span)} on brokers {span['brokers']}" for span in spans)


# The plan -----------------------------------------------------------------------------------------------------

def _info_refusals(key: Key, info: Optional[dict], intact: list[int], spans: list[dict], digests: list[dict],
                   settings: dict) -> list[str]:
    name = name_of(key)
    if info is None:
        return [f"partition {name}: the brokers do not know it (deleted while the run read it?): rerun"]
    refusals = []
    if info.get("reassignment"):
        refusals.append(f"partition {name}: a reassignment is already running ({info['reassignment']}): let it "
                        "finish or cancel it (kafka-reassign-partitions --cancel), then rerun")
    isr = [int(b) for b in info.get("isr") or []]
    out_of_sync = [b for b in intact if b not in isr]
    if out_of_sync:
        refusals.append(f"partition {name}: intact replica(s) on brokers {out_of_sync} are not in the ISR {isr}: "
                        "a rebuild needs an in-sync intact copy; wait until they catch up, then rerun")
    configs = info.get("configs") or {}
    min_isr = int(configs.get("min_insync_replicas") or 1)
    if len(intact) < min_isr and not settings["allow_under_min_isr"]:
        refusals.append(f"partition {name}: only {len(intact)} intact replica(s) ({intact}) but "
                        f"min.insync.replicas={min_isr}: producers with acks=all would fail while the damaged "
                        "replicas are rebuilt; rerun with -e allow_under_min_isr=true to accept that window")
    if configs.get("unclean_leader_election") and not settings["allow_unclean_election_enabled"]:
        refusals.append(f"partition {name}: unclean.leader.election.enable is true for topic {key[0]}: a replica "
                        "still being rebuilt could be elected and wipe the partition; turn it off for the topic, or "
                        "rerun with -e allow_unclean_election_enabled=true")
    if configs.get("remote_storage"):
        refusals.append(f"partition {name}: topic {key[0]} uses tiered storage, which a rebuild by reassignment "
                        "does not cover: repair it by hand")
    size = int(info.get("size_bytes") or 0)
    if size > settings["max_rebuild_bytes"]:
        refusals.append(f"partition {name}: {size} bytes to copy, more than max_rebuild_bytes="
                        f"{settings['max_rebuild_bytes']}: raise the limit if the brokers can take the copy")
    if "compact" in str(configs.get("cleanup_policy") or ""):
        mismatch = _compacted_mismatch(spans, digests, intact)
        if mismatch:
            refusals.append(f"partition {name}: topic {key[0]} is compacted and its replicas' bytes differ "
                            f"({mismatch}): each replica's cleaner rewrites batches on its own, so the intact copy "
                            "cannot be proven to hold the damaged records; skip them instead (-e remedy=skip)")
    return refusals


def _compacted_mismatch(spans: list[dict], digests: list[dict], intact: list[int]) -> str:
    """Why the intact replicas do not prove to hold each damaged span byte for byte ('' when they do)."""
    for span in spans:
        first = span["first_offset"]
        if first is None:
            return "a damaged span without offsets"
        seen = [d for d in digests if d.get("offset") == first and _broker(d) in intact]
        if len(seen) < len(intact):
            return f"no digest of offset {first} on every intact replica"
        shapes = {(d.get("sha256"), d.get("base_offset"), d.get("last_offset")) for d in seen}
        if len(shapes) > 1:
            return f"offset {first} is held by different batches on brokers {intact}"
        sha, base, last = shapes.pop()
        if sha is None or base != first or (span["last_offset"] is not None and last != span["last_offset"]):
            return f"the intact batch at offset {first} spans {base}-{last}, the damage {first}-{span['last_offset']}"
    return ""


def _broker(entry: dict) -> int:
    return -1 if entry.get("broker_id") is None else int(entry["broker_id"])


def _intact_digests(spans: list[dict], digests: list[dict], intact: list[int]) -> list[dict]:
    shown = []
    for span in spans:
        for digest in digests:
            if digest.get("offset") == span["first_offset"] and _broker(digest) in intact:
                shown.append(dict(offset=digest["offset"], broker_id=int(digest["broker_id"]),
                                  base_offset=digest.get("base_offset"), last_offset=digest.get("last_offset"),
                                  sha256=digest.get("sha256"), valid=digest.get("valid")))
    return shown


def plan_partition(key: Key, replicas: list[int], leader: Any, scanned: set[int], records: list[dict],
                   digests: list[dict], info: Optional[dict], settings: dict) -> tuple[str, Any]:
    """('repair', plan) | ('refusal', sentence) | ('clean', key) for one partition."""
    name = name_of(key)
    missing = [b for b in replicas if b not in scanned]
    if missing:
        return "refusal", (f"partition {name}: the replicas on brokers {missing} were not scanned (host down or not "
                           "in the inventory): every replica must be read before one is rebuilt")
    spans = _spans(records)
    damaged = sorted({b for span in spans for b in span["brokers"]})
    if not damaged:
        return "clean", key
    intact = [b for b in replicas if b not in damaged]
    if not intact:
        differ = len(spans) > 1
        return "refusal", (f"partition {name}: no replica is intact ({damage_map_phrase(spans)})"
                           + (": different batches are damaged on different replicas, so a rebuild from any of them "
                              "would stall on the others' damage; the records of each batch survive somewhere, but "
                              "saving them needs a byte patch by hand" if differ else
                              ": the records cannot be saved from a replica; skip them (-e remedy=skip or auto)"))
    refusals = _info_refusals(key, info, intact, spans, digests, settings)
    if refusals:
        if len(spans) > 1:
            refusals.append(f"partition {name}: damage map {damage_map_phrase(spans)}")
        return "refusal", " | ".join(refusals)
    leader = int(leader) if leader is not None else None
    plan = dict(
        topic=key[0], partition=key[1], replicas=list(replicas), damaged=damaged, intact=intact, leader=leader,
        damage=spans, intact_digests=_intact_digests(spans, digests, intact),
        size_bytes=int((info or {}).get("size_bytes") or 0),
        min_insync_replicas=int(((info or {}).get("configs") or {}).get("min_insync_replicas") or 1),
        move_leader=leader is None or leader in damaged,
        reorder=intact + damaged, remove=intact, readd=list(replicas),
        restore_leader=replicas[0] in damaged,
        records_lost=0)
    return "repair", plan


def plan_repairs(partitions: list[dict], scans: Any, infos: list[dict], settings: dict,
                 digest_scans: Any = None) -> dict:
    """The repair of ``partitions`` ([{topic, partition, replicas, leader}]) from every replica's full scan
    (``scans``: corrupt_record_info results from the log start, with digests of the damaged offsets) and
    partition_info's ``infos``.

    ``digest_scans``: where the digests are, when not in ``scans``.
    Returns {repairs: [plan], refusals: [sentence], clean: [partition name], steps: {...}} where steps holds the
    Admin API calls of each rebuild step for every repaired partition at once.
    """
    scanned, damaged, digests = _gather(scans)
    if digest_scans is not None:
        digests = _gather(digest_scans)[2]
    by_key = {key_of(info): info for info in infos or []}
    repairs, refusals, clean = [], [], []
    for entry in partitions:
        key = key_of(entry)
        info = by_key.get(key)
        replicas = [int(b) for b in (entry.get("replicas") or (info or {}).get("replicas") or [])]
        leader = entry.get("leader", (info or {}).get("leader"))
        kind, value = plan_partition(key, replicas, leader, scanned.get(key, set()), damaged.get(key, []),
                                     digests.get(key, []), info, settings)
        if kind == "repair":
            repairs.append(value)
        elif kind == "refusal":
            refusals.append(value)
        else:
            clean.append(name_of(key))
    return dict(repairs=repairs, refusals=refusals, clean=clean, steps=steps_of(repairs))


def steps_of(repairs: list[dict]) -> dict:
    """The arguments of each step's module call, for every repaired partition at once."""
    def tp(plan: dict, **extra: Any) -> dict:
        return dict(topic=plan["topic"], partition=plan["partition"], **extra)
    return dict(
        reorder=[tp(p, replicas=p["reorder"]) for p in repairs if p["move_leader"]],
        elect_intact=[tp(p) for p in repairs if p["move_leader"]],
        remove=[tp(p, replicas=p["remove"]) for p in repairs],
        readd=[tp(p, replicas=p["readd"]) for p in repairs],
        restore_leader=[tp(p) for p in repairs if p["restore_leader"]],
        verify_offsets={name_of(key_of(p)): [s["first_offset"] for s in p["damage"] if s["first_offset"] is not None]
                        for p in repairs})


def scan_requests(partitions: list[dict], brokers: dict[str, int], start_offsets: Optional[dict] = None,
                  digest_offsets: Optional[dict] = None, capture_bytes: int = 0,
                  mode: str = "all") -> dict[str, list[dict]]:
    """{host: [corrupt_record_info arguments per topic]} reading every replica of ``partitions`` to its end
    (mode all), from the log start unless ``start_offsets`` says otherwise; mode at_start reads only the entry
    at the start offset (the digests are read wherever they are).

    ``start_offsets`` and ``digest_offsets`` map a partition name (topic-partition) to an offset and to offsets.
    """
    requests: dict[str, list[dict]] = {}
    for host, broker in brokers.items():
        per_topic: dict[str, dict] = {}
        for entry in partitions:
            key = key_of(entry)
            if broker not in [int(b) for b in entry.get("replicas") or []]:
                continue
            request = per_topic.setdefault(key[0], dict(topic=key[0], partitions=[], start_offsets={},
                                                        digest_offsets={}, capture_bytes=capture_bytes,
                                                        mode=mode))
            request["partitions"].append(key[1])
            start = (start_offsets or {}).get(name_of(key))
            if start is not None:
                request["start_offsets"][str(key[1])] = int(start)
            offsets = (digest_offsets or {}).get(name_of(key))
            if offsets:
                request["digest_offsets"][str(key[1])] = sorted({int(o) for o in offsets})
        if per_topic:
            requests[host] = [per_topic[topic] for topic in sorted(per_topic)]
    return requests


# Running, resuming and verifying ------------------------------------------------------------------------------

def steps_to_run(phase: Optional[str], steps: Optional[dict] = None) -> dict[str, bool]:
    """Which rebuild steps still run after journal ``phase``: each whose phase was not reached and, given the
    ``steps`` of steps_of, that has a partition to act on."""
    reached = PHASES.index(phase) if phase in PHASES else 0
    work = dict(move_leader="reorder", remove="remove", readd="readd", restore_leader="restore_leader")
    return {step: PHASES.index(done) > reached and (steps is None or step not in work or bool(steps[work[step]]))
            for step, done in STEPS}


def evidence_files(repairs: list[dict], scans: Any, report_dir: str, stamp: str) -> list[dict]:
    """One JSON evidence file per repaired partition: every damaged copy's bytes (base64, as captured), segment
    and position, and the intact copies' SHA-256 of the same offsets. Kept before Kafka deletes the damaged
    copies."""
    damaged = _gather(scans)[1]
    files = []
    for plan in repairs:
        key = key_of(plan)
        copies = [dict(broker_id=r.get("broker_id"), segment=r.get("segment"), position=r.get("position"),
                       length=r.get("length"), first_offset=r.get("first_offset"), last_offset=r.get("last_offset"),
                       reason=r.get("reason"), stored_crc=r.get("stored_crc"), computed_crc=r.get("computed_crc"),
                       sha256=r.get("sha256"), captured_base64=r.get("captured"))
                  for r in damaged.get(key, [])]
        files.append(dict(
            path=f"{report_dir.rstrip('/')}/repair-evidence-{name_of(key)}-{stamp}.json",
            content=dict(topic=key[0], partition=key[1], replicas=plan["replicas"], damaged=plan["damaged"],
                         intact=plan["intact"], damage=plan["damage"], damaged_copies=copies,
                         intact_digests=plan["intact_digests"])))
    return files


def verify(repairs: list[dict], scans: Any, infos: list[dict]) -> dict:
    """After the rebuild: replicas, ISR and leader as before, every replica clean from the once damaged offsets,
    and the damaged offsets' batch identical on every replica. {ok, message, failures, partitions}."""
    scanned, damaged, digests = _gather(scans)
    by_key = {key_of(info): info for info in infos or []}
    failures, partitions = [], []
    for plan in repairs:
        key = key_of(plan)
        name = name_of(key)
        info = by_key.get(key) or {}
        replicas = [int(b) for b in info.get("replicas") or []]
        isr = sorted(int(b) for b in info.get("isr") or [])
        problems = []
        if replicas != plan["replicas"]:
            problems.append(f"replicas {replicas}, not {plan['replicas']}")
        if isr != sorted(plan["replicas"]):
            problems.append(f"ISR {isr}, not {sorted(plan['replicas'])}")
        if info.get("leader") != plan["replicas"][0]:
            problems.append(f"leader {info.get('leader')}, not the preferred {plan['replicas'][0]}")
        if info.get("reassignment"):
            problems.append("a reassignment still running")
        unscanned = [b for b in plan["replicas"] if b not in scanned.get(key, set())]
        if unscanned:
            problems.append(f"replicas on brokers {unscanned} not re-scanned")
        still = _spans(damaged.get(key, []))
        if still:
            problems.append(f"still damaged: {damage_map_phrase(still)}")
        for span in plan["damage"]:
            here = [d for d in digests.get(key, [])
                    if d.get("offset") == span["first_offset"] and d.get("broker_id") is not None]
            seen = {int(d["broker_id"]): d.get("sha256") for d in here}
            unreadable = sorted(int(d["broker_id"]) for d in here if d.get("valid") is False)
            if unreadable:
                problems.append(f"the batch at offset {span['first_offset']} is still damaged on brokers "
                                f"{unreadable}")
            if len(set(seen.values())) != 1 or None in seen.values() or sorted(seen) != sorted(plan["replicas"]):
                problems.append(f"the batch at offset {span['first_offset']} is not identical on every replica "
                                f"({seen})")
        partitions.append(dict(topic=key[0], partition=key[1], replicas=replicas, isr=isr, leader=info.get("leader"),
                               verified=not problems, problems=problems))
        if problems:
            failures.append(f"partition {name}: " + "; ".join(problems))
    if failures:
        message = "The repair is not verified: " + " | ".join(failures) + "."
    else:
        message = (f"Repaired {len(repairs)} partition(s), 0 records lost: every replica reads cleanly and holds "
                   "the same bytes where the damage was.")
    return dict(ok=not failures, message=message, failures=failures, partitions=partitions)
