# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lab's own life cycle on the running lab: idempotent up, status, and a broker that fails to start."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from lab import cluster, layout

pytestmark = pytest.mark.lab


def run_lab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab", *args], cwd=layout.REPO, capture_output=True, text=True,
                          timeout=300, check=False)


def test_up_again_leaves_the_running_lab_alone(lab) -> None:
    before = cluster.running_processes()
    assert lab.up()["started"] == []
    after = cluster.running_processes()
    assert {name: pid for name, pid in after.items() if not name.startswith("consumer:")} == {
        name: pid for name, pid in before.items() if not name.startswith("consumer:")}


def test_status_json_reports_brokers_controller_and_partitions(lab) -> None:  # pylint: disable=unused-argument
    result = run_lab("status", "--json")
    assert result.returncode == 0, result.stderr
    current = json.loads(result.stdout)
    assert current["brokers"] == [1, 2, 3]
    assert current["controller"] in (1, 2, 3)
    assert current["under_replicated_partitions"] == [] and current["offline_partitions"] == []


def test_service_scripts_report_status_with_lsb_codes(lab) -> None:  # pylint: disable=unused-argument
    for broker_id in layout.BROKERS:
        status = subprocess.run([str(cluster.broker_service(broker_id).script("status"))], capture_output=True,
                                text=True, check=False)
        assert status.returncode == 0 and "running (pid" in status.stdout
    assert subprocess.run([str(layout.host_dir("app1") / "bin" / "consumer-status.sh"), "no-such-group"],
                          capture_output=True, check=False).returncode == 3


def test_a_broker_that_does_not_start_is_named_with_its_log_and_stopped(lab) -> None:
    """kafka2 with a meta.properties of another broker refuses to start, as after a wrong disk swap."""
    service = cluster.broker_service(2)
    meta = lab.broker_log_dir(2) / "meta.properties"
    stop = subprocess.run([str(service.script("stop"))], capture_output=True, text=True, check=False)
    assert stop.returncode == 0, stop.stderr
    original = meta.read_text()
    try:
        meta.write_text(original.replace("broker.id=2", "broker.id=7"))
        result = run_lab("up")
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "kafka2" in lines[0] and str(layout.broker_log_file(2)) in lines[0]
        assert service.pid() is None, "up must stop the broker it started when that broker fails"
        assert all(cluster.broker_service(b).pid() for b in (1, 3)), "brokers up did not start stay running"
    finally:
        meta.write_text(original)
        lab.start_brokers()
    assert lab.is_up()


@pytest.mark.parametrize("which", ["leader", "follower"])
def test_corrupt_damages_only_the_chosen_replica(lab, which: str) -> None:
    """A multi-record batch damaged on one replica: that copy is invalid, the others still valid."""
    topic = f"lab-corrupt-{which}-{uuid.uuid4().hex[:8]}"
    lab.create_topic(topic, partitions=3, replication=3)
    lab.produce(topic, 60, partitions=3, records_per_batch=5)  # offsets 0-19 per partition, batches of 5
    try:
        leader = next(p["leader"] for p in lab.status()["partitions"] if p["topic"] == topic and p["partition"] == 0)
        damage = lab.corrupt(topic, 0, 12, replicas=which)
        assert (damage["first_offset"], damage["last_offset"]) == (10, 14)
        assert len(damage["damaged_brokers"]) == 1
        assert (damage["damaged_brokers"][0] == leader) == (which == "leader")
        for broker_id in lab.BROKERS:
            segment = lab.broker_log_dir(broker_id) / f"{topic}-0" / "00000000000000000000.log"
            invalid = [line for line in lab.dump_log(segment).splitlines() if "isvalid: false" in line]
            if broker_id in damage["damaged_brokers"]:
                assert len(invalid) == 1 and invalid[0].startswith("baseOffset: 10 lastOffset: 14 "), invalid
            else:
                assert invalid == []
    finally:
        lab.delete_topic(topic)
