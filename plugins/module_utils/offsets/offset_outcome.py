# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a consumer_offset write left in ZooKeeper (pure): each changed partition read back and judged, whether
the run changed anything, and a failure short enough to read on thousands of partitions."""

from __future__ import annotations

from typing import Any, Optional, Union

from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.consumer_offsets import TopicPartition, offset_problem

# Enough partitions in a failure to see what happened; the report file holds all of them.
SAMPLE_SIZE = 10
AT_TARGET, AS_BEFORE, OVERWRITTEN, UNKNOWN = "at_target", "as_before", "overwritten", "unknown"


def _holds(raw: Optional[bytes]) -> tuple[Optional[str], Optional[int], bool]:
    """(text, offset when it holds one, whether the node exists)."""
    if raw is None:
        return None, None, False
    return raw.strip().decode("utf-8", "replace"), int(raw) if offset_problem(raw) is None else None, True


def _is(offset: Union[int, str, None], text: Optional[str], held_offset: Optional[int], exists: bool) -> bool:
    """Whether a node read back holds offset (None: the node must not exist; a str: a node's text that was no
    offset)."""
    if offset is None:
        return not exists
    if isinstance(offset, str):
        return exists and text == offset.strip()
    return exists and held_offset == offset


def judge_read_back(plan: list[dict[str, Any]],
                    held: Optional[dict[TopicPartition, Optional[bytes]]]) -> list[dict[str, Any]]:
    """Every partition the plan changes with what its node holds now (text, None when absent) and its state:
    at_target, as_before (the offset read before the run) or overwritten (anything else: another writer).
    held None means the read-back failed: every state is unknown."""
    rows = []
    for entry in plan:
        if entry["before"] == entry["after"]:
            continue
        key = (entry["topic"], entry["partition"])
        text, offset, exists = _holds(held.get(key)) if held is not None else (None, None, False)
        if held is None:
            state = UNKNOWN
        elif _is(entry["after"], text, offset, exists):
            state = AT_TARGET
        elif _is(entry["before"], text, offset, exists):
            state = AS_BEFORE
        else:
            state = OVERWRITTEN
        rows.append(dict(topic=key[0], partition=key[1], before=entry["before"], target=entry["after"],
                         holds=text, state=state, log_start_offset=entry["log_start_offset"],
                         log_end_offset=entry["log_end_offset"]))
    return rows


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts per state and the first few partitions of each, as the module returns them in read_back."""
    summary: dict[str, Any] = dict(changed_partitions=len(rows))
    for state in (AT_TARGET, AS_BEFORE, OVERWRITTEN):
        found = [row for row in rows if row["state"] == state]
        summary[state] = len(found)
        summary[f"{state}_sample"] = [{name: row[name] for name in ("topic", "partition", "before", "target", "holds")}
                                      for row in found[:SAMPLE_SIZE]]
    return summary


def changed(rows: list[dict[str, Any]], committed_remaining: bool) -> bool:
    """Whether ZooKeeper holds a change of this run: a committed transaction of it was not undone, or a partition
    holds its target (read back after the run)."""
    return committed_remaining or any(row["state"] == AT_TARGET for row in rows)


def _shown(row: dict[str, Any]) -> str:
    holds = "no node" if row["holds"] is None and row["state"] != UNKNOWN else repr(row["holds"])
    target = "no node" if row["target"] is None else row["target"]
    return f"{row['topic']}/{row['partition']} holds {holds}, not {target}"


def read_back_problem(rows: list[dict[str, Any]]) -> Optional[str]:
    """One line when a completed write did not leave every changed partition at its target, else None."""
    wrong = [row for row in rows if row["state"] != AT_TARGET]
    if not wrong:
        return None
    summary = summarise(rows)
    more = f" and {len(wrong) - 3} more" if len(wrong) > 3 else ""
    return (f"read-back after writing differs on {len(wrong)} of {len(rows)} changed partition(s) "
            f"({'; '.join(_shown(row) for row in wrong[:3])}{more}): another writer changed them after the commit, "
            "stop it, then rerun or restore from the backup file; "
            f"{summary[AT_TARGET]} are at their target, {summary[AS_BEFORE]} hold their previous offset, "
            f"{summary[OVERWRITTEN]} hold something else")


def read_back_note(rows: list[dict[str, Any]]) -> str:
    """After a failed write: '' when every changed partition holds its previous offset, else what they hold."""
    summary = summarise(rows)
    if summary[AS_BEFORE] == len(rows):
        return ""
    return (f"; read back: {summary[AT_TARGET]} of {len(rows)} partition(s) at their target, "
            f"{summary[AS_BEFORE]} at their previous offset, {summary[OVERWRITTEN]} at something else")
