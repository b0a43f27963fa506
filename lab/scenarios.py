# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The situations the integration tests and the benchmarks set up on the lab, and how they leave it again.

Both import them from here, so a test and a benchmark of the same situation set up the same thing (the modern group
and cleanup on either lab mode, the legacy and ZooKeeper-only ones on the ZooKeeper lab):
a consumer group stuck on a record damaged on every replica, legacy (make_stuck_group) or with its offsets in
Kafka (make_stuck_kafka_group), then cleanup; and a group
of thousands of partitions as ZooKeeper metadata only, in a chroot of its own (private_group).
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import time
import uuid
from typing import Iterator

from kazoo.client import KazooClient

from lab import api, zk
from lab.errors import LabError

# Where skip_corrupt.yml keeps each group's run journal unless told otherwise (skip_corrupt_state_file).
JOURNALS = pathlib.Path.home() / ".ansible" / "kafka_ops_remediation" / "runs"
# Partition offset nodes per ZooKeeper transaction: keeps each request well under jute.maxbuffer.
NODES_PER_TRANSACTION = 2000


def unique_name(prefix: str) -> str:
    """A topic and group name no other run uses: scenarios share the lab, so each gets its own."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _needs_zookeeper(what: str) -> None:
    """Refuse at once, before anything is produced or damaged, a scenario a KRaft lab cannot hold."""
    if api.mode() == api.KRAFT:
        raise LabError(f"{what} needs the ZooKeeper lab; the lab runs in KRaft mode (python -m lab down, then "
                       "python -m lab up)")


def make_stuck_group(name: str, count: int = 150, offset: int = 20, dual_commit: bool = False) -> dict:
    """A topic `name` of `count` records over 3 partitions, the record at `offset` of partition 1 damaged on
    every replica, and legacy consumer group `name` stuck on it (committing to Kafka too with dual_commit);
    returns what lab.corrupt broke."""
    _needs_zookeeper(f"legacy consumer group {name}")
    api.produce(name, count, partitions=3)
    broken = api.corrupt(name, 1, offset, "all")
    api.consumer_start(name, name, dual_commit=dual_commit)
    wait_stuck_and_settled(name, {name: api.end_offsets(name)}, 1)
    return broken


def make_stuck_kafka_group(name: str, count: int = 150, offset: int = 20, second_topic: bool = False) -> dict:
    """make_stuck_group for a modern consumer, whose offsets live in Kafka: a topic `name` of `count` records over
    3 partitions, the record at `offset` of partition 1 damaged on every replica, and group `name` stuck on it with
    its other partitions committed at log end. With second_topic, topic `name`-b gets the same and the group
    consumes both, stuck on both; the answer then holds what lab.corrupt broke there under "second"."""
    topics = [name, f"{name}-b"] if second_topic else [name]
    broken = {}
    for topic in topics:
        api.produce(topic, count, partitions=3)
        broken[topic] = api.corrupt(topic, 1, offset, "all")
    api.consumer_start(name, topics, kind="modern")
    wait_stuck_and_settled(name, {topic: api.end_offsets(topic) for topic in topics}, len(topics))
    answer = broken[name]
    if second_topic:
        answer = dict(answer, second=broken[topics[1]])
    return answer


def wait_stuck_and_settled(group: str, ends: dict[str, dict[int, int]], stuck_partitions: int) -> None:
    """Wait until the group's consumer is stuck on stuck_partitions partitions and has committed every other
    partition of `ends` ({topic: {partition: log end}}) at its log end."""
    deadline = time.monotonic() + 60
    total = sum(len(partitions) for partitions in ends.values())
    while time.monotonic() < deadline:
        # Stuck on the damage, and done with every other partition: nothing it commits later changes a test's
        # "offsets before".
        partitions = api.consumer_status(group)["partitions"]
        stuck = [p for p in partitions if p["stuck"]]
        done = [p for p in partitions
                if not p["stuck"] and p["committed_offset"] >= ends.get(p["topic"], {}).get(p["partition"], 0)]
        if len(stuck) >= stuck_partitions and len(stuck) + len(done) == total:
            return
        time.sleep(0.5)
    raise LabError(f"consumer {group} did not get stuck and settle: {api.consumer_status(group)}")


def journal(group: str) -> dict | None:
    """The run journal skip_corrupt.yml keeps for group, None when there is none."""
    path = JOURNALS / f"skip_corrupt-{group}.json"
    return json.loads(path.read_text()) if path.exists() else None


def remove_journal(group: str) -> None:
    (JOURNALS / f"skip_corrupt-{group}.json").unlink(missing_ok=True)


def cleanup(group: str) -> None:
    """Leave the lab as the scenario found it: consumer stopped, brokers up and in sync, journal, topics and
    group gone (its ZooKeeper tree, and for a modern or dual-commit group its Kafka group too)."""
    config = api.consumer_config(group)
    try:
        api.consumer_stop(group)
    finally:
        api.start_brokers()
        remove_journal(group)
        for topic in dict.fromkeys([group, *config.get("topics", [])]):
            api.delete_topic(topic)
        api.delete_group(group)
        if config.get("kind") == "modern" or config.get("dual_commit"):
            api.delete_kafka_group(group)


@contextlib.contextmanager
def private_group(group: str, topic: str, count: int, offset: bytes = b"7", replicas: tuple[int, ...] = (1,),
                  chroot_prefix: str = "kafka_ops_it") -> Iterator[tuple[str, KazooClient]]:
    """(chroot, client in it): a chroot of its own where `topic` has `count` partitions (each on `replicas`) as
    ZooKeeper metadata only and `group` an inactive member registry and an offset node per partition holding
    `offset`. A real topic of thousands of partitions would overload the shared lab, so modules run there with
    log_offsets=false or a stand-in for the brokers. The chroot is deleted on the way out."""
    _needs_zookeeper(f"private group {group}")
    chroot = f"/{chroot_prefix}_{uuid.uuid4().hex[:8]}"
    with zk.client("", timeout=10) as admin:
        admin.ensure_path(chroot)
        try:
            with zk.client(chroot, timeout=10) as client:
                client.create(f"/brokers/topics/{topic}", json.dumps(
                    {"version": 2, "partitions": {str(p): list(replicas) for p in range(count)}}).encode(),
                    makepath=True)
                client.ensure_path(f"/consumers/{group}/ids")
                client.ensure_path(f"/consumers/{group}/offsets/{topic}")
                for start in range(0, count, NODES_PER_TRANSACTION):
                    transaction = client.transaction()
                    for partition in range(start, min(start + NODES_PER_TRANSACTION, count)):
                        transaction.create(f"/consumers/{group}/offsets/{topic}/{partition}", offset)
                    transaction.commit()
                yield chroot, client
        finally:
            admin.delete(chroot, recursive=True)
