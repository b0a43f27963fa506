# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The JSON report of a skip_corrupt.yml run, assembled from its run state: a pure function, so that what the
report says (what was found, skipped and lost, how to undo it, how long each phase took) is unit-tested."""

from __future__ import annotations

import datetime
from typing import Optional

DAMAGE_FIELDS = ("broker_id", "segment", "position", "magic", "first_offset", "last_offset", "next_valid_offset",
                 "reason", "stored_crc", "computed_crc")


def _utc(epoch: Optional[float]) -> str:
    return datetime.datetime.fromtimestamp(int(epoch or 0), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def phase_durations(marks: list[dict]) -> list[dict]:
    """Each mark lasts until the next one; the last mark is the end of the run."""
    return [dict(phase=mark["phase"], seconds=round(float(after["at"]) - float(mark["at"]), 1))
            for mark, after in zip(marks, marks[1:])]


def skipped_partitions(targets: list[dict], plan: list[dict]) -> list[dict]:
    """What each target skipped, and whether this run moved it (a resumed run finds it moved already)."""
    planned = {(entry["topic"], int(entry["partition"])): entry for entry in plan or []}
    skipped = []
    for target in targets:
        entry = planned.get((target["topic"], int(target["partition"])))
        skipped.append(dict(topic=target["topic"], partition=target["partition"],
                            from_offset=target["committed_offset"], to_offset=target["target_offset"],
                            records_lost=target["records_skipped"],
                            changed_now=entry is not None and entry.get("before") != entry.get("after"),
                            explicit=bool(target.get("explicit"))))
    return skipped


def repaired_partitions(repair: Optional[dict]) -> list[dict]:
    """What each rebuild found and did: damaged and intact replicas, the damage map, the intact digests."""
    return [dict(topic=plan["topic"], partition=plan["partition"], replicas=plan["replicas"],
                 damaged_brokers=plan["damaged"], intact_brokers=plan["intact"], damage=plan["damage"],
                 intact_digests=plan.get("intact_digests") or [], leader_moved=bool(plan.get("move_leader")),
                 records_lost=0)
            for plan in (repair or {}).get("repairs") or []]


def _result(run: dict, verified: list[dict], check_mode: bool, repair_verdict: Optional[dict]) -> str:
    if check_mode:
        return "planned (check mode: nothing was changed)"
    if run.get("repair"):
        checked = (repair_verdict or {}).get("ok")
        return "repaired and verified, 0 records lost" if checked else "repaired, 0 records lost"
    return "skipped and verified" if verified else "skipped"


def skip_corrupt_report(run: dict, offset_change: Optional[dict], verified: list[dict], marks: list[dict],
                        check_mode: bool, name: str = "skip_corrupt", repair_verdict: Optional[dict] = None) -> dict:
    """The report of one run from its run state (skip_corrupt_decision), consumer_offset's result, the partitions
    verified to flow, and the phase marks [{phase, at}] whose last one is the end of the run."""
    targets = run.get("targets") or []
    skipped = skipped_partitions(targets, (offset_change or {}).get("plan") or [])
    backup = run.get("backup_file")
    repair = run.get("repair")
    return {
        "report": name,
        "group": run.get("group"),
        "topic": (run.get("settings") or {}).get("topic"),
        "check_mode": check_mode,
        "result": _result(run, verified, check_mode, repair_verdict),
        "settings": dict(broker_restart=run.get("broker_restart"), offset_storage=run.get("offset_storage"),
                         stop_order=run.get("stop_order") or [],
                         resumed=bool(run.get("resumed")),
                         max_skipped_records=(run.get("settings") or {}).get("max_skipped_records")),
        "started_at": _utc(marks[0]["at"] if marks else None),
        "finished_at": _utc(marks[-1]["at"] if marks else None),
        "cluster_before": run.get("cluster") or {},
        "controller_id": run.get("controller_id"),
        "found": [dict(topic=t["topic"], partition=t["partition"], committed_offset=t["committed_offset"],
                       next_valid_offset=t["target_offset"], damaged_brokers=t.get("damaged_brokers") or [],
                       intact_brokers=t.get("intact_brokers") or [],
                       damage=[{field: record.get(field) for field in DAMAGE_FIELDS} for record in t.get("damage") or []])
                  for t in targets],
        "stuck_without_damage": run.get("undamaged") or [],
        "skipped": skipped,
        "records_lost_total": sum(entry["records_lost"] for entry in skipped),
        "backup_file": backup,
        "undo": (f"ansible-playbook kafka_ops.remediation.restore_offsets -e consumer_group={run.get('group') or ''} "
                 f"-e backup_file={backup}") if backup else None,
        "verified": list(verified or []),
        "repaired": repaired_partitions(repair),
        "evidence_files": list((repair or {}).get("evidence_paths") or []),
        "repair_verified": repair_verdict,
        "phases": phase_durations(marks or []),
    }
