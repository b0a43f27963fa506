# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ``skip_corrupt_decision`` filter, skip_corrupt.yml's one door to its decision engine, and
``skip_corrupt_report``, the JSON report of a run.

The engine itself (``module_utils/triage.py``) is plain Python with its own unit tests; this filter only
unwraps what Ansible gathered and picks the entry point.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.kafka_ops.remediation.plugins.module_utils import run_report, triage


def _gathered(value: Any) -> Any:
    """A registered result of a task that was skipped, or nothing at all, is not gathered yet."""
    if value is None or (isinstance(value, dict) and value.get("skipped")):
        return None
    return value


def _repair_infos(value: Any) -> Any:
    """partition_info's partitions, from its registered result."""
    value = _gathered(value)
    return value.get("partitions") if isinstance(value, dict) else value


def skip_corrupt_decision(facts: Any) -> dict:
    """Decide from ``facts`` ({settings, inventory, journal, sample, scans, watch, started_at}), or, given
    {decision, offset_change, check_mode}, decide the rest of the run after the offset change."""
    if not isinstance(facts, dict):
        raise AnsibleFilterError("skip_corrupt_decision expects a dict of the facts skip_corrupt.yml gathered")
    if "decision" in facts:
        return triage.after_offset_change(facts["decision"], _gathered(facts.get("offset_change")) or {},
                                          bool(facts.get("check_mode")))
    settings = facts.get("settings") or {}
    try:
        return triage.decide(settings, facts.get("inventory") or {}, _gathered(facts.get("journal")),
                             _gathered(facts.get("sample")), _gathered(facts.get("scans")),
                             _gathered(facts.get("watch")), str(facts.get("started_at") or ""),
                             _gathered(facts.get("repair_scans")), _repair_infos(facts.get("repair_infos")))
    except triage.DecisionInputError as error:
        return triage.refusal_for_bad_input(error, settings)


def skip_corrupt_report(run: Any, offset_change: Any = None, verified: Any = None, marks: Any = None,
                        check_mode: bool = False, name: str = "skip_corrupt", repair_verdict: Any = None) -> dict:
    """The JSON report of a run from its final run state (see module_utils/run_report.py)."""
    if not isinstance(run, dict):
        raise AnsibleFilterError("skip_corrupt_report expects the run state of skip_corrupt_decision")
    return run_report.skip_corrupt_report(run, _gathered(offset_change), list(verified or []), list(marks or []),
                                          bool(check_mode), str(name), _gathered(repair_verdict))


class FilterModule:
    """The decision engine of skip_corrupt.yml and the report of its run."""

    def filters(self) -> dict:
        return {"skip_corrupt_decision": skip_corrupt_decision, "skip_corrupt_report": skip_corrupt_report}
