# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The seed scenario of issue 2: a legacy consumer stuck on a corrupt record, reproduced on the real lab.

1,000 records go to a 3-partition topic with replication factor 3; the legacy consumer reads the first 400,
then one later record is corrupted on every replica. The consumer must stop exactly at that offset with a CRC
error, keep its ZooKeeper offset on the bad record across a restart, and Kafka's DumpLogSegments must mark
the batch `isvalid: false`.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import uuid

import pytest
from kazoo.client import KazooClient

from lab.layout import HOSTS, REPO
from lab.waiting import wait_for
from lab.layout import ansible_command

pytestmark = pytest.mark.lab

BAD_PARTITION = 1


def zk_offset(lab, group: str, topic: str, partition: int) -> int | None:
    client = KazooClient(hosts=lab.ZK_HOSTS + lab.ZK_CHROOT)
    client.start(timeout=10)
    try:
        path = f"/consumers/{group}/offsets/{topic}/{partition}"
        if not client.exists(path):
            return None
        return int(client.get(path)[0].decode())
    finally:
        client.stop()
        client.close()


def committed(lab, group: str) -> dict[int, int]:
    return {item["partition"]: item["committed_offset"] for item in lab.consumer_status(group)["partitions"]}


def stuck_partitions(lab, group: str) -> list[dict]:
    return [item for item in lab.consumer_status(group)["partitions"] if item["stuck"]]


@pytest.fixture(name="seeded")
def seeded_fixture(lab):
    """Topic and group with a uuid suffix; the first 400 records consumed, 600 more produced afterwards."""
    suffix = uuid.uuid4().hex[:10]
    topic, group = f"seed-{suffix}", f"seed-legacy-{suffix}"
    lab.create_topic(topic, partitions=3, replication=3)
    lab.produce(topic, 400, partitions=3)
    lab.consumer_configure(group, topic)
    lab.consumer_start(group)
    try:
        wait_for(lambda: sum(committed(lab, group).values()) == 400, "the consumer to commit 400 records")
    finally:
        lab.consumer_stop(group)
    first_pass = committed(lab, group)
    lab.produce(topic, 600, partitions=3)
    yield {"topic": topic, "group": group, "first_pass": first_pass}
    lab.consumer_stop(group)
    lab.delete_topic(topic)


def test_consumer_stops_at_the_corrupt_record_and_keeps_its_offset(lab, seeded) -> None:
    topic, group = seeded["topic"], seeded["group"]
    end = lab.end_offsets(topic)
    assert sum(end.values()) == 1000
    bad = seeded["first_pass"][BAD_PARTITION] + 100
    assert bad < end[BAD_PARTITION] - 1

    damage = lab.corrupt(topic, BAD_PARTITION, bad, replicas="all")
    assert damage["damaged_brokers"] == [1, 2, 3]
    assert damage["first_offset"] == bad == damage["last_offset"]  # one record per batch: the damage is exact

    lab.consumer_start(group)
    wait_for(lambda: stuck_partitions(lab, group), "the consumer to report a stuck partition")
    healthy = [p for p in end if p != BAD_PARTITION]
    wait_for(lambda: all(committed(lab, group)[p] == end[p] for p in healthy), "the healthy partitions to finish")

    stuck = stuck_partitions(lab, group)
    assert [item["partition"] for item in stuck] == [BAD_PARTITION]
    assert "CorruptRecordError" in stuck[0]["last_error"] and "crc" in stuck[0]["last_error"].lower()
    log = (lab.LAB_ROOT / "app1" / "logs" / f"consumer-{group}.log").read_text()
    crc_lines = [line for line in log.splitlines() if "CRC" in line and f"partition={BAD_PARTITION} offset={bad}" in line]
    assert crc_lines, log[-2000:]
    assert zk_offset(lab, group, topic, BAD_PARTITION) == bad

    consumed = [offset for (t, p, offset, _key) in lab.consumed_records(group) if t == topic and p == BAD_PARTITION]
    assert sorted(set(consumed)) == list(range(bad)), "the consumer read every offset before the bad one, none after"

    # A restart re-reads the ZooKeeper offset and fails on the same record again.
    lab.consumer_stop(group)
    assert zk_offset(lab, group, topic, BAD_PARTITION) == bad
    lab.consumer_start(group)
    wait_for(lambda: stuck_partitions(lab, group), "the restarted consumer to get stuck again")
    lab.consumer_stop(group)
    assert zk_offset(lab, group, topic, BAD_PARTITION) == bad
    assert max(o for (t, p, o, _k) in lab.consumed_records(group) if t == topic and p == BAD_PARTITION) == bad - 1

    # Kafka's own DumpLogSegments agrees on every damaged replica: that batch, and only it, is invalid.
    for segment in damage["segments"]:
        batch_lines = [line for line in lab.dump_log(segment).splitlines() if line.startswith("baseOffset:")]
        invalid = [line for line in batch_lines if "isvalid: false" in line]
        assert len(invalid) == 1 and invalid[0].startswith(f"baseOffset: {bad} lastOffset: {bad} "), invalid
        assert len(batch_lines) == end[BAD_PARTITION]


def shipped_connections() -> list[str]:
    """OpenSSH everywhere; paramiko where ansible-core still ships it (up to 2.20: `make integration` runs this
    test on that line too)."""
    paramiko = importlib.util.find_spec("ansible.plugins.connection.paramiko_ssh") is not None
    return ["ssh", "paramiko"] if paramiko else ["ssh"]


@pytest.mark.parametrize("connection", shipped_connections())
def test_ansible_reaches_every_lab_host(lab, connection: str) -> None:  # pylint: disable=unused-argument
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.minimal")
    completed = subprocess.run(
        [ansible_command("ansible"), "all", "-i", str(REPO / "inventories" / "lab" / "hosts.yml"),
         "-c", connection, "-m", "ansible.builtin.ping"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    # The minimal callback prints one `host | SUCCESS => {json}` block per host.
    results = dict(re.findall(r"^(\S+) \| (\w+)", completed.stdout, re.MULTILINE))
    assert results == {host: "SUCCESS" for host in HOSTS}, completed.stdout[-3000:]
    assert len(re.findall(r"ping\W+pong", completed.stdout)) == len(HOSTS)
