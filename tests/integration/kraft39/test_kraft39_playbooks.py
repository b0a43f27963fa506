# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection on a KRaft cluster of Kafka 3.9.1 (three dedicated controllers, three brokers): one rolling
remediation of a Kafka-stored group, then cluster_info. A 3.9 broker answers DescribeCluster up to v1, which has no
fenced-brokers field (KIP-1073 added it in 4.0): this is where the collection's reading of the brokers and the quorum
through kafka-python is proven on 3.9."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from lab import layout
from lab.scenarios import cleanup, journal, make_stuck_kafka_group, unique_name
from lab.layout import ansible_command
from kraft_helpers import BROKER_HOSTS, CONTROLLER_HOSTS, INVENTORY, assert_reads_every_other_record_once, node_pids
from skip_corrupt_helpers import REPO, run_playbook

pytestmark = pytest.mark.lab


@pytest.fixture
def stuck_group(kraft39_lab):  # pylint: disable=unused-argument
    """(group, what lab.corrupt broke): a modern group stuck on a record damaged on every replica."""
    group = unique_name("kraft39-stuck")
    broken = make_stuck_kafka_group(group)
    yield group, broken
    cleanup(group)


def cluster_info() -> dict:
    # ansible.cfg asks for YAML results; the one-line answer after "=>" is JSON only with the json format.
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    done = subprocess.run(
        [ansible_command("ansible"), "-i", INVENTORY, "localhost", "-m",
         "kafka_ops.remediation.cluster_info",
         "-a", json.dumps({"details": False, "kafka_bootstrap_servers": layout.BOOTSTRAP.split(",")})],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return json.loads(done.stdout.split("=>", 1)[1])


def test_rolling_skip_restarts_each_broker_once_and_cluster_info_names_the_quorum_leader(kraft39_lab, stuck_group,
                                                                                         tmp_path):
    assert (kraft39_lab.mode(), kraft39_lab.kafka()) == ("kraft", "3.9.1")
    group, broken = stuck_group
    nodes_before = node_pids(kraft39_lab)

    code, output = run_playbook(group, "-i", INVENTORY, extra={"broker_restart": "rolling", "report_dir": str(tmp_path)})

    assert code == 0, output[-4000:]
    nodes_after = node_pids(kraft39_lab)
    assert all(nodes_after[host] != nodes_before[host] for host in BROKER_HOSTS), "a broker was not restarted"
    assert all(nodes_after[host] == nodes_before[host] for host in CONTROLLER_HOSTS), (
        "a controller was restarted: it holds no partition")
    assert sorted(journal(group)["rolled"]) == BROKER_HOSTS
    assert kraft39_lab.status()["brokers"] == [1, 2, 3]
    assert_reads_every_other_record_once(kraft39_lab, group, broken)

    answer = cluster_info()
    assert answer["metadata_mode"] == "kraft" and answer["broker_ids"] == [1, 2, 3]
    assert answer["controller_id"] == kraft39_lab.quorum()["leader_id"]
    assert answer["controller_id"] in layout.CONTROLLERS
