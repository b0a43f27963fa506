# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The playbooks as AWX/AAP runs them, on the real lab: every extra var a string (a survey's answers, given with
`-e @file`), the backups, journal and reports under kafka_ops_data_dir (a volume the execution environment
mounts), and a restore in another job, from the backup content the first one published in set_stats."""

from __future__ import annotations

import json
import pathlib

import pytest

from lab.scenarios import cleanup, make_stuck_group, unique_name
from offsets_helpers import kafka_snapshot, run_companion_playbook, snapshot, zk_client
from skip_corrupt_helpers import lab_processes, latest_report

pytestmark = pytest.mark.lab

CALLBACKS = pathlib.Path(__file__).resolve().parent / "callback_plugins"


def survey_job(tmp_path: pathlib.Path, playbook: str, answers: dict) -> tuple[int, dict, str]:
    """Run ``playbook`` as a job template with a survey would: every answer a string, in an extra-vars file.
    Returns (exit code, what the job keeps: {artifacts (set_stats' data), failed (messages)}, the output)."""
    assert all(isinstance(value, str) for value in answers.values()), "a survey sends strings only"
    number = len(list(tmp_path.glob("*.answers.json")))
    answers_file, record = tmp_path / f"{number}-{playbook}.answers.json", tmp_path / f"{number}-{playbook}.job.json"
    answers_file.write_text(json.dumps(answers))
    code, output = run_companion_playbook(f"{playbook}.yml", {}, "-e", f"@{answers_file}", env={
        "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS), "ANSIBLE_CALLBACKS_ENABLED": "job_record",
        "KAFKA_OPS_JOB_RECORD": str(record)})
    kept = json.loads(record.read_text())
    return code, dict(artifacts=kept["custom_stats"].get("_run", {}), failed=kept["failed"]), output


def offsets_in_both_stores(group: str) -> tuple[dict, dict]:
    """({ZooKeeper node: offset text}, {(topic, partition): (offset, metadata)}) of a group in both stores."""
    zk = zk_client()
    try:
        zookeeper = {path: held[0] for path, held in snapshot(zk, group).items() if held is not None}
    finally:
        zk.stop()
    return zookeeper, kafka_snapshot(group)


def test_survey_strings_data_dir_and_a_restore_from_the_published_backup_content(lab, tmp_path):
    group = unique_name("aap")
    make_stuck_group(group, dual_commit=True)
    data, other_container = tmp_path / "data", tmp_path / "other"
    try:
        before = offsets_in_both_stores(group)
        processes = lab_processes(lab)

        # A bad answer stops the job in its first task, naming each, before anything is read or changed.
        code, document, output = survey_job(tmp_path, "skip_corrupt", {
            "consumer_group": group, "max_skipped_records": "10k", "allow_intact_replica": "flase"})
        assert code != 0, output[-3000:]
        assert document["failed"] == [[
            "max_skipped_records='10k' is not valid: expected a whole number.",
            "allow_intact_replica='flase' is not valid: expected true or false (yes/no, on/off and 1/0 too)."]]
        assert offsets_in_both_stores(group) == before and lab_processes(lab) == processes

        # "false" read as Jinja reads a string would fail the scan on the damage it finds; typed, it reports.
        code, document, output = survey_job(tmp_path, "scan_corruption", {
            "topics": f"{group}\n", "fail_on_damage": "false", "kafka_ops_data_dir": str(data)})
        assert code == 0, output[-3000:]
        assert document["artifacts"]["kafka_ops_corrupt_records"] == 3
        scan = json.loads(sorted((data / "reports").glob("scan_corruption-*.json"))[-1].read_text())
        assert {(r["topic"], r["partition"]) for r in scan["corrupt_records"]} == {(group, 1)}

        # The skip, every answer a string (a multiple choice arrives one answer per line).
        code, document, output = survey_job(tmp_path, "skip_corrupt", {
            "consumer_group": group, "topics": f"{group}\n", "partitions": "1", "broker_restart": "none",
            "stuck_interval": "4", "max_skipped_records": "10000", "allow_intact_replica": "false",
            "verify_timeout": "120", "verify_poll_interval": "0.5", "kafka_ops_data_dir": str(data)})
        assert code == 0, output[-3000:]
        stats = document["artifacts"]
        report = latest_report(data / "reports", group)
        assert report["settings"]["offset_storage"] == "both" and report["records_lost_total"] > 0
        assert stats["kafka_ops_backup_file"] == report["backup_file"]
        assert pathlib.Path(report["backup_file"]).parent == data / "backups"
        journal = json.loads((data / "runs" / f"skip_corrupt-{group}.json").read_text())
        assert journal["phase"] == "complete" and journal["report"].startswith(str(data / "reports"))
        assert not (pathlib.Path.home() / ".ansible/kafka_ops_remediation/runs" / f"skip_corrupt-{group}.json").exists()
        skipped = offsets_in_both_stores(group)
        assert skipped[0] != before[0] and skipped[1] != before[1]

        # What the backup files hold, published for a later job: ExportZkOffsets, the reset CSV and its sidecar.
        content = stats["kafka_ops_backup_content"]
        stem = pathlib.Path(report["backup_file"]).name[:-len(".offsets")]
        assert content["group"] == group
        assert sorted(content["files"]) == [f"{stem}.csv", f"{stem}.csv.meta.json", f"{stem}.offsets"]
        assert content["files"][f"{stem}.offsets"] == pathlib.Path(report["backup_file"]).read_text()

        # Another job, on a controller that never saw the backup file: the content, as a workflow passes it (JSON).
        code, document, output = survey_job(tmp_path, "restore_offsets", {
            "consumer_group": group, "backup_content": json.dumps(content), "kafka_ops_data_dir": str(other_container)})
        assert code == 0, output[-3000:]
        assert offsets_in_both_stores(group) == before
        assert (other_container / "backups" / "from_content" / f"{stem}.offsets").exists()
        undo = document["artifacts"]
        assert undo["kafka_ops_restored_from"] == str(other_container / "backups" / "from_content" / f"{stem}.offsets")
        assert pathlib.Path(undo["kafka_ops_backup_file"]).parent == other_container / "backups"
        assert len(undo["kafka_ops_backup_content"]["files"]) == 3
        assert f"consumer:{group}" in lab_processes(lab), "the consumer was not started again"
    finally:
        cleanup(group)
