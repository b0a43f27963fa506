# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``repair_replicas_decision``, repair_replicas.yml's one door to its decision, and ``repair_verdict``, the
judgement of a rebuild from the re-scans. The decisions are plain Python (module_utils/repair/) with their own
unit tests; these filters only unwrap what Ansible gathered."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.kafka_ops.remediation.plugins.module_utils.repair import repair_plan, repair_run


def _gathered(value: Any) -> Any:
    """A registered result of a task that was skipped, or nothing at all, is not gathered yet."""
    if value is None or (isinstance(value, dict) and value.get("skipped")):
        return None
    return value


def repair_replicas_decision(facts: Any) -> dict:
    """Decide from ``facts`` ({settings, inventory, journal, infos, found, evidence, started_at})."""
    if not isinstance(facts, dict):
        raise AnsibleFilterError("repair_replicas_decision expects a dict of the facts repair_replicas.yml gathered")
    infos = _gathered(facts.get("infos"))
    try:
        return repair_run.decide(facts.get("settings") or {}, facts.get("inventory") or {},
                                 _gathered(facts.get("journal")), infos.get("partitions") if infos else None,
                                 _gathered(facts.get("found")), _gathered(facts.get("evidence")),
                                 str(facts.get("started_at") or ""))
    except repair_plan.RepairInputError as error:
        return dict(action="refuse", need=None, message=f"Nothing was changed: {error}.", repair=None,
                    scan_requests={}, verify_requests={}, journal_planned=None, refusals=[str(error)])


def repair_verdict(facts: Any) -> dict:
    """{ok, message, failures, partitions} of a rebuild from ({repair, scans, infos})."""
    if not isinstance(facts, dict) or not isinstance(facts.get("repair"), dict):
        raise AnsibleFilterError("repair_verdict expects {repair, scans, infos}")
    return repair_plan.verify(facts["repair"]["repairs"], facts.get("scans") or [], facts.get("infos") or [])


class FilterModule:
    """The decision of repair_replicas.yml and the verdict of a rebuild."""

    def filters(self) -> dict:
        return {"repair_replicas_decision": repair_replicas_decision, "repair_verdict": repair_verdict}
