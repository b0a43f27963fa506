# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""skip_corrupt.yml on the real lab: the decisions of issue 10, each reproduced as it was found.

Unreadable offset nodes, a refusal after full_stop stopped the brokers, the rerun after it, a plain-string
topics value and follower-only damage under an intact leader.
"""

from __future__ import annotations

import re
import threading
import time

import pytest

from lab.scenarios import cleanup, journal, remove_journal, unique_name
from offsets_helpers import snapshot, zk_client
from repair_helpers import elect_preferred, partition_state
from skip_corrupt_helpers import (
    committed_offsets,
    lab_processes,
    latest_report,
    run_playbook,
    total_changed,
)

pytestmark = pytest.mark.lab


def set_offset_node(group: str, topic: str, partition: int, value: bytes) -> None:
    client = zk_client()
    try:
        client.set(f"/consumers/{group}/offsets/{topic}/{partition}", value)
    finally:
        client.stop()
        client.close()


def offset_nodes(group: str) -> dict:
    client = zk_client()
    try:
        return snapshot(client, group)
    finally:
        client.stop()
        client.close()


@pytest.mark.parametrize("bad_partition", [0, 1], ids=["another partition", "the stuck partition"])
def test_an_offset_node_that_is_not_a_number_refuses_before_anything_stops(lab, stuck_group, tmp_path, bad_partition):
    group, _broken = stuck_group
    lab.consumer_stop(group)
    set_offset_node(group, group, bad_partition, b"abc")
    nodes_before = offset_nodes(group)
    processes_before = lab_processes(lab)

    for mode in (["--check"], []):
        code, output = run_playbook(group, *mode, extra={"report_dir": str(tmp_path)}, timeout=300)
        assert code != 0, output[-3000:]
        assert f"/consumers/{group}/offsets/{group}/{bad_partition} holds 'abc'" in output, output[-3000:]
        assert "cannot start as it is" in output
        assert "is not stuck" not in output, "a false all-clear"
        assert offset_nodes(group) == nodes_before
        assert lab_processes(lab) == processes_before, "something was stopped or started"
        assert journal(group) is None


def test_a_refused_offset_change_after_full_stop_starts_the_brokers_again_and_a_rerun_decides_afresh(
        lab, stuck_group, tmp_path):
    group, broken = stuck_group
    offsets_before = committed_offsets(lab, group)
    restarted = threading.Event()

    def restart_consumer_once_brokers_stop(line: str) -> None:
        if not restarted.is_set() and line.startswith("PLAY [Stop the brokers one by one"):
            restarted.set()
            threading.Thread(target=lab.consumer_start, args=(group,), daemon=True).start()

    code, output = run_playbook(group, extra={"broker_restart": "full_stop", "report_dir": str(tmp_path)},
                                on_line=restart_consumer_once_brokers_stop)

    assert restarted.is_set()
    assert code != 0
    assert "The offset change did not happen" in output, output[-4000:]
    assert "No offset changed." in output
    assert "are started again" in output
    assert "rerun -e consumer_group=" + group in output
    assert "wait_inactive" not in output.split("The offset change did not happen")[1]
    assert committed_offsets(lab, group) == offsets_before
    assert lab.status()["brokers"] == [1, 2, 3], "a refusal must leave every broker running"
    assert journal(group)["phase"] == "refused"

    # The rerun sees the new situation: a fresh preflight, not the old plan.
    for _attempt in range(60):
        if lab.consumer_status(group)["partitions"]:
            break
        time.sleep(0.5)
    code, output = run_playbook(group, extra={"broker_restart": "none", "report_dir": str(tmp_path)})
    assert code == 0, output[-4000:]
    assert "Resuming the run" not in output
    assert committed_offsets(lab, group)[(group, 1)] > broken["last_offset"] + 1
    assert journal(group)["phase"] == "complete"


def test_topics_given_as_a_plain_string_name_one_topic(lab, stuck_group, tmp_path):
    group, broken = stuck_group
    code, output = run_playbook(group, "--check", "-e", f"topics={group}", "-e", "partitions=1",
                                extra={"report_dir": str(tmp_path)})
    assert code == 0, output[-4000:]
    report = latest_report(tmp_path, group)
    assert [(s["topic"], s["partition"], s["to_offset"]) for s in report["skipped"]] == [
        (group, 1, broken["last_offset"] + 1)]


def test_a_bad_partitions_value_refuses_in_one_line(lab, tmp_path):
    code, output = run_playbook("nobody", "-e", "partitions=one", extra={"report_dir": str(tmp_path)}, timeout=120)
    assert code != 0
    # Refused in the run's first task, before anything is read or changed.
    assert "partitions='one' is not valid: expected a list of whole numbers" in output
    assert "TASK [Stop on a setting that cannot be used, changing nothing]" in output


@pytest.fixture
def stopped_group_on_follower_damage(lab):
    """A group with no consumer whose committed offset on partition 1 lies in damage found only on a follower.

    The damaged replica is not the preferred one, and the preferred one leads again after the brokers' restart:
    Kafka's automatic preferred-leader election would otherwise hand the damaged replica the lead at some point,
    and the run would then repair it instead."""
    group = unique_name("follower")
    lab.produce(group, 90, partitions=3)
    replicas = partition_state(group, 1)["replicas"]
    (broken,) = lab.corrupt_many([(group, 1, 20, [replicas[1]])])
    elect_preferred(group, 1)
    client = zk_client()
    try:
        ends = lab.end_offsets(group)
        for partition, end in ends.items():
            client.create(f"/consumers/{group}/offsets/{group}/{partition}",
                          str(20 if partition == 1 else end).encode(), makepath=True)
    finally:
        client.stop()
        client.close()
    try:
        yield group, broken
    finally:
        remove_journal(group)
        cleanup(group)


def test_follower_only_damage_under_an_intact_leader_says_the_leader_is_intact(
        lab, stopped_group_on_follower_damage, tmp_path):
    group, broken = stopped_group_on_follower_damage
    nodes_before = offset_nodes(group)
    processes_before = lab_processes(lab)

    code, output = run_playbook(group, extra={"broker_restart": "none", "report_dir": str(tmp_path)})

    assert code != 0
    # The callback folds long messages: read them with the whitespace collapsed. Whichever intact replica leads
    # when the run reads the cluster (Kafka's automatic preferred-leader elections may move it between the
    # damage and the run), the run names it.
    said = " ".join(output.split())
    named = re.search(rf"partition {re.escape(group)}-1: the leader \(broker (\d+)\) is intact at offset 20", said)
    assert named and int(named.group(1)) not in broken["damaged_brokers"], output[-3000:]
    assert "the group is not stuck on damage (its consumers are stopped)" in said
    assert f"follower(s) {broken['damaged_brokers']}" in said
    assert "an intact replica the leader" not in said
    assert offset_nodes(group) == nodes_before
    assert lab_processes(lab) == processes_before
    assert total_changed(output) == 0
