# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""skip_corrupt.yml on the real lab: the remediation itself, its check mode, and the faults of issue 5."""

from __future__ import annotations

import pathlib
import subprocess
import time

import pytest

from lab.scenarios import cleanup, journal, unique_name
from skip_corrupt_helpers import (
    committed_offsets,
    lab_processes,
    latest_report,
    run_playbook,
    total_changed,
)

pytestmark = pytest.mark.lab


def test_check_mode_plans_and_reports_but_changes_nothing(lab, stuck_group, tmp_path):
    group, broken = stuck_group
    offsets_before = committed_offsets(lab, group)
    processes_before = lab_processes(lab)

    code, output = run_playbook(group, "--check", extra={"report_dir": str(tmp_path)})

    assert code == 0, output[-4000:]
    assert committed_offsets(lab, group) == offsets_before
    assert lab_processes(lab) == processes_before, "check mode stopped or restarted a process"
    assert journal(group) is None, "check mode wrote a run journal"
    report = latest_report(tmp_path, group)
    assert report["check_mode"] is True
    assert [(s["partition"], s["from_offset"], s["to_offset"]) for s in report["skipped"]] == [
        (1, offsets_before[(group, 1)], broken["last_offset"] + 1)]


def test_skip_without_restarting_brokers_flows_again_and_a_rerun_changes_nothing(lab, stuck_group, tmp_path):
    group, broken = stuck_group
    broker_pids = {k: v for k, v in lab_processes(lab).items() if k.startswith("kafka")}

    code, output = run_playbook(group, extra={"broker_restart": "none", "report_dir": str(tmp_path)})

    assert code == 0, output[-4000:]
    assert {k: v for k, v in lab_processes(lab).items() if k.startswith("kafka")} == broker_pids
    assert committed_offsets(lab, group)[(group, 1)] > broken["last_offset"] + 1
    report = latest_report(tmp_path, group)
    assert report["records_lost_total"] == broken["last_offset"] + 1 - report["skipped"][0]["from_offset"]
    assert report["backup_file"] and pathlib.Path(report["backup_file"]).exists()
    assert report["verified"][0]["partition"] == 1
    assert journal(group)["phase"] == "complete"

    code, output = run_playbook(group, extra={"broker_restart": "none", "report_dir": str(tmp_path)})
    assert code == 0, output[-4000:]
    assert "is not stuck" in output
    assert total_changed(output) == 0, output[-4000:]


def test_rolling_restarts_every_broker_once_controller_last_and_the_group_flows(lab, stuck_group, tmp_path):
    group, broken = stuck_group
    controller = lab.status()["controller"]
    brokers_before = {k: v for k, v in lab_processes(lab).items() if k.startswith("kafka")}

    code, output = run_playbook(group, extra={"broker_restart": "rolling", "report_dir": str(tmp_path)})

    assert code == 0, output[-4000:]
    brokers_after = {k: v for k, v in lab_processes(lab).items() if k.startswith("kafka")}
    assert sorted(brokers_after) == sorted(brokers_before)
    assert all(brokers_after[name] != pid for name, pid in brokers_before.items()), "a broker was not restarted"
    assert lab.status()["brokers"] == [1, 2, 3]
    assert committed_offsets(lab, group)[(group, 1)] > broken["last_offset"] + 1
    assert journal(group)["rolled"][-1] == f"kafka{controller}", "the controller must be restarted last"
    assert sorted(journal(group)["rolled"]) == ["kafka1", "kafka2", "kafka3"]
    report = latest_report(tmp_path, group)
    assert report["verified"][0]["partition"] == 1


def test_broker_that_will_not_start_stops_the_run_and_a_rerun_after_the_fix_completes(lab, stuck_group, tmp_path):
    group, broken = stuck_group
    controller = lab.status()["controller"]  # stopped last, so started first
    config = lab.LAB_ROOT / f"kafka{controller}" / "conf" / "server.properties"
    original = config.read_text()
    config.write_text(original + "\nnum.network.threads=not-a-number\n")
    try:
        code, output = run_playbook(group, extra={"broker_restart": "full_stop", "report_dir": str(tmp_path),
                                                  "broker_service_start_settle_time": 8})
        assert code != 0
        assert f"Broker {controller} on kafka{controller} did not come back" in output
        assert "not-a-number" in output or "ConfigException" in output, "the failure should show the broker log"
        processes = lab_processes(lab)
        assert not any(name.startswith("kafka") for name in processes), "a further broker was started"
        assert f"consumer:{group}" not in processes, "the consumer was started"
        assert journal(group)["phase"] == "offsets_moved"
    finally:
        config.write_text(original)

    code, output = run_playbook(group, extra={"broker_restart": "full_stop", "report_dir": str(tmp_path)})

    assert code == 0, output[-4000:]
    assert "Resuming the run" in output
    assert lab.status()["brokers"] == [1, 2, 3]
    assert committed_offsets(lab, group)[(group, 1)] > broken["last_offset"] + 1
    report = latest_report(tmp_path, group)
    assert report["skipped"][0]["changed_now"] is False, "a resumed run must not move the offsets again"
    assert report["backup_file"]


def test_zookeeper_unreachable_during_preflight_gives_a_clear_error(lab, stuck_group, tmp_path):
    group = stuck_group[0]
    offsets_before = committed_offsets(lab, group)
    processes_before = lab_processes(lab)
    subprocess.run([str(lab.LAB_ROOT / "zk1" / "bin" / "zookeeper-stop.sh")], check=True, capture_output=True)
    try:
        code, output = run_playbook(group, extra={"report_dir": str(tmp_path)})
    finally:
        lab.up()  # starts ZooKeeper again and waits until it and every broker answer
    assert code != 0
    assert "Preflight could not read the group and the cluster" in output and "Check that ZooKeeper is up" in output
    assert "nothing was changed" in output
    assert journal(group) is None
    assert committed_offsets(lab, group) == offsets_before
    after = lab_processes(lab)
    assert {k: v for k, v in after.items() if not k.startswith("zk1")} == {
        k: v for k, v in processes_before.items() if not k.startswith("zk1")}


@pytest.fixture
def idle_group(lab):
    """A group that caught up, was stopped, and now lags behind new records: stuck, but on no damage."""
    group = unique_name("idle")
    lab.produce(group, 60, partitions=3)
    lab.consumer_start(group, group)
    try:
        deadline = time.monotonic() + 60
        while committed_offsets(lab, group) != {(group, p): end for p, end in lab.end_offsets(group).items()}:
            assert time.monotonic() < deadline, f"consumer {group} did not catch up: {committed_offsets(lab, group)}"
            time.sleep(0.5)
        lab.consumer_stop(group)
        lab.produce(group, 30, partitions=3, first_index=60)
        yield group
    finally:
        cleanup(group)


def test_a_group_stuck_without_damage_is_refused_naming_each_partition(lab, idle_group, tmp_path):
    group = idle_group
    offsets_before = committed_offsets(lab, group)
    processes_before = lab_processes(lab)

    code, output = run_playbook(group, extra={"broker_restart": "none", "report_dir": str(tmp_path)})

    # No damage explains the lag, so the offsets were watched and found not moving: a refusal, not a skip.
    assert code != 0
    assert f"no damaged record where group {group} sits on" in output
    for (topic, partition), offset in sorted(offsets_before.items()):
        assert f"{topic}/{partition}/{offset}" in output
    assert committed_offsets(lab, group) == offsets_before
    assert lab_processes(lab) == processes_before
    assert journal(group) is None
