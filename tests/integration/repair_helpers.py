# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Helpers for the repair lab tests: damaged replicas set up on purpose, and what a user checks afterwards
(replicas, ISR and leader as Kafka reports them, DumpLogSegments on every replica's segments)."""

from __future__ import annotations

import contextlib
import json
import time

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from lab import api
from lab.scenarios import wait_stuck_and_settled
from lab.layout import ansible_command
from skip_corrupt_helpers import REPO, stream_playbook

BOOTSTRAP = api.BOOTSTRAP


@contextlib.contextmanager
def admin():
    client = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=15000)
    try:
        yield client
    finally:
        client.close()


def partition_state(topic: str, partition: int) -> dict:
    """{replicas, isr, leader} as the brokers report them now."""
    with admin() as client:
        for entry in client.describe_topics([topic])[0]["partitions"]:
            if entry["partition_index"] == partition:
                return dict(replicas=entry["replica_nodes"], isr=sorted(entry["isr_nodes"]), leader=entry["leader_id"])
    raise AssertionError(f"{topic}-{partition} not found")


def elect_preferred(topic: str, partition: int, timeout: float = 30) -> None:
    """Make the preferred replica lead, as auto leader rebalancing would within minutes."""
    deadline = time.monotonic() + timeout
    while True:
        state = partition_state(topic, partition)
        if state["leader"] == state["replicas"][0]:
            return
        with admin() as client:
            client.elect_leaders(0, {topic: [partition]}, raise_errors=False)
        if time.monotonic() > deadline:
            raise AssertionError(f"{topic}-{partition} did not elect its preferred replica: {state}")
        time.sleep(0.5)


def topic_with_damage(topic: str, choose, count: int = 150) -> list[dict]:
    """A topic of `count` records over 3 partitions (replication factor 3), damaged as `choose` says: given
    {partition: replicas, preferred first} it returns [(partition, offset, broker ids)]. Every damage is done in
    one stop and start of the brokers, then the preferred replicas lead again; returns what lab.corrupt broke,
    in order."""
    api.produce(topic, count, partitions=3)
    damage = choose({p: partition_state(topic, p)["replicas"] for p in range(3)})
    broken = api.corrupt_many([(topic, partition, offset, brokers) for partition, offset, brokers in damage])
    for partition in sorted({p for p, _o, _b in damage}):
        elect_preferred(topic, partition)
    return broken


def preferred(topic: str, partition: int) -> int:
    return partition_state(topic, partition)["replicas"][0]


def stuck_on_damaged_leader(group: str, kind: str = "legacy", offset: int = 20) -> dict:
    """A topic `group` whose partition 1 has the batch at `offset` damaged on its preferred leader only (the
    leader then), and group `group` of `kind` stuck on it with every other partition read to its end."""
    api.produce(group, 150, partitions=3)
    leader = preferred(group, 1)
    (broken,) = api.corrupt_many([(group, 1, offset, [leader])])
    elect_preferred(group, 1)
    api.consumer_start(group, group, kind=kind)
    wait_stuck_and_settled(group, {group: api.end_offsets(group)}, 1)
    return broken


def invalid_batches(topic: str, partition: int) -> dict[int, int]:
    """{broker: batches DumpLogSegments calls invalid} over every segment of every replica of the partition."""
    found = {}
    for broker in (1, 2, 3):
        directory = api.broker_log_dir(broker) / f"{topic}-{partition}"
        if not directory.is_dir():
            continue
        found[broker] = sum(api.dump_log(segment).count("isvalid: false")
                            for segment in sorted(directory.glob("*.log")))
    return found


def run_repair_replicas(topic: str, *args: str, extra: dict | None = None, timeout: float = 600,
                        on_line=None) -> tuple[int, str]:
    """Run repair_replicas.yml against the lab inventory; returns (exit code, output)."""
    command = [ansible_command("ansible-playbook"), str(REPO / "playbooks" / "repair_replicas.yml"),
               "-e", json.dumps({"topic": topic, **(extra or {})}), *args]
    return stream_playbook(command, timeout, on_line)


THROTTLE_CONFIGS = ("leader.replication.throttled.rate", "follower.replication.throttled.rate",
                    "leader.replication.throttled.replicas", "follower.replication.throttled.replicas")


def throttles_set(topic: str) -> dict[str, dict[str, str]]:
    """Replication throttle configs set now on the brokers themselves and on the topic (DescribeConfigs)."""
    with admin() as client:
        found = client.describe_configs(
            [ConfigResource(ConfigResourceType.BROKER, str(broker), list(THROTTLE_CONFIGS[:2])) for broker in (1, 2, 3)]
            + [ConfigResource(ConfigResourceType.TOPIC, topic, list(THROTTLE_CONFIGS[2:]))], config_filter="all")
    answer = {f"broker {b}": {name: entry["value"] for name, entry in found["broker"][str(b)].items()
                              if entry["config_source"] == "DYNAMIC_BROKER_CONFIG"} for b in (1, 2, 3)}
    answer[f"topic {topic}"] = {name: entry["value"] for name, entry in found["topic"][topic].items()
                                if entry["config_source"] == "DYNAMIC_TOPIC_CONFIG"}
    return {where: configs for where, configs in answer.items() if configs}
