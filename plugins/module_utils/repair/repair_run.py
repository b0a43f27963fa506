# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One repair run: what the replica_repair role acts on, for skip_corrupt.yml and repair_replicas.yml alike.

``repair_replicas.yml`` decides here from its scans (``decide``); ``skip_corrupt.yml`` decides in triage.py,
which calls ``acting`` once it has chosen to repair. Both write the same journal entry, so a rerun of either
resumes an interrupted rebuild from the phase it reached (``resume``), re-adding the original replica lists the
journal keeps: the cluster's metadata shows only the intact replicas by then.
"""

from __future__ import annotations

from typing import Any, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.repair import repair_plan
from ansible_collections.kafka_ops.remediation.plugins.module_utils.repair.repair_plan import (
    PHASES, RepairInputError, key_of, name_of)

# Journal phases from which a rerun resumes the rebuild instead of deciding again: the damaged copies may be
# gone, so the scans can no longer tell which replicas were damaged.
RESUMED_PHASES = PHASES[1:-1]


def acting(plan: dict, settings: dict, scans: Any, started_at: str, brokers: dict[str, int]) -> dict:
    """The repair part of a run state that acts on ``plan`` (repair_plan.plan_repairs' answer); ``brokers``:
    {host: broker id} of the inventory."""
    stamp = _stamp(started_at)
    files = repair_plan.evidence_files(plan["repairs"], scans, settings["report_dir"], stamp)
    return dict(
        repairs=plan["repairs"], steps=plan["steps"],
        partitions=[dict(topic=p["topic"], partition=p["partition"]) for p in plan["repairs"]],
        run=repair_plan.steps_to_run("planned", plan["steps"]),
        phase="planned", evidence=[dict(path=f["path"], json=f["content"]) for f in files],
        evidence_paths=[f["path"] for f in files], clean=plan.get("clean") or [],
        # Where a stalled copy is explained: the re-added brokers log the batches they refuse.
        rebuild_hosts=[host for host, broker in brokers.items()
                       if any(broker in p["damaged"] for p in plan["repairs"])],
        verify_requests={}, timeouts=dict(rebuild=settings["rebuild_timeout"], stall=settings["stall_timeout"]),
        throttle=settings.get("throttle", 0),
        records_lost=0)


def resume(journal: dict) -> dict:
    """The repair part of a rerun after journal phase ``journal['repair_phase']``: the plan the journal kept."""
    kept = journal.get("repair") or {}
    phase = journal.get("repair_phase") or "planned"
    # The evidence's bytes are not journalled: after phase "evidence" they are in the files already.
    return {"throttle": 0, **kept, "run": repair_plan.steps_to_run(phase, kept.get("steps")), "phase": phase,
            "evidence": []}


def journal_entry(repair: dict) -> dict:
    """What the journal keeps of a repair: the plan and the original replica lists; not the evidence's bytes."""
    kept = ("repairs", "steps", "partitions", "evidence_paths", "rebuild_hosts", "clean", "timeouts", "throttle",
            "records_lost")
    return {name: repair[name] for name in kept if name in repair}


def verify_requests(repair: dict, brokers: dict[str, int]) -> dict[str, list[dict]]:
    """{host: corrupt_record_info arguments} re-reading, on every replica, the entry at the first once damaged
    offset and the digest (with its CRC check) of every once damaged entry: the damaged range, not the log."""
    partitions = [dict(topic=p["topic"], partition=p["partition"], replicas=p["replicas"])
                  for p in repair["repairs"]]
    starts, offsets = {}, {}
    for plan in repair["repairs"]:
        firsts = [span["first_offset"] for span in plan["damage"] if span["first_offset"] is not None]
        if firsts:
            starts[name_of(key_of(plan))] = min(firsts)
            offsets[name_of(key_of(plan))] = firsts
    return repair_plan.scan_requests(partitions, brokers, start_offsets=starts, digest_offsets=offsets,
                                     mode="at_start")


def _stamp(started_at: str) -> str:
    """20261201T181500Z from an ISO time; 'run' when the time is unknown."""
    digits = "".join(ch for ch in (started_at or "")[:19] if ch.isdigit())
    return f"{digits[:8]}T{digits[8:14]}Z" if len(digits) >= 14 else "run"


# repair_replicas.yml ------------------------------------------------------------------------------------------

def _brokers(inventory: dict) -> dict[str, int]:
    names, ids = inventory.get("broker_hosts") or [], inventory.get("broker_ids") or []
    if len(names) != len(ids) or not names:
        raise RepairInputError("the inventory's kafka_brokers hosts each need broker_service_id (their broker.id)")
    try:
        return {str(host): int(broker) for host, broker in zip(names, ids)}
    except (TypeError, ValueError):
        raise RepairInputError("every kafka_brokers host needs broker_service_id (its broker.id) in the "
                               "inventory") from None


def _partitions_filter(raw: Any) -> list[int]:
    if raw in (None, "", []):
        return []
    values = raw.split(",") if isinstance(raw, str) else raw if isinstance(raw, list) else [raw]
    try:
        return sorted({int(str(v).strip()) for v in values if str(v).strip()})
    except ValueError:
        raise RepairInputError(f"partitions must be partition numbers, got {raw!r}") from None


def _answer(**fields: Any) -> dict:
    answer = dict(need=None, action=None, message="", scan_requests={}, info_partitions=[], repair=None,
                  refusals=[], journal_planned=None, resumed=False, verify_requests={}, settings={})
    answer.update(fields)
    return answer


def decide(raw: dict, inventory: dict, journal: Optional[dict] = None, infos: Optional[list] = None,
           found: Any = None, evidence: Any = None, started_at: str = "") -> dict:
    """repair_replicas.yml's decision from what it gathered so far.

    ``raw``: the playbook's variables (topic, partitions, remedy settings, report_dir); ``inventory``:
    {broker_hosts, broker_ids}; ``infos``: partition_info's partitions of the topic; ``found``: every broker's
    scan of the topic from the log start; ``evidence``: every broker's scan of the damaged partitions with
    the digests of the damaged offsets (the damaged bytes are in ``found``).
    """
    topic = str(raw.get("topic") or "").strip()
    if not topic:
        raise RepairInputError("pass -e topic=<the topic whose damaged replicas to repair>")
    settings = dict(repair_plan.read_settings(raw), topic=topic, partitions=_partitions_filter(raw.get("partitions")),
                    report_dir=str(raw.get("report_dir") or "~/.ansible/kafka_ops_remediation/reports"),
                    state_file=str(raw.get("state_file") or "the run journal"))
    brokers = _brokers(inventory)
    journal = journal or {}
    if journal.get("repair_phase") in RESUMED_PHASES:
        repair = resume(journal)
        return _answer(action="repair", resumed=True, repair=repair, settings=settings,
                       verify_requests=verify_requests(repair, brokers),
                       message=(f"Resuming the repair of {journal.get('started_at', 'an earlier run')} after phase "
                                f"\"{journal['repair_phase']}\": the replica lists it kept are restored. Delete "
                                f"{settings['state_file']} to start afresh instead."))
    if infos is None:
        return _answer(need="info", settings=settings)
    wanted = [dict(topic=i["topic"], partition=i["partition"], replicas=i.get("replicas") or [],
                   leader=i.get("leader")) for i in infos
              if str(i.get("topic")) == topic and (not settings["partitions"]
                                                   or int(i["partition"]) in settings["partitions"])]
    unknown = sorted(set(settings["partitions"]) - {int(w["partition"]) for w in wanted})
    if unknown or not wanted:
        return _answer(action="refuse", settings=settings, message=(
            f"Topic {topic} has no partition {unknown if unknown else ''}: check the topic and partitions. "
            "Nothing was changed.").replace(" []", ""))
    if found is None:
        # The full scan keeps the damaged bytes as it meets them: the evidence scan then reads only digests.
        return _answer(need="found", settings=settings, scan_requests=repair_plan.scan_requests(
            wanted, brokers, capture_bytes=settings["capture_bytes"]))
    scanned, damaged = {}, {}
    for result in repair_plan.scan_results(found):
        for record in result.get("corrupt_records") or []:
            damaged.setdefault(name_of(key_of(record)), set()).add(record.get("first_offset"))
    to_repair = [w for w in wanted if name_of(key_of(w)) in damaged]
    if not to_repair:
        return _answer(action="nothing", settings=settings, message=(
            f"No damaged record on any replica of {topic} partitions "
            f"{[w['partition'] for w in wanted]}: nothing to repair, nothing was changed."))
    if evidence is None:
        digests = {name: sorted(o for o in offsets if o is not None) for name, offsets in damaged.items()}
        starts = {name: min(offsets) for name, offsets in digests.items() if offsets}
        return _answer(need="evidence", settings=settings, scan_requests=repair_plan.scan_requests(
            to_repair, brokers, start_offsets=starts, digest_offsets=digests, mode="at_start"))
    # The damage map and the damaged bytes are the full scan's; the evidence scan adds every replica's digests.
    plan = repair_plan.plan_repairs(to_repair, found, infos, settings, digest_scans=evidence)
    if plan["refusals"]:
        return _answer(action="refuse", settings=settings, refusals=plan["refusals"],
                       message="Nothing was changed. " + " | ".join(plan["refusals"]))
    repair = acting(plan, settings, found, started_at, brokers)
    lost = "0 records to lose"
    return _answer(
        action="repair", settings=settings, repair=repair, verify_requests=verify_requests(repair, brokers),
        journal_planned=dict(phase="planned", repair_phase="planned", started_at=started_at, topic=topic,
                             repair=journal_entry(repair)),
        message=(f"Repairing {len(plan['repairs'])} partition(s) of {topic} from intact replicas, {lost}: "
                 + "; ".join(f"{name_of(key_of(p))} damaged on brokers {p['damaged']}, rebuilt from {p['intact']}"
                             for p in plan["repairs"]) + "."))


def after_verify(answer: dict, verdict: dict) -> dict:
    """The run state once the verification scans and partition_info have been read."""
    answer = dict(answer)
    answer["verified"] = verdict
    answer["message"] = verdict["message"]
    return answer
