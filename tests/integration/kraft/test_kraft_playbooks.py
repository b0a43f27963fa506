# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The playbooks on the KRaft lab (Kafka 4.4.0, three dedicated controllers, three brokers, no ZooKeeper): the seed
scenario with a Kafka-stored group for each broker_restart, check mode, a broker that will not start, and
rolling_restart.yml. What is asserted is what an operator would look at: the group's committed offsets in Kafka,
the consumer's output, which processes were restarted and in which order."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from lab import cluster, layout
from lab.scenarios import journal
from lab.layout import ansible_command
from kraft_helpers import BROKER_HOSTS, CONTROLLER_HOSTS, INVENTORY, assert_reads_every_other_record_once, node_pids
from skip_corrupt_helpers import REPO, latest_report, run_playbook, total_changed

pytestmark = pytest.mark.lab


def started_at(pid: int) -> int:
    """Clock ticks since boot when the process started (field 22 of /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[19])


def run_kraft(group: str, *args: str, extra: dict) -> tuple[int, str]:
    return run_playbook(group, "-i", INVENTORY, *args, extra=extra)


def test_check_mode_plans_a_full_stop_and_changes_nothing(kraft_lab, stuck_group, tmp_path):
    group, broken = stuck_group
    offsets_before = kraft_lab.kafka_group_offsets(group)
    processes_before = dict(kraft_lab.status()["processes"])

    code, output = run_kraft(group, "--check", extra={"broker_restart": "full_stop", "report_dir": str(tmp_path)})

    assert code == 0, output[-4000:]
    assert kraft_lab.kafka_group_offsets(group) == offsets_before
    assert dict(kraft_lab.status()["processes"]) == processes_before, "check mode stopped or restarted a process"
    assert journal(group) is None, "check mode wrote a run journal"
    report = latest_report(tmp_path, group)
    assert report["check_mode"] is True
    assert [(s["partition"], s["from_offset"], s["to_offset"]) for s in report["skipped"]] == [
        (1, broken["first_offset"], broken["last_offset"] + 1)]


def test_none_skips_with_every_node_untouched_and_a_rerun_changes_nothing(kraft_lab, stuck_group, tmp_path):
    group, broken = stuck_group
    nodes_before = node_pids(kraft_lab)

    code, output = run_kraft(group, extra={"broker_restart": "none", "report_dir": str(tmp_path)})

    assert code == 0, output[-4000:]
    assert node_pids(kraft_lab) == nodes_before
    assert_reads_every_other_record_once(kraft_lab, group, broken)
    report = latest_report(tmp_path, group)
    assert report["settings"]["offset_storage"] == "kafka"
    assert report["records_lost_total"] == broken["last_offset"] + 1 - broken["first_offset"]
    assert journal(group)["phase"] == "complete"

    code, output = run_kraft(group, extra={"broker_restart": "none", "report_dir": str(tmp_path)})
    assert code == 0, output[-4000:]
    assert "is not stuck" in output and total_changed(output) == 0, output[-4000:]


def test_rolling_restarts_every_broker_once_and_leaves_the_controllers(kraft_lab, stuck_group, tmp_path):
    group, broken = stuck_group
    nodes_before = node_pids(kraft_lab)

    code, output = run_kraft(group, extra={"broker_restart": "rolling", "report_dir": str(tmp_path)})

    assert code == 0, output[-4000:]
    nodes_after = node_pids(kraft_lab)
    assert all(nodes_after[host] != nodes_before[host] for host in BROKER_HOSTS), "a broker was not restarted"
    assert all(nodes_after[host] == nodes_before[host] for host in CONTROLLER_HOSTS), (
        "a controller was restarted: it holds no partition")
    assert sorted(journal(group)["rolled"]) == BROKER_HOSTS
    assert kraft_lab.status()["brokers"] == [1, 2, 3]
    assert_reads_every_other_record_once(kraft_lab, group, broken)


def test_full_stop_stops_brokers_before_controllers_and_starts_controllers_first(kraft_lab, stuck_group, tmp_path):
    group, broken = stuck_group
    nodes_before = node_pids(kraft_lab)

    code, output = run_kraft(group, extra={"broker_restart": "full_stop", "report_dir": str(tmp_path)})

    assert code == 0, output[-4000:]
    nodes_after = node_pids(kraft_lab)
    assert sorted(nodes_after) == sorted(nodes_before)
    assert all(nodes_after[host] != nodes_before[host] for host in nodes_before), "a node was not restarted"
    newest_controller = max(started_at(nodes_after[host]) for host in CONTROLLER_HOSTS)
    oldest_broker = min(started_at(nodes_after[host]) for host in BROKER_HOSTS)
    assert newest_controller <= oldest_broker, "a broker started before every controller was up"
    current = kraft_lab.status()
    assert current["brokers"] == [1, 2, 3] and current["quorum"]["leader_id"] in layout.CONTROLLERS
    assert_reads_every_other_record_once(kraft_lab, group, broken)
    report = latest_report(tmp_path, group)
    assert report["settings"]["broker_restart"] == "full_stop"
    assert report["verified"][0]["partition"] == 1


def test_broker_that_will_not_start_stops_the_run_and_a_rerun_after_the_fix_completes(
        kraft_lab, stuck_group, tmp_path):
    group, broken = stuck_group
    first_started = BROKER_HOSTS[-1]  # brokers stop in inventory order and start in reverse
    config = kraft_lab.LAB_ROOT / first_started / "conf" / "server.properties"
    original = config.read_text()
    config.write_text(original + "\nnum.network.threads=not-a-number\n")
    try:
        code, output = run_kraft(group, extra={"broker_restart": "full_stop", "report_dir": str(tmp_path),
                                               "broker_service_start_settle_time": 8})
        assert code != 0
        flat = " ".join(output.split())
        assert f"on {first_started} did not come back" in flat, output[-4000:]
        assert "not-a-number" in output or "ConfigException" in output, "the failure should show the broker log"
        running = cluster.running_processes()  # status() needs a broker to ask
        assert all(host in running for host in CONTROLLER_HOSTS), "the controllers start before any broker"
        assert not any(host in running for host in BROKER_HOSTS), "a further broker was started"
        assert f"consumer:{group}" not in running, "the consumer was started"
    finally:
        config.write_text(original)

    code, output = run_kraft(group, extra={"broker_restart": "full_stop", "report_dir": str(tmp_path)})

    assert code == 0, output[-4000:]
    assert kraft_lab.status()["brokers"] == [1, 2, 3]
    assert_reads_every_other_record_once(kraft_lab, group, broken)
    assert journal(group)["phase"] == "complete"


def test_rolling_restart_restarts_each_node_once_controllers_first_the_active_controller_last(kraft_lab):
    nodes_before = node_pids(kraft_lab)
    active = f"controller{kraft_lab.quorum()['leader_id'] - 100}"
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")

    done = subprocess.run([ansible_command("ansible-playbook"), "-i", INVENTORY,
                           str(REPO / "playbooks" / "rolling_restart.yml")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900, check=False)

    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    nodes_after = node_pids(kraft_lab)
    assert all(nodes_after[host] != nodes_before[host] for host in nodes_before), "a node was not restarted"
    started = {host: started_at(pid) for host, pid in nodes_after.items()}
    others = [host for host in CONTROLLER_HOSTS if host != active]
    assert max(started[host] for host in others) <= started[active], "the active controller was not restarted last"
    assert started[active] <= min(started[host] for host in BROKER_HOSTS), "a broker restarted before a controller"
    current = kraft_lab.status()
    assert current["brokers"] == [1, 2, 3] and current["under_replicated_partitions"] == []
    # Each node exactly once, in the order the run announced.
    flat = " ".join(done.stdout.split())
    announced = re.search(r"Restarting 6 node\(s\) of a kraft cluster[^:]*: ([\w >-]+)\.", flat)
    assert announced, done.stdout[-4000:]
    order = announced.group(1).split(" -> ")
    assert sorted(order) == sorted(nodes_before) and order[2] == active and order[3:] == BROKER_HOSTS
