# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The companion playbooks on the KRaft lab with a Kafka-stored group (scan_corruption.yml, offsets_report.yml,
restore_offsets.yml, cluster_info through the Admin API), and the inventories a KRaft user gets wrong: each is
refused in one line, in bounded time, with nothing stopped."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from lab import layout
from lab.layout import ansible_command
from kraft_helpers import INVENTORY
from skip_corrupt_helpers import REPO, latest_report, run_playbook

pytestmark = pytest.mark.lab


def ansible(*args: str, timeout: float = 600) -> tuple[int, str]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    done = subprocess.run([ansible_command(args[0]), "-i", INVENTORY, *args[1:]], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    return done.returncode, done.stdout + done.stderr


def companion(playbook: str, extra: dict) -> tuple[int, str]:
    return ansible("ansible-playbook", str(REPO / "playbooks" / playbook), "-e", json.dumps(extra))


def test_scan_report_skip_and_restore_on_kraft(kraft_lab, stuck_group, tmp_path):
    group, broken = stuck_group
    stuck_at = kraft_lab.kafka_group_offsets(group)
    processes = dict(kraft_lab.status()["processes"])

    code, output = companion("scan_corruption.yml", {"topics": [group], "report_dir": str(tmp_path),
                                                     "fail_on_damage": False})
    assert code == 0, output[-4000:]
    scan = json.loads(sorted(tmp_path.glob("scan_corruption-*.json"))[-1].read_text())
    damaged = {(r["topic"], r["partition"], r["broker_id"]) for r in scan["corrupt_records"]}
    assert damaged == {(group, 1, broker) for broker in (1, 2, 3)}, "node.id names each KRaft broker's replica"
    assert not any(r["topic"] == "__cluster_metadata" for r in scan["corrupt_records"])
    assert dict(kraft_lab.status()["processes"]) == processes, "a read-only scan touched a process"

    code, output = companion("offsets_report.yml", {"consumer_groups": group, "report_dir": str(tmp_path)})
    assert code == 0, output[-4000:]
    report = json.loads(sorted(tmp_path.glob("offsets-*.json"))[-1].read_text())
    rows = {row["partition"]: row for row in report["offsets"] if row["group"] == group}
    assert rows[1]["offset"] == stuck_at[(group, 1)] == broken["first_offset"] and rows[1]["lag"] > 0

    code, output = run_playbook(group, "-i", INVENTORY, extra={"broker_restart": "none", "report_dir": str(tmp_path)})
    assert code == 0, output[-4000:]
    backup = latest_report(tmp_path, group)["backup_file"]
    assert kraft_lab.kafka_group_offsets(group)[(group, 1)] > broken["last_offset"]

    code, output = companion("restore_offsets.yml", {"consumer_group": group, "backup_file": backup})
    assert code == 0, output[-4000:]
    # Back on the damaged batch, the restarted consumer is stuck there again.
    assert kraft_lab.kafka_group_offsets(group)[(group, 1)] == broken["first_offset"]
    assert f"consumer:{group}" in kraft_lab.status()["processes"], "the consumer was not started again"


def test_cluster_info_reads_the_active_controller_from_the_quorum(kraft_lab):
    code, output = ansible("ansible", "localhost", "-m", "kafka_ops.remediation.cluster_info", "-a",
                           json.dumps({"details": False, "kafka_bootstrap_servers": layout.BOOTSTRAP.split(",")}))
    assert code == 0, output[-3000:]
    answer = json.loads(output.split("=>", 1)[1])
    assert answer["metadata_mode"] == "kraft" and answer["broker_ids"] == [1, 2, 3]
    assert answer["controller_id"] == kraft_lab.quorum()["leader_id"]
    assert sorted(v["node_id"] for v in answer["quorum"]["voters"]) == [101, 102, 103]


@pytest.mark.parametrize(("extra", "expected"), [
    ({"kafka_bootstrap_servers": []}, "neither zk_hosts nor kafka_bootstrap_servers is set"),
    ({"kafka_bootstrap_servers": ["127.0.0.99:9092"], "kafka_request_timeout": 3},
     "could not reach any Kafka broker at 127.0.0.99:9092"),
])
def test_an_inventory_without_a_reachable_cluster_is_refused_in_one_line_and_nothing_stops(
        kraft_lab, tmp_path, extra, expected):
    processes = dict(kraft_lab.status()["processes"])
    began = time.monotonic()

    code, output = run_playbook("kraft-nobody", "-i", INVENTORY, extra=dict(extra, report_dir=str(tmp_path)),
                                timeout=300)

    assert code != 0
    assert expected in " ".join(output.split()), output[-4000:]
    assert time.monotonic() - began < 120
    assert dict(kraft_lab.status()["processes"]) == processes, "a refused run stopped or started a process"
