# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`lab demo`: a legacy consumer stuck on a corrupt record, and skip_corrupt.yml getting it flowing again.

Up, a fresh topic `orders` (3 partitions, RF 3), 400 records consumed by group `orders-legacy`, 600 more
produced while it is stopped, one later record corrupted on every replica, the consumer restarted: it stops at
the bad record with the client's CRC error, and its ZooKeeper offset stays there. Then the collection's
playbook runs against the lab inventory over SSH (full stop of the brokers, the default) and the consumer
reads every partition to its end again; the run's Markdown summary closes the demo.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tempfile

from lab import cluster, consumer, corrupt, layout, topics, waiting, zk
from lab.errors import LabError

TOPIC = "orders"
GROUP = "orders-legacy"
FIRST_BATCH = 400
SECOND_BATCH = 600
BAD_PARTITION = 1
WAIT = 60.0
REPO = pathlib.Path(__file__).resolve().parents[1]


def say(text: str) -> None:
    print(f"==> {text}", flush=True)


def reset_topic_and_group() -> None:
    """Start from nothing so the demo can run again: no consumer, no group offsets, no topic, no output."""
    if consumer.pid(GROUP) is not None:
        consumer.stop(GROUP)
    with zk.client() as client:
        if zk.children(client, f"/consumers/{GROUP}/ids"):
            raise LabError(f"group {GROUP} still has live consumers in ZooKeeper; stop them and run the demo again")
        client.delete(f"/consumers/{GROUP}", recursive=True)
    topics.delete_topic(TOPIC)
    consumer.output_file(GROUP).unlink(missing_ok=True)
    consumer.log_file(GROUP).unlink(missing_ok=True)


def wait_for(predicate, what: str, timeout: float = WAIT):
    return waiting.wait_for(predicate, what, timeout, hint=f"; see {consumer.log_file(GROUP)}")


def committed(group: str) -> dict[int, int]:
    return {item["partition"]: item["committed_offset"] for item in consumer.status(group)["partitions"]}


def healthy_partitions_done(end: dict[int, int]) -> bool:
    offsets = committed(GROUP)
    return all(offsets.get(p) == end[p] for p in end if p != BAD_PARTITION)


def run() -> None:
    say("starting the lab")
    result = cluster.up()
    print(f"    lab up in {result['seconds']} s")
    say(f"fresh topic {TOPIC} (3 partitions, replication factor 3) and group {GROUP}")
    reset_topic_and_group()
    topics.create_topic(TOPIC, partitions=3, replication=3)

    say(f"producing {FIRST_BATCH} records and letting {GROUP} consume them")
    topics.produce(TOPIC, FIRST_BATCH, first_index=0)
    consumer.configure(GROUP, TOPIC)
    consumer.start(GROUP)
    consumer.wait_registered(GROUP)
    wait_for(lambda: sum(committed(GROUP).values()) == FIRST_BATCH, f"{GROUP} to commit {FIRST_BATCH} records")
    consumer.stop(GROUP)
    print(f"    committed offsets: {committed(GROUP)}")

    say(f"producing {SECOND_BATCH} more records while the consumer is stopped")
    topics.produce(TOPIC, SECOND_BATCH, first_index=FIRST_BATCH)
    end = topics.end_offsets(TOPIC)
    print(f"    log end offsets: {end}")

    bad_offset = committed(GROUP)[BAD_PARTITION] + 100
    say(f"corrupting {TOPIC}-{BAD_PARTITION} offset {bad_offset} on every replica (brokers stop and start again)")
    damage = corrupt.corrupt(TOPIC, BAD_PARTITION, bad_offset, "all")
    print("    " + corrupt.format_result(damage).replace("\n", "\n    "))

    say(f"restarting {GROUP}")
    consumer.start(GROUP)
    consumer.wait_registered(GROUP)
    stuck = wait_for(lambda: [p for p in consumer.status(GROUP)["partitions"] if p["stuck"]], "the consumer to get stuck")
    wait_for(lambda: healthy_partitions_done(end), "the healthy partitions to be consumed to their end")
    print(consumer.format_status(consumer.status(GROUP)))

    say("the consumer's log")
    for line in consumer.log_file(GROUP).read_text().splitlines():
        if "CRC" in line or "Corrupt" in line:
            print(f"    {line}")
    say(f"the group's ZooKeeper offset for partition {BAD_PARTITION} stays on the bad record")
    with zk.client() as client:
        path = f"/consumers/{GROUP}/offsets/{TOPIC}/{BAD_PARTITION}"
        print(f"    {layout.ZK_CHROOT}{path} = {zk.read_text(client, path)} (corrupted offset {bad_offset}, "
              f"stuck partitions: {[p['partition'] for p in stuck]})")
    leader_segment = damage["segments"][damage["damaged_brokers"].index(damage["leader"])]
    say(f"Kafka's DumpLogSegments on the leader's segment {leader_segment}")
    for line in topics.dump_log(leader_segment).splitlines():
        if "isvalid: false" in line:
            print(f"    {line}")

    remediate(end, bad_offset)


def remediate(end: dict[int, int], bad_offset: int) -> None:
    say(f"running playbooks/skip_corrupt.yml for {GROUP} against the lab inventory")
    report_dir = pathlib.Path(tempfile.mkdtemp(prefix="skip_corrupt-demo-"))
    command = [
        str(pathlib.Path(sys.executable).with_name("ansible-playbook")),
        "-i", str(REPO / "inventories" / "lab" / "hosts.yml"),
        str(REPO / "playbooks" / "skip_corrupt.yml"),
        "-e", f"consumer_group={GROUP}",
        "-e", f"report_dir={report_dir}",
    ]
    print("    " + " ".join(command))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    run = subprocess.run(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         check=False)
    if run.returncode != 0:
        print(run.stdout[-4000:])
        raise LabError(f"skip_corrupt.yml failed (exit {run.returncode}); its output is above")
    recap = run.stdout[run.stdout.rfind("PLAY RECAP"):]
    print("    " + recap.strip().replace("\n", "\n    "))

    wait_for(lambda: committed(GROUP) == end, f"{GROUP} to read every partition to its end", timeout=120)
    say(f"{GROUP} is flowing again: every partition consumed to its log end")
    print(consumer.format_status(consumer.status(GROUP)))
    consumed = {offset for topic, partition, offset, _key in consumer.consumed_records(GROUP)
                if topic == TOPIC and partition == BAD_PARTITION}
    lost = sorted(set(range(end[BAD_PARTITION])) - consumed)
    print(f"    offsets of {TOPIC}-{BAD_PARTITION} never consumed: {lost} (the corrupt batch at {bad_offset})")

    summaries = sorted(report_dir.glob("*.md"))
    if summaries:
        say(f"the run's summary ({summaries[-1]})")
        print(summaries[-1].read_text())
