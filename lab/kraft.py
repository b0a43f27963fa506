# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the KRaft lab reads through kafka-python's Admin API where the ZooKeeper lab reads ZooKeeper: registered
brokers, the quorum and its leader, partitions with their leader and ISR.

There is no registry to read in KRaft mode: the brokers answer for the controllers' metadata. A broker is listed by
DescribeCluster once it has registered; kafka-python asks for fenced brokers too and Kafka 4.x marks them
(`is_fenced`), so a broker counts only when it is registered and unfenced. The active controller is the quorum's
leader (DescribeQuorum), not DescribeCluster's controller id, which a KRaft broker fills with a random live broker.
"""

from __future__ import annotations

import time

from lab import layout
from lab.errors import LabError

METADATA_TOPIC = "__cluster_metadata"


def admin_client(timeout_ms: int = 30000):
    """A KafkaAdminClient on the lab's brokers; the caller closes it."""
    from kafka.admin import KafkaAdminClient

    return KafkaAdminClient(bootstrap_servers=layout.BOOTSTRAP.split(","), client_id="kafka-ops-lab",
                            request_timeout_ms=timeout_ms)


def unfenced_brokers(cluster: dict) -> list[int]:
    """Broker ids a DescribeCluster answer lists as registered and not fenced."""
    return sorted(b["broker_id"] for b in cluster.get("brokers", []) if not b.get("is_fenced", False))


def quorum_summary(answer: dict) -> dict:
    """The metadata partition of a DescribeQuorum answer as {leader_id, leader_epoch, high_watermark, voters,
    observers}; leader_id -1 means the quorum has no leader."""
    for topic in answer.get("topics", []):
        if topic.get("topic_name") != METADATA_TOPIC:
            continue
        for partition in topic.get("partitions", []):
            return {"leader_id": partition.get("leader_id", -1), "leader_epoch": partition.get("leader_epoch", -1),
                    "high_watermark": partition.get("high_watermark", -1),
                    "voters": sorted(v["replica_id"] for v in partition.get("current_voters", [])),
                    "observers": sorted(o["replica_id"] for o in partition.get("observers", []))}
    return {"leader_id": -1, "leader_epoch": -1, "high_watermark": -1, "voters": [], "observers": []}


def partitions_of(topics: list[dict]) -> list[dict]:
    """describe_topics answers as the lab's partition rows: topic, partition, replicas, leader, isr (internal
    topics such as __consumer_offsets included, as ZooKeeper's /brokers/topics lists them)."""
    rows = []
    for topic in topics:
        if topic.get("error_code", 0) != 0:
            continue
        for partition in sorted(topic.get("partitions", []), key=lambda item: item["partition_index"]):
            rows.append({"topic": topic["name"], "partition": partition["partition_index"],
                         "replicas": list(partition.get("replica_nodes", [])),
                         "leader": partition.get("leader_id", -1), "isr": list(partition.get("isr_nodes", []))})
    return rows


def _ask(call, what: str, timeout: float):
    """call(admin) on a fresh admin client; a cluster that does not answer yet is asked again until timeout."""
    from kafka.errors import KafkaError

    deadline = time.monotonic() + timeout
    while True:
        try:
            admin = admin_client(timeout_ms=5000)
        except KafkaError as error:
            if time.monotonic() > deadline:
                raise LabError(f"no KRaft broker answers {what} at {layout.BOOTSTRAP}: {error} (is the lab up? "
                               "python -m lab up --metadata kraft)") from None
            time.sleep(0.5)
            continue
        try:
            return call(admin)
        except KafkaError as error:
            if time.monotonic() > deadline:
                raise LabError(f"{what} failed on {layout.BOOTSTRAP}: {error}") from None
        finally:
            admin.close()
        time.sleep(0.5)


def brokers(timeout: float = 10.0) -> list[int]:
    return unfenced_brokers(_ask(lambda admin: admin.describe_cluster(), "DescribeCluster", timeout))


def quorum(timeout: float = 10.0) -> dict:
    return quorum_summary(_ask(lambda admin: admin.describe_metadata_quorum(), "DescribeQuorum", timeout))


def partitions(topics: list[str] | None = None, timeout: float = 10.0) -> list[dict]:
    """Partition rows of the given topics (all topics when None); a topic the cluster does not know has none."""
    return partitions_of(_ask(lambda admin: admin.describe_topics(topics), "Metadata", timeout))


def topic_names(timeout: float = 10.0) -> list[str]:
    return sorted(_ask(lambda admin: admin.list_topics(), "Metadata", timeout))
