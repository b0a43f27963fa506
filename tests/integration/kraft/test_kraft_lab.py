# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lab in KRaft mode (Kafka 4.4.0, controller1-3 and kafka1-3) as the collection's KRaft tests will use it:
the quorum and the registered brokers, a record damaged on every replica that Kafka's DumpLogSegments calls invalid
and that stops the modern consumer, the inventory inventories/lab-kraft, and the one-line refusals."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from lab import cluster, layout
from lab.scenarios import cleanup, make_stuck_kafka_group, unique_name
from lab.waiting import wait_for
from lab.layout import ansible_command

pytestmark = pytest.mark.lab

INVENTORY = layout.REPO / "inventories" / "lab-kraft"


def run_lab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab", *args], cwd=layout.REPO, capture_output=True, text=True,
                          timeout=300, check=False)


def meta_properties(log_dir) -> dict[str, str]:
    lines = (log_dir / "meta.properties").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


@pytest.fixture(scope="module")
def stuck_group(kraft_lab):  # pylint: disable=unused-argument
    """(group, what lab.corrupt broke): a modern group stuck on a record damaged on every replica."""
    group = unique_name("kraft-stuck")
    broken = make_stuck_kafka_group(group)
    yield group, broken
    cleanup(group)


def test_the_quorum_has_a_leader_and_every_broker_is_registered(kraft_lab) -> None:
    assert kraft_lab.mode() == "kraft" and kraft_lab.is_up("kraft") and not kraft_lab.is_up()
    result = run_lab("status", "--json")
    assert result.returncode == 0, result.stderr
    current = json.loads(result.stdout)
    assert current["metadata"] == "kraft" and current["brokers"] == [1, 2, 3]
    assert current["quorum"]["voters"] == [101, 102, 103] and current["quorum"]["observers"] == [1, 2, 3]
    # The active controller is the quorum's leader, one of the dedicated controllers.
    assert current["controller"] == current["quorum"]["leader_id"]
    assert current["controller"] in (101, 102, 103)
    assert current["under_replicated_partitions"] == [] and current["offline_partitions"] == []
    assert "quorum: leader" in run_lab("status").stdout


def test_every_node_is_formatted_for_the_one_cluster_id(kraft_lab) -> None:  # pylint: disable=unused-argument
    cluster_id = layout.cluster_id_file().read_text().strip()
    for host, log_dir in cluster.kraft_log_dirs().items():
        meta = meta_properties(log_dir)
        assert meta["cluster.id"] == cluster_id, host
        # KRaft's meta.properties v1 names node.id, not broker.id.
        assert meta["version"] == "1" and "broker.id" not in meta


def test_the_inventory_reaches_every_node_and_names_its_node_id(kraft_lab) -> None:  # pylint: disable=unused-argument
    """Over SSH with inventories/lab-kraft: each node's status script runs, and broker_service_id is its node.id."""
    result = subprocess.run(
        [ansible_command("ansible"), "-i", str(INVENTORY), "kafka", "-m", "ansible.builtin.shell",
         # Starts with a command, not "{{": ansible would take the arguments for JSON.
         "-a", "set -e; {{ broker_service_status_command }}; grep -E '^(node.id|process.roles)=' "
               "{{ kafka_server_properties }} | sort | paste -sd' '; echo id={{ broker_service_id }} "
               "roles={{ kafka_process_roles }} port={{ broker_service_port }}"],
        cwd=layout.REPO, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # "<host> | CHANGED | rc=0 >>" then the host's output lines.
    lines = {chunk.split(" | ", 1)[0]: chunk for chunk in re.split(r"\n(?=\S+ \| )", result.stdout.strip())}
    assert sorted(lines) == ["controller1", "controller2", "controller3", "kafka1", "kafka2", "kafka3"]
    for host, line in lines.items():
        node_id = int(host[-1]) + (100 if host.startswith("controller") else 0)
        role, port = ("controller", 9093) if host.startswith("controller") else ("broker", 9092)
        assert f"node.id={node_id} process.roles={role}" in line, line
        assert f"id={node_id} roles={role} port={port}" in line, line
    inventory = subprocess.run([ansible_command("ansible-inventory"), "-i", str(INVENTORY),
                                "--list"], capture_output=True, text=True, timeout=120, check=True)
    assert "kafka_zk_hosts" not in inventory.stdout


def test_a_damaged_record_is_invalid_for_dump_log_and_stops_the_modern_consumer(kraft_lab, stuck_group) -> None:
    group, broken = stuck_group
    assert broken["damaged_brokers"] == [1, 2, 3] and broken["first_offset"] == 20
    for segment in broken["segments"]:
        assert "/data-kraft/" in segment
        result = run_lab("dump-log", segment)
        assert result.returncode == 0, result.stderr
        invalid = [line for line in result.stdout.splitlines() if "isvalid: false" in line]
        assert len(invalid) == 1 and invalid[0].startswith("baseOffset: 20 lastOffset: 20"), invalid

    def stuck_partitions() -> list[dict]:
        return [p for p in kraft_lab.consumer_status(group)["partitions"] if p["stuck"]]

    # Right after the lab restarted its brokers, Kafka's preferred-leader election can move the group's coordinator:
    # the consumer's partitions are revoked and assigned again, and it is stuck again a moment later.
    stuck = wait_for(stuck_partitions, f"consumer {group} to be stuck", timeout=60)
    assert [(p["topic"], p["partition"], p["committed_offset"]) for p in stuck] == [(group, 1, 20)]
    assert "CorruptRecordError" in stuck[0]["last_error"]
    assert kraft_lab.kafka_group_offsets(group)[(group, 1)] == 20
    assert (group, 1, 20) not in [(t, p, o) for t, p, o, _key in kraft_lab.consumed_records(group)]


def test_the_legacy_consumer_is_refused_in_one_line(kraft_lab) -> None:  # pylint: disable=unused-argument
    result = run_lab("consumer", "start", "--group", unique_name("legacy"), "--topic", "t")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "--kind modern" in result.stderr


def test_up_in_zookeeper_mode_is_refused_while_kraft_runs(kraft_lab) -> None:
    before = cluster.running_processes()
    result = run_lab("up")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "a kraft lab is up" in result.stderr and "run python -m lab down first" in result.stderr
    assert cluster.running_processes() == before and kraft_lab.mode() == "kraft"
    assert kraft_lab.up(metadata="kraft")["started"] == []
