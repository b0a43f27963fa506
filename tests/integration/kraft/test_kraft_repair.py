# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Repair from an intact replica on the KRaft lab: a Kafka-stored group stuck on a batch damaged only on the
leader is repaired by skip_corrupt.yml through the Admin API (reassignments, preferred election), no broker or
controller restarted, no record lost, and DumpLogSegments sees every replica valid afterwards."""

from __future__ import annotations

import collections

import pytest

from lab.scenarios import cleanup, journal, unique_name
from repair_helpers import invalid_batches, partition_state, stuck_on_damaged_leader
from skip_corrupt_helpers import REPO, latest_report, run_playbook, total_changed

pytestmark = pytest.mark.lab

INVENTORY = str(REPO / "inventories" / "lab-kraft" / "hosts.yml")


def test_a_kafka_group_stuck_on_a_damaged_leader_is_repaired_on_kraft_and_reads_every_record_once(
        kraft_lab, tmp_path):
    group = unique_name("kraft-repair")
    broken = stuck_on_damaged_leader(group, "modern")
    try:
        damaged = broken["damaged_brokers"]
        before = partition_state(group, 1)
        assert before["leader"] == damaged[0]
        processes_before = dict(kraft_lab.status()["processes"])

        code, output = run_playbook(group, "-i", INVENTORY, extra={"report_dir": str(tmp_path)})

        assert code == 0, output[-5000:]
        report = latest_report(tmp_path, group)
        assert report["result"] == "repaired and verified, 0 records lost", report
        assert report["records_lost_total"] == 0 and report["skipped"] == []
        assert {k: v for k, v in kraft_lab.status()["processes"].items() if not k.startswith("consumer:")} == {
            k: v for k, v in processes_before.items() if not k.startswith("consumer:")}, "a node was restarted"
        assert partition_state(group, 1) == dict(before, isr=sorted(before["replicas"])), "replicas, ISR or leader"
        assert invalid_batches(group, 1) == {1: 0, 2: 0, 3: 0}, "DumpLogSegments still sees damage"
        ends = kraft_lab.end_offsets(group)
        assert kraft_lab.kafka_group_offsets(group) == {(group, p): ends[p] for p in range(3)}
        seen = collections.Counter((p, o) for _t, p, o, _k in kraft_lab.consumed_records(group))
        assert set(seen) == {(p, o) for p in range(3) for o in range(ends[p])} and set(seen.values()) == {1}
        assert journal(group)["repair_phase"] == "complete"

        code, output = run_playbook(group, "-i", INVENTORY, extra={"report_dir": str(tmp_path)})
        assert code == 0 and "is not stuck" in output and total_changed(output) == 0, output[-4000:]
    finally:
        cleanup(group)
