# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The companion playbooks of issue 5 on the real lab: undo a skip, report offsets, scan for damage."""

from __future__ import annotations

import json
import pathlib

import pytest

from offsets_helpers import run_companion_playbook as run
from skip_corrupt_helpers import (
    committed_offsets,
    lab_processes,
    latest_report,
    run_playbook,
)

pytestmark = pytest.mark.lab


def test_scan_and_report_find_the_damage_and_restore_undoes_the_skip(lab, stuck_group, tmp_path):
    group, broken = stuck_group
    stuck_at = committed_offsets(lab, group)
    processes = lab_processes(lab)

    code, output = run("scan_corruption.yml", {"topics": [group], "report_dir": str(tmp_path),
                                               "fail_on_damage": False})
    assert code == 0, output[-4000:]
    scan = json.loads(sorted(tmp_path.glob("scan_corruption-*.json"))[-1].read_text())
    damaged = {(r["topic"], r["partition"], r["broker_id"]) for r in scan["corrupt_records"]}
    assert damaged == {(group, 1, broker) for broker in (1, 2, 3)}, "the record is damaged on every replica"
    assert lab_processes(lab) == processes, "a read-only scan touched a process"

    code, output = run("offsets_report.yml", {"consumer_groups": group, "report_dir": str(tmp_path)})
    assert code == 0, output[-4000:]
    report = json.loads(sorted(tmp_path.glob("offsets-*.json"))[-1].read_text())
    rows = {row["partition"]: row for row in report["offsets"] if row["group"] == group}
    assert rows[1]["offset"] == stuck_at[(group, 1)] and rows[1]["lag"] > 0
    assert committed_offsets(lab, group) == stuck_at

    code, output = run_playbook(group, extra={"broker_restart": "none", "report_dir": str(tmp_path)})
    assert code == 0, output[-4000:]
    backup = latest_report(tmp_path, group)["backup_file"]
    assert committed_offsets(lab, group)[(group, 1)] > broken["last_offset"] + 1

    code, output = run("restore_offsets.yml", {"consumer_group": group, "backup_file": backup})
    assert code == 0, output[-4000:]
    restored = committed_offsets(lab, group)
    # The restarted consumer runs into the damaged record again, so partition 1 stays where the skip found it.
    assert restored[(group, 1)] == stuck_at[(group, 1)]
    assert f"consumer:{group}" in lab_processes(lab), "the consumer was not started again"
    assert pathlib.Path(backup).exists()
