# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""skip_corrupt.yml, restore_offsets.yml and offsets_report.yml on the real lab for consumer groups whose offsets
Kafka stores: the modern consumer on app1, and Kafka's own Java console consumer."""

from __future__ import annotations

import collections
import json
import os
import subprocess

import pytest

from lab.scenarios import cleanup, journal, make_stuck_group, make_stuck_kafka_group, unique_name
from lab.layout import ansible_command
from skip_corrupt_helpers import REPO, lab_processes, latest_report, run_playbook, total_changed

pytestmark = pytest.mark.lab


@pytest.fixture
def stuck_kafka_group(lab):
    """(group, what lab.corrupt broke): a modern group stuck on a record damaged on every replica."""
    group = unique_name("kstuck")
    broken = make_stuck_kafka_group(group)
    yield group, broken
    cleanup(group)


def run_companion(playbook: str, *args: str, extra: dict) -> tuple[int, str]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    done = subprocess.run([ansible_command("ansible-playbook"), str(REPO / "playbooks" / playbook),
                           "-e", json.dumps(extra), *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    return done.returncode, done.stdout + done.stderr


def test_check_mode_plans_a_kafka_group_and_changes_nothing(lab, stuck_kafka_group, tmp_path):
    group, broken = stuck_kafka_group
    offsets_before = lab.kafka_group_offsets(group)
    processes_before = lab_processes(lab)

    code, output = run_playbook(group, "--check", extra={"report_dir": str(tmp_path)})

    assert code == 0, output[-4000:]
    assert lab.kafka_group_offsets(group) == offsets_before
    assert lab_processes(lab) == processes_before, "check mode stopped or restarted a process"
    assert journal(group) is None, "check mode wrote a run journal"
    report = latest_report(tmp_path, group)
    assert report["check_mode"] is True
    assert [(s["partition"], s["from_offset"], s["to_offset"]) for s in report["skipped"]] == [
        (1, broken["first_offset"], broken["last_offset"] + 1)]


def test_a_stuck_kafka_group_is_skipped_with_the_brokers_untouched_and_reads_every_other_record_once(
        lab, stuck_kafka_group, tmp_path):
    group, broken = stuck_kafka_group
    brokers_before = {k: v for k, v in lab_processes(lab).items() if k.startswith("kafka")}
    assert lab.kafka_group_offsets(group)[(group, 1)] == broken["first_offset"]

    code, output = run_playbook(group, extra={"report_dir": str(tmp_path)})

    assert code == 0, output[-4000:]
    assert {k: v for k, v in lab_processes(lab).items() if k.startswith("kafka")} == brokers_before
    ends = lab.end_offsets(group)
    committed = lab.kafka_group_offsets(group)
    assert committed == {(group, p): ends[p] for p in range(3)}, "the group did not read on to the log end"
    report = latest_report(tmp_path, group)
    assert report["settings"]["broker_restart"] == "none" and report["settings"]["offset_storage"] == "kafka"
    assert report["records_lost_total"] == broken["last_offset"] + 1 - broken["first_offset"]
    assert report["backup_file"].endswith(".csv")
    assert journal(group)["phase"] == "complete"
    # Every record but the skipped ones, each exactly once: the consumer committed as it stopped and resumed there.
    seen = collections.Counter((partition, offset) for _topic, partition, offset, _key in lab.consumed_records(group))
    skipped = {(1, offset) for offset in range(broken["first_offset"], broken["last_offset"] + 1)}
    expected = {(p, o) for p in range(3) for o in range(ends[p])} - skipped
    assert set(seen) == expected and set(seen.values()) == {1}, (
        sorted(expected - set(seen))[:10], sorted(set(seen) - expected)[:10], sorted(k for k, v in seen.items() if v > 1)[:20])

    code, output = run_playbook(group, extra={"report_dir": str(tmp_path)})
    assert code == 0, output[-4000:]
    assert "is not stuck" in output and total_changed(output) == 0, output[-4000:]


def test_full_stop_of_a_kafka_group_moves_the_offsets_first_then_restarts_every_broker(lab, stuck_kafka_group, tmp_path):
    """Only a running group coordinator moves a Kafka-stored group's offsets: the move comes first, then the full
    stop and start of the cluster, then the consumers."""
    group, broken = stuck_kafka_group
    brokers_before = {k: v for k, v in lab_processes(lab).items() if k.startswith("kafka")}

    code, output = run_playbook(group, extra={"broker_restart": "full_stop", "report_dir": str(tmp_path)})

    assert code == 0, output[-4000:]
    plays = [line for line in output.splitlines() if line.startswith("PLAY [")]
    move = next(i for i, line in enumerate(plays) if line.startswith("PLAY [Move the committed offsets"))
    stop = next(i for i, line in enumerate(plays) if "now the offsets moved (full_stop)" in line)
    assert move < stop, plays
    brokers_after = {k: v for k, v in lab_processes(lab).items() if k.startswith("kafka")}
    assert all(brokers_after[name] != pid for name, pid in brokers_before.items()), "a broker was not restarted"
    assert lab.status()["brokers"] == [1, 2, 3]
    assert lab.kafka_group_offsets(group)[(group, 1)] > broken["last_offset"]
    report = latest_report(tmp_path, group)
    assert report["settings"]["broker_restart"] == "full_stop" and report["settings"]["offset_storage"] == "kafka"
    assert journal(group)["phase"] == "complete"


def test_the_backup_restores_the_stuck_offsets_and_the_report_lists_the_group(lab, stuck_kafka_group, tmp_path):
    group, broken = stuck_kafka_group
    before = lab.kafka_group_offsets(group)
    code, output = run_playbook(group, extra={"report_dir": str(tmp_path)})
    assert code == 0, output[-4000:]
    backup = latest_report(tmp_path, group)["backup_file"]

    code, output = run_companion("restore_offsets.yml", extra={"consumer_group": group, "backup_file": backup})

    assert code == 0, output[-4000:]
    # Restored to the damaged batch, the consumer is stuck there again.
    assert lab.kafka_group_offsets(group)[(group, 1)] == before[(group, 1)] == broken["first_offset"]
    code, output = run_companion("offsets_report.yml", extra={"consumer_groups": group})
    assert code == 0, output[-4000:]
    assert "CURRENT-OFFSET" in output and group in output, output[-3000:]


def test_a_kafka_group_stuck_on_two_topics_is_skipped_on_both(lab, tmp_path):
    group = unique_name("kstuck2t")
    broken = make_stuck_kafka_group(group, second_topic=True)
    try:
        code, output = run_playbook(group, extra={"report_dir": str(tmp_path)})
        assert code == 0, output[-4000:]
        report = latest_report(tmp_path, group)
        assert sorted((s["topic"], s["partition"]) for s in report["skipped"]) == [(group, 1), (f"{group}-b", 1)]
        committed = lab.kafka_group_offsets(group)
        for topic, damage in ((group, broken), (f"{group}-b", broken["second"])):
            assert committed[(topic, 1)] > damage["last_offset"], f"{topic} did not move past the damage"
    finally:
        cleanup(group)


def test_the_java_console_consumer_shows_the_error_and_reads_on_after_the_skip(lab, tmp_path):
    """What a Java application sees: Kafka's console consumer in a group, stuck with its committed offset on the
    damaged batch; after the skip it reads on from the first readable record."""
    group = unique_name("java")
    topic = group
    lab.produce(topic, 90, partitions=3)
    broken = lab.corrupt(topic, 1, 20, "all")
    try:
        first = lab.java_console_consume(topic, group, timeout_ms=8000)
        assert "please seek past the record" in first["stderr"] or first["corrupt"], first["stderr"][-2000:]
        committed = lab.java_group_offsets(group)
        assert committed[(topic, 1)] == broken["first_offset"], committed
        # The playbook's consumer hosts run no consumer of this group: the Java tool is stopped already.
        code, output = run_playbook(group, extra={"report_dir": str(tmp_path), "consumer_hosts": "none"})
        assert code == 0, output[-4000:]
        assert lab.java_group_offsets(group)[(topic, 1)] == broken["last_offset"] + 1

        again = lab.java_console_consume(topic, group, timeout_ms=8000)
        offsets = sorted(offset for _topic, partition, offset, _key in again["records"] if partition == 1)
        assert offsets and offsets[0] == broken["last_offset"] + 1, again["stdout"][-2000:]
        assert not again["corrupt"]
    finally:
        cleanup(group)


def test_a_dual_commit_group_is_skipped_in_both_stores_and_restored_in_both(lab, tmp_path):
    """An old consumer with dual.commit.enabled keeps its offsets in ZooKeeper and Kafka and starts from the
    larger: the skip moves both, and the restore puts both back."""
    group = unique_name("dual")
    broken = make_stuck_group(group, dual_commit=True)
    try:
        stuck_at = broken["first_offset"]
        assert lab.kafka_group_offsets(group)[(group, 1)] == stuck_at
        code, output = run_playbook(group, extra={"report_dir": str(tmp_path)})
        assert code == 0, output[-4000:]
        report = latest_report(tmp_path, group)
        assert report["settings"]["offset_storage"] == "both" and report["settings"]["broker_restart"] == "none"
        ends = lab.end_offsets(group)
        zookeeper = {(topic, partition): offset for (topic, partition), offset in
                     committed_offsets_in_zookeeper(lab, group).items()}
        assert zookeeper == {(group, p): ends[p] for p in range(3)}
        assert lab.kafka_group_offsets(group) == zookeeper

        code, output = run_companion("restore_offsets.yml",
                                     extra={"consumer_group": group, "backup_file": report["backup_file"]})
        assert code == 0, output[-4000:]
        assert committed_offsets_in_zookeeper(lab, group)[(group, 1)] == stuck_at
        assert lab.kafka_group_offsets(group)[(group, 1)] == stuck_at
    finally:
        cleanup(group)


def committed_offsets_in_zookeeper(lab, group):
    for entry in lab.status()["groups"]:
        if entry["group"] == group:
            return {(o["topic"], o["partition"]): o["offset"] for o in entry["offsets"]}
    return {}
