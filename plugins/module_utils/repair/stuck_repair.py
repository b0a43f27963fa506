# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""skip_corrupt.yml's remedy: repair the replicas a stuck group's partitions are damaged on, or skip.

``remedy=auto`` repairs when every batch the group is stuck on is intact on an in-sync replica, and skips
otherwise; ``repair`` refuses what it cannot repair; ``skip`` never repairs. Pure functions over what triage.py
already read: the at-start scans of every replica and the cluster's partition states.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.kafka_ops.remediation.plugins.module_utils.repair.repair_plan import key_of, name_of


def _damaged_at(scan: dict, committed: int) -> bool:
    first, next_valid = scan.get("first_damaged_offset"), scan.get("next_valid_offset")
    return first is not None and int(first) <= committed and (next_valid is None or int(next_valid) > committed)


def candidates(stuck: list[dict], scans: dict, partitions: list[dict]) -> list[dict]:
    """Stuck partitions whose leader's copy is damaged where the group sits, each with its damaged and intact
    replicas and whether an intact one is in sync. ``scans``: {(topic, partition): {broker: at-start scan}};
    ``partitions``: the cluster's partition states (replicas, leader, isr)."""
    states = {key_of(p): p for p in partitions}
    found = []
    for entry in stuck:
        key = key_of(entry)
        state = states.get(key) or {}
        committed = int(entry["offset"])
        by_broker = scans.get(key) or {}
        damaged = sorted(b for b, scan in by_broker.items() if _damaged_at(scan, committed))
        leader = state.get("leader")
        if not damaged or leader is None or int(leader) not in damaged:
            continue
        replicas = [int(b) for b in state.get("replicas") or []]
        intact = [b for b in replicas if b in by_broker and b not in damaged]
        isr = [int(b) for b in state.get("isr") or []]
        found.append(dict(topic=key[0], partition=key[1], committed_offset=committed, replicas=replicas,
                          leader=int(leader), damaged=damaged, intact=intact,
                          intact_in_sync=[b for b in intact if b in isr],
                          next_valid_offset=_next_valid(by_broker, damaged)))
    return found


def _next_valid(by_broker: dict, damaged: list[int]) -> Any:
    values = {by_broker[b].get("next_valid_offset") for b in damaged}
    return values.pop() if len(values) == 1 else None


def choose(found: list[dict], remedy: str) -> tuple[str, str]:
    """('repair' | 'skip' | 'refuse', why) for the stuck partitions held by damage on their leader."""
    if remedy == "skip" or not found:
        return "skip", ""
    unsaved = [c for c in found if not c["intact_in_sync"]]
    if not unsaved:
        return "repair", ""
    if remedy == "auto":
        return "skip", ""
    shown = "; ".join(f"{name_of(key_of(c))} damaged on brokers {c['damaged']}"
                      + (f", intact on {c['intact']} but not in sync" if c["intact"] else ", intact nowhere")
                      for c in unsaved)
    return "refuse", (f"Nothing was changed: remedy=repair, but no in-sync replica holds an intact copy of {shown}. "
                      "Rerun with -e remedy=auto to skip the records instead, or wait until an intact replica is "
                      "back in sync.")


def partitions_to_read(found: list[dict]) -> list[dict]:
    return [dict(topic=c["topic"], partition=c["partition"]) for c in found]


def digest_offsets(found: list[dict]) -> dict[str, list[int]]:
    return {name_of(key_of(c)): [c["committed_offset"]] for c in found}


def verify_targets(found: list[dict], repairs: list[dict]) -> list[dict]:
    """Each stuck partition's last damaged offset: the group has read the once damaged records, not skipped
    them, when its committed offset is past it."""
    spans = {key_of(p): p["damage"] for p in repairs}
    targets = []
    for c in found:
        committed = c["committed_offset"]
        last = None
        for span in spans.get(key_of(c), []):
            first = span["first_offset"]
            if first is not None and first <= committed and (span["last_offset"] is None
                                                             or committed <= span["last_offset"]):
                last = span["last_offset"]
        if last is None and c["next_valid_offset"] is not None:
            last = int(c["next_valid_offset"]) - 1
        targets.append(dict(topic=c["topic"], partition=c["partition"],
                            target_offset=committed if last is None else int(last)))
    return targets
