# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lab's Python API for tests: the same operations as the `python -m lab` commands."""

from __future__ import annotations

import subprocess
from pathlib import Path

from lab import cluster, consumer, layout, topics

ZK_HOSTS = layout.ZK_HOSTS
ZK_CHROOT = layout.ZK_CHROOT
BOOTSTRAP = layout.BOOTSTRAP
BROKERS = dict(layout.BROKERS)
LAB_ROOT: Path = layout.lab_root()
# KRaft mode (up(metadata=KRAFT)): the dedicated controllers' node ids and addresses, their port, the static voters.
ZOOKEEPER = layout.ZOOKEEPER
KRAFT = layout.KRAFT
CONTROLLERS = dict(layout.CONTROLLERS)
CONTROLLER_PORT = layout.CONTROLLER_PORT
QUORUM_VOTERS = layout.QUORUM_VOTERS


def up(metadata: str = ZOOKEEPER, kafka: str | None = None) -> dict:
    """Start the lab in a metadata mode: "zookeeper" (Kafka 3.9.1, zk1) or "kraft" (controller1-3; Kafka 4.4.0, or
    kafka="3.9.1"). Refuses while a lab of another mode or version runs."""
    return cluster.up(metadata, kafka)


def down() -> list[str]:
    """Stop whichever mode's lab runs."""
    return cluster.down()


def is_up(metadata: str = ZOOKEEPER, kafka: str | None = None) -> bool:
    """True when the lab runs in that mode (ZooKeeper by default, as before there were modes) and Kafka version
    (default: the mode's, so is_up("kraft") means the 4.4.0 KRaft lab)."""
    return cluster.is_up(metadata, kafka)


def mode() -> str:
    """The metadata mode of the lab that runs: "kraft" or "zookeeper" (also when nothing runs)."""
    return layout.mode()


def kafka() -> str:
    """The Kafka version of the lab that runs ("3.9.1", "4.4.0"; 3.9.1 when nothing runs)."""
    return layout.lab_kafka()


def quorum() -> dict:
    """KRaft mode: the metadata quorum as DescribeQuorum reports it (leader_id, leader_epoch, high_watermark, voters,
    observers)."""
    from lab import kraft

    return kraft.quorum()


def controller_log_dir(node_id: int) -> Path:
    return layout.controller_log_dir(node_id)


def status() -> dict:
    return cluster.status()


def broker_log_dir(broker_id: int) -> Path:
    return layout.broker_log_dir(broker_id)


def create_topic(topic: str, partitions: int = 3, replication: int = 3, configs: dict | None = None) -> bool:
    return topics.create_topic(topic, partitions, replication, configs)


def delete_topic(topic: str) -> None:
    topics.delete_topic(topic)


def produce(topic: str, count: int, partitions: int = 3, records_per_batch: int = 1,
            first_index: int | None = None) -> dict[int, list[int]]:
    return topics.produce(topic, count, partitions, records_per_batch, first_index)


def delete_group(group: str) -> None:
    """Remove a legacy group's ZooKeeper tree (/consumers/<group>): offsets, owners and member ids."""
    topics.delete_group(group)


def end_offsets(topic: str) -> dict[int, int]:
    return topics.end_offsets(topic)


def corrupt(topic: str, partition: int, offset: int, replicas: str = "all") -> dict:
    from lab import corrupt as corruptor

    return corruptor.corrupt(topic, partition, offset, replicas)


def corrupt_many(targets: list[tuple[str, int, int, list[int]]]) -> list[dict]:
    from lab import corrupt as corruptor

    return corruptor.corrupt_many(targets)


def run_tool(main_class: str, *args: str) -> subprocess.CompletedProcess:
    return topics.run_tool(main_class, *args)


def dump_log(segment: str | Path) -> str:
    return topics.dump_log(str(segment))


def consumer_configure(group: str, topic: str | list[str], kind: str = "legacy", dual_commit: bool = False) -> Path:
    """Write the group's consumer config: kind "legacy" (ZooKeeper offsets) or "modern" (a Kafka group member);
    dual_commit makes a legacy consumer commit to ZooKeeper and Kafka."""
    return consumer.configure(group, topic, kind, dual_commit)


def consumer_start(group: str, topic: str | list[str] | None = None, kind: str = "legacy",
                   dual_commit: bool = False) -> str:
    """Start the group's consumer (with topic: configure it first with kind and dual_commit) and wait until it
    has registered (legacy) or has its partitions (modern)."""
    message = consumer.start(group, topic, kind, dual_commit)
    consumer.wait_registered(group)
    return message


def consumer_config(group: str) -> dict:
    """The group's consumer config as configure wrote it; empty when there is none."""
    return consumer.read_config(group)


def consumer_stop(group: str, topic: str | None = None) -> str:
    return consumer.stop(group)


def consumer_status(group: str) -> dict:
    return consumer.status(group)


def consumed_records(group: str) -> list[tuple[str, int, int, str]]:
    return consumer.consumed_records(group)


def stop_brokers() -> list[int]:
    return cluster.stop_brokers()


def start_brokers(order: list[int] | None = None) -> None:
    cluster.start_brokers(order)


def kafka_group_offsets(group: str) -> dict[tuple[str, int], int]:
    """(topic, partition) -> the offset the group has committed in Kafka."""
    from lab import kafka_groups

    return kafka_groups.committed_offsets(group)


def kafka_group_state(group: str) -> str | None:
    """The Kafka group's state (Stable, Empty, ...), None when Kafka has no such group."""
    from lab import kafka_groups

    return kafka_groups.state(group)


def kafka_group_describe(group: str) -> dict:
    from lab import kafka_groups

    return kafka_groups.describe(group)


def delete_kafka_group(group: str) -> bool:
    """Delete a group from Kafka's group coordinator; True when it was there."""
    from lab import kafka_groups

    return kafka_groups.delete(group)


def java_console_consume(topic: str, group: str | None = None, timeout_ms: int = 10000,
                         max_messages: int | None = None, from_beginning: bool = True) -> dict:
    """Kafka's Java console consumer on topic (a member of group when given): records, invalid batches, output."""
    from lab import java_consumer

    return java_consumer.console_consume(topic, group, timeout_ms, max_messages, from_beginning)


def java_group_offsets(group: str) -> dict[tuple[str, int], int | None]:
    """The group's committed offsets as Kafka's ConsumerGroupCommand --describe shows them."""
    from lab import java_consumer

    return java_consumer.committed_offsets(group)
