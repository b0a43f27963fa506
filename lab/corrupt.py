# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`lab corrupt`: flip one bit inside the batch that holds an offset, on the chosen replicas' disks.

The brokers are stopped cleanly first (so the segment is complete and the clean-shutdown marker stops the
broker from re-validating it at start), then started again, the last one stopped first.
"""

from __future__ import annotations

from lab import cluster, framing, kraft, layout, zk
from lab.errors import LabError


def choose_replicas(replicas: list[int], isr: list[int], leader: int, which: str) -> list[int]:
    if which == "all":
        return sorted(replicas)
    if which == "leader":
        return [leader]
    if which == "follower":
        followers = sorted(b for b in (isr or replicas) if b != leader)
        if not followers:
            raise LabError(f"no in-sync follower besides leader {leader}: cannot damage a follower only")
        return followers[:1]
    raise LabError(f"replicas must be all, leader or follower, not {which!r}")


def _partition_state(topic: str, partition: int) -> tuple[list[int], list[int], int]:
    """(replicas, isr, leader) of a partition: from ZooKeeper, or in KRaft mode from the brokers' metadata."""
    if layout.mode() == layout.KRAFT:
        for row in kraft.partitions([topic]):
            if row["partition"] == partition:
                return row["replicas"], row["isr"], row["leader"]
        raise LabError(f"topic {topic} has no partition {partition} in the cluster's metadata (is the name right?)")
    with zk.client() as client:
        assignment = (zk.read_json(client, f"/brokers/topics/{topic}") or {}).get("partitions", {})
        if str(partition) not in assignment:
            raise LabError(f"topic {topic} has no partition {partition} in ZooKeeper (is the name right?)")
        state = zk.read_json(client, f"/brokers/topics/{topic}/partitions/{partition}/state") or {}
    return assignment[str(partition)], state.get("isr", []), state.get("leader", -1)


def _damage(broker_id: int, topic: str, partition: int, offset: int) -> dict:
    partition_dir = layout.broker_log_dir(broker_id) / f"{topic}-{partition}"
    segment = framing.segment_for(partition_dir, offset)
    if segment is None:
        raise LabError(f"broker {broker_id} has no segment holding offset {offset} in {partition_dir}")
    data = segment.read_bytes()
    batch = framing.find_batch(data, offset)
    if batch is None:
        raise LabError(f"offset {offset} is not in {segment} on broker {broker_id} (past the log end, or compacted)")
    position = framing.damage_position(data, batch, offset)
    before, after = framing.flip_bit(segment, position)
    return {"broker": broker_id, "segment": str(segment), "position": position, "byte_before": before,
            "byte_after": after, "first_offset": batch.base_offset, "last_offset": batch.last_offset,
            "batch_position": batch.position}


def corrupt(topic: str, partition: int, offset: int, replicas: str = "all") -> dict:
    assigned, isr, leader = _partition_state(topic, partition)
    chosen = choose_replicas(assigned, isr, leader, replicas)
    stop_order = cluster.stop_brokers()
    damaged = []
    try:
        for broker_id in chosen:
            damaged.append(_damage(broker_id, topic, partition, offset))
    finally:
        # The last broker stopped holds the newest data for what it led: it starts first.
        cluster.start_brokers(list(reversed(stop_order)) or None)
    return {"topic": topic, "partition": partition, "offset": offset, "leader": leader,
            "first_offset": damaged[0]["first_offset"], "last_offset": damaged[0]["last_offset"],
            "damaged_brokers": [item["broker"] for item in damaged],
            "segments": [item["segment"] for item in damaged], "details": damaged}


def corrupt_many(targets: list[tuple[str, int, int, list[int]]]) -> list[dict]:
    """Flip one bit in each (topic, partition, offset) batch on the given brokers, all in one stop and start of
    the brokers; returns what each damage broke, as corrupt() does, in order."""
    states = {(topic, partition): _partition_state(topic, partition) for topic, partition, _o, _b in targets}
    for topic, partition, _offset, brokers in targets:
        assigned = states[(topic, partition)][0]
        if not brokers or any(b not in assigned for b in brokers):
            raise LabError(f"{topic}-{partition} has replicas on brokers {assigned}, not on all of {brokers}")
    stop_order = cluster.stop_brokers()
    results = []
    try:
        for topic, partition, offset, brokers in targets:
            damaged = [_damage(broker_id, topic, partition, offset) for broker_id in sorted(brokers)]
            results.append({"topic": topic, "partition": partition, "offset": offset,
                            "leader": states[(topic, partition)][2], "first_offset": damaged[0]["first_offset"],
                            "last_offset": damaged[0]["last_offset"],
                            "damaged_brokers": [item["broker"] for item in damaged],
                            "segments": [item["segment"] for item in damaged], "details": damaged})
    finally:
        cluster.start_brokers(list(reversed(stop_order)) or None)
    return results


def format_result(result: dict) -> str:
    lines = [f"corrupted {result['topic']}-{result['partition']} offset {result['offset']}: batch "
             f"{result['first_offset']}..{result['last_offset']} on broker(s) "
             f"{', '.join(str(b) for b in result['damaged_brokers'])} (leader was {result['leader']})"]
    for item in result["details"]:
        lines.append(f"  broker {item['broker']}: {item['segment']} byte {item['position']} "
                     f"0x{item['byte_before']:02x} -> 0x{item['byte_after']:02x}")
    return "\n".join(lines)
