# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Repairing damaged replicas from an intact one on the real lab: skip_corrupt.yml's remedy and
repair_replicas.yml, checked as a user would (Kafka's replicas, ISR and leader, DumpLogSegments on every
replica, the consumer's output, the committed offsets, the brokers' processes)."""

from __future__ import annotations

import base64
import collections
import hashlib
import json
import pathlib

import pytest

from lab.scenarios import cleanup, journal, remove_journal, unique_name
from repair_helpers import (invalid_batches, partition_state, run_repair_replicas, stuck_on_damaged_leader,
                            throttles_set, topic_with_damage)
from skip_corrupt_helpers import committed_offsets, lab_processes, latest_report, run_playbook, total_changed

pytestmark = pytest.mark.lab


def brokers(lab) -> dict:
    return {name: pid for name, pid in lab_processes(lab).items() if name.startswith("kafka")}


def read_every_record_once(lab, group: str) -> None:
    ends = lab.end_offsets(group)
    seen = collections.Counter((partition, offset) for _t, partition, offset, _k in lab.consumed_records(group))
    assert set(seen) == {(p, o) for p in range(3) for o in range(ends[p])}, "a record was lost or not read"
    assert set(seen.values()) == {1}, "a record was read twice"


def said(output: str) -> str:
    """What the run said it does, and how it ended."""
    start = output.find("TASK [Say what the run does]")
    return output[start:start + 1500] + output[-1500:]


def check_evidence(report: dict, damaged: list[int]) -> None:
    (path,) = report["evidence_files"]
    evidence = json.loads(pathlib.Path(path).read_text())
    assert sorted(copy["broker_id"] for copy in evidence["damaged_copies"]) == damaged
    intact = {digest["sha256"] for digest in evidence["intact_digests"]}
    assert len(intact) == 1, "the intact copies differ"
    for copy in evidence["damaged_copies"]:
        captured = base64.b64decode(copy["captured_base64"])
        assert len(captured) == copy["length"] and hashlib.sha256(captured).hexdigest() == copy["sha256"]
        assert copy["sha256"] not in intact


@pytest.mark.parametrize("kind", ["legacy", "modern"])
def test_a_group_stuck_on_a_damaged_leader_is_repaired_and_reads_every_record_once(lab, kind, tmp_path):
    group = unique_name(f"repair-{kind}")
    broken = stuck_on_damaged_leader(group, kind)
    try:
        damaged = broken["damaged_brokers"]
        before = partition_state(group, 1)
        assert before["leader"] == damaged[0]
        brokers_before = brokers(lab)

        code, output = run_playbook(group, extra={"report_dir": str(tmp_path)})

        assert code == 0, output[-5000:]
        report = latest_report(tmp_path, group)
        assert report["result"] == "repaired and verified, 0 records lost", report
        assert report["records_lost_total"] == 0 and report["skipped"] == []
        (repaired,) = report["repaired"]
        assert repaired["damaged_brokers"] == damaged and repaired["leader_moved"]
        check_evidence(report, damaged)
        assert brokers(lab) == brokers_before, "a broker was restarted"
        after = partition_state(group, 1)
        assert after == dict(before, isr=sorted(before["replicas"])), "replicas, ISR or leader differ"
        assert invalid_batches(group, 1) == {1: 0, 2: 0, 3: 0}, "DumpLogSegments still sees damage"
        ends = lab.end_offsets(group)
        if kind == "legacy":
            assert committed_offsets(lab, group) == {(group, p): ends[p] for p in range(3)}
        else:
            assert lab.kafka_group_offsets(group) == {(group, p): ends[p] for p in range(3)}
        read_every_record_once(lab, group)
        assert journal(group)["repair_phase"] == "complete"

        code, output = run_playbook(group, extra={"report_dir": str(tmp_path)})
        assert code == 0 and "is not stuck" in output and total_changed(output) == 0, output[-4000:]
    finally:
        cleanup(group)


def test_every_replica_damaged_with_remedy_repair_refuses_and_changes_nothing(lab, stuck_group, tmp_path):
    group, _broken = stuck_group
    offsets_before = committed_offsets(lab, group)
    processes_before = lab_processes(lab)

    code, output = run_playbook(group, extra={"report_dir": str(tmp_path), "remedy": "repair"})

    assert code != 0
    assert "remedy=repair, but no in-sync replica holds an intact copy" in output
    assert committed_offsets(lab, group) == offsets_before
    assert lab_processes(lab) == processes_before


@pytest.fixture
def topic(lab):
    name = unique_name("repair")
    yield name
    remove_journal(name)
    state = pathlib.Path.home() / ".ansible" / "kafka_ops_remediation" / "runs" / f"repair_replicas-{name}.json"
    state.unlink(missing_ok=True)
    lab.delete_topic(name)


THROTTLE = 20 * 1024 * 1024


def journal_of(topic: str) -> dict:
    state = pathlib.Path.home() / ".ansible" / "kafka_ops_remediation" / "runs" / f"repair_replicas-{topic}.json"
    return json.loads(state.read_text())


def test_follower_damage_found_by_a_scan_is_repaired_and_check_mode_changes_nothing(lab, topic, tmp_path):
    (broken,) = topic_with_damage(topic, lambda replicas: [(0, 30, [replicas[0][1]])])
    damaged = broken["damaged_brokers"]
    before = partition_state(topic, 0)
    assert before["leader"] not in damaged
    assert invalid_batches(topic, 0)[damaged[0]] == 1

    code, output = run_repair_replicas(topic, "--check", extra={"report_dir": str(tmp_path)})
    assert code == 0, output[-4000:]
    assert partition_state(topic, 0) == before and invalid_batches(topic, 0)[damaged[0]] == 1
    assert not list(tmp_path.glob("repair-evidence-*")), "check mode kept evidence"

    code, output = run_repair_replicas(topic, extra={"report_dir": str(tmp_path), "throttle": str(THROTTLE)})

    assert code == 0, output[-5000:]
    assert journal_of(topic)["repair"]["throttle"] == THROTTLE
    assert throttles_set(topic) == {}, "the copy's throttle was not lifted"
    report = sorted(tmp_path.glob("repair_replicas-*.json"))[-1]
    report = json.loads(report.read_text())
    assert report["result"] == "repaired and verified, 0 records lost"
    assert report["repaired"][0]["damaged_brokers"] == damaged and not report["repaired"][0]["leader_moved"]
    assert partition_state(topic, 0) == dict(before, isr=sorted(before["replicas"]))
    assert invalid_batches(topic, 0) == {1: 0, 2: 0, 3: 0}

    code, output = run_repair_replicas(topic, extra={"report_dir": str(tmp_path)})
    # The debug callback folds long messages: compare with the whitespace collapsed.
    assert code == 0 and "nothing to repair" in " ".join(output.split()) and total_changed(output) == 0, said(output)


def test_damage_on_two_of_three_replicas_waits_for_consent_under_min_insync_replicas(lab, topic, tmp_path):
    (broken,) = topic_with_damage(topic, lambda replicas: [(2, 40, replicas[2][:2])])
    damaged = sorted(broken["damaged_brokers"])
    before = partition_state(topic, 2)

    code, output = run_repair_replicas(topic, extra={"report_dir": str(tmp_path)})
    assert code != 0 and "min.insync.replicas=2" in output and "allow_under_min_isr=true" in output
    assert partition_state(topic, 2)["replicas"] == before["replicas"]
    assert sorted(b for b, bad in invalid_batches(topic, 2).items() if bad) == damaged

    code, output = run_repair_replicas(topic, extra={"report_dir": str(tmp_path), "allow_under_min_isr": True})
    assert code == 0, output[-5000:]
    assert invalid_batches(topic, 2) == {1: 0, 2: 0, 3: 0}
    assert partition_state(topic, 2)["replicas"] == before["replicas"]


def test_different_batches_damaged_on_different_replicas_refuse_with_the_map(lab, topic, tmp_path):
    # Batch A on the leader and the last replica, batch B on the other follower: no replica is whole.
    first, second = topic_with_damage(topic, lambda r: [(1, 10, [r[1][0], r[1][2]]), (1, 40, [r[1][1]])])
    before = partition_state(topic, 1)
    invalid_before = invalid_batches(topic, 1)

    code, output = run_repair_replicas(topic, extra={"report_dir": str(tmp_path)})

    assert code != 0
    assert "no replica is intact" in output and "different batches are damaged on different replicas" in output
    assert f"offset 10 on brokers {sorted(first['damaged_brokers'])}" in output
    assert f"offset 40 on brokers {second['damaged_brokers']}" in output
    assert partition_state(topic, 1) == before and invalid_batches(topic, 1) == invalid_before


def test_an_interrupted_repair_resumes_and_restores_the_original_replicas(lab, topic, tmp_path):
    (broken,) = topic_with_damage(topic, lambda replicas: [(0, 30, [replicas[0][0]])])
    before = partition_state(topic, 0)

    def removed(line: str) -> bool:
        return "Record in the journal that the damaged replicas are removed" in line

    code, output = run_repair_replicas(topic, extra={"report_dir": str(tmp_path)}, on_line=removed)
    assert "Record in the journal that the damaged replicas are removed" in output, output[-4000:]
    interrupted = partition_state(topic, 0)
    assert broken["damaged_brokers"][0] not in interrupted["replicas"], interrupted

    code, output = run_repair_replicas(topic, extra={"report_dir": str(tmp_path)})

    assert code == 0, output[-5000:]
    assert "Resuming the repair" in output
    assert partition_state(topic, 0) == dict(before, isr=sorted(before["replicas"]))
    assert invalid_batches(topic, 0) == {1: 0, 2: 0, 3: 0}
