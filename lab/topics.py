# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Topics, producing and Kafka's own tools, for the lab's commands and the tests."""

from __future__ import annotations

import subprocess
import time

from lab import kraft, layout, render, zk
from lab.errors import LabError

TOPIC_WAIT = 60.0
# Tools Kafka 4.x moved from core (Scala) to kafka-tools (Java): callers, written for 3.9.1, keep the old name.
MOVED_IN_4X = {"kafka.tools.DumpLogSegments": "org.apache.kafka.tools.DumpLogSegments"}


def _admin():
    from kafka.admin import KafkaAdminClient

    return KafkaAdminClient(bootstrap_servers=layout.BOOTSTRAP.split(","), client_id="kafka-ops-lab",
                            request_timeout_ms=30000)


def admin_client():
    """A KafkaAdminClient on the lab's brokers; the caller closes it."""
    return _admin()


def topic_exists(topic: str) -> bool:
    if layout.mode() == layout.KRAFT:
        return topic in kraft.topic_names()
    with zk.client() as client:
        return client.exists(f"/brokers/topics/{topic}") is not None


def create_topic(topic: str, partitions: int = 3, replication: int = 3, configs: dict | None = None) -> bool:
    """Create the topic unless it exists; wait until every partition has a leader and a full ISR.

    Returns True when this call created it.
    """
    from kafka.admin import NewTopic
    from kafka.errors import InvalidReplicationFactorError, TopicAlreadyExistsError

    created = False
    if not topic_exists(topic):
        admin = _admin()
        deadline = time.monotonic() + TOPIC_WAIT
        try:
            while not created:
                try:
                    admin.create_topics([NewTopic(topic, partitions, replication,
                                                  topic_configs={k: str(v) for k, v in (configs or {}).items()})])
                    created = True
                except TopicAlreadyExistsError:
                    break
                except InvalidReplicationFactorError:
                    # Right after a start the controller learns of a registered broker a moment later and
                    # refuses a replication factor it does not see yet: wait for it, bounded.
                    if replication > len(layout.BROKERS) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
        finally:
            admin.close()
    wait_topic_ready(topic)
    return created


def partitions_ready(partitions: list[dict]) -> bool:
    """Every partition has a leader among its replicas and a full ISR (and there is at least one partition)."""
    return bool(partitions) and all(p["leader"] in p["replicas"] and sorted(p["isr"]) == sorted(p["replicas"])
                                    for p in partitions)


def wait_topic_ready(topic: str, timeout: float = TOPIC_WAIT) -> None:
    deadline = time.monotonic() + timeout
    if layout.mode() == layout.KRAFT:
        while not partitions_ready(kraft.partitions([topic])):
            if time.monotonic() > deadline:
                raise LabError(f"topic {topic} has no leader or a short ISR after {timeout:.0f} s: see the brokers' "
                               "server.log")
            time.sleep(0.2)
        return
    with zk.client() as client:
        while True:
            assignment = (zk.read_json(client, f"/brokers/topics/{topic}") or {}).get("partitions", {})
            ready = bool(assignment)
            for partition, replicas in assignment.items():
                state = zk.read_json(client, f"/brokers/topics/{topic}/partitions/{partition}/state") or {}
                if state.get("leader", -1) not in replicas or sorted(state.get("isr", [])) != sorted(replicas):
                    ready = False
            if ready:
                return
            if time.monotonic() > deadline:
                raise LabError(f"topic {topic} has no leader or a short ISR after {timeout:.0f} s: see the brokers' "
                               "server.log")
            time.sleep(0.2)


def delete_topic(topic: str, timeout: float = TOPIC_WAIT) -> None:
    """Delete the topic and wait until ZooKeeper and every broker's log dir have forgotten it."""
    if not topic_exists(topic):
        return
    admin = _admin()
    try:
        admin.delete_topics([topic], timeout_ms=30000)
    finally:
        admin.close()
    deadline = time.monotonic() + timeout
    if layout.mode() == layout.KRAFT:
        while topic_exists(topic):
            if time.monotonic() > deadline:
                raise LabError(f"topic {topic} was not deleted within {timeout:.0f} s: see the controllers' server.log")
            time.sleep(0.2)
        return
    with zk.client() as client:
        while client.exists(f"/brokers/topics/{topic}") or client.exists(f"/admin/delete_topics/{topic}"):
            if time.monotonic() > deadline:
                raise LabError(f"topic {topic} was not deleted within {timeout:.0f} s: see the controller's server.log")
            time.sleep(0.2)


def delete_group(group: str) -> None:
    """Remove /consumers/<group> and everything under it; a group that is not there is fine (and a KRaft lab, which
    has no ZooKeeper, has none)."""
    if layout.mode() == layout.KRAFT:
        return
    with zk.client() as client:
        if client.exists(f"/consumers/{group}"):
            client.delete(f"/consumers/{group}", recursive=True)


END_OFFSET_ATTEMPTS = 4
END_OFFSET_ATTEMPT_MS = 15000


def end_offsets(topic: str) -> dict[int, int]:
    """Each partition's log end offset. Right after the lab restarts its brokers a client can stay stuck on the
    metadata it first fetched while the others still elect leaders, so each attempt uses a fresh consumer."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaTimeoutError

    attempt = 1
    while True:
        consumer = KafkaConsumer(bootstrap_servers=layout.BOOTSTRAP.split(","), enable_auto_commit=False)
        try:
            partitions = consumer.partitions_for_topic(topic) or set()
            found = consumer.end_offsets([TopicPartition(topic, p) for p in partitions],
                                         timeout_ms=END_OFFSET_ATTEMPT_MS)
            return {tp.partition: offset for tp, offset in found.items()}
        except KafkaTimeoutError:
            if attempt >= END_OFFSET_ATTEMPTS:
                raise
        finally:
            consumer.close()
        attempt += 1


def produce(topic: str, count: int, partitions: int = 3, records_per_batch: int = 1,
            first_index: int | None = None) -> dict[int, list[int]]:
    """Produce count records with keys `key-<i>`, record i to partition i % partitions.

    Each flush sends one batch of records_per_batch records to every partition, so batch boundaries are
    known: with the default of 1 every offset is its own batch. Indexes continue after the records already in
    the topic unless first_index is given. Returns the offsets written, per partition.
    """
    from kafka import KafkaProducer

    create_topic(topic, partitions)
    if first_index is None:
        first_index = sum(end_offsets(topic).values())
    producer = KafkaProducer(bootstrap_servers=layout.BOOTSTRAP.split(","), acks="all", linger_ms=60000,
                             batch_size=1 << 20, compression_type=None, retries=5, max_in_flight_requests_per_connection=1,
                             enable_idempotence=False)
    written: dict[int, list[int]] = {}
    futures = []
    try:
        for index in range(first_index, first_index + count):
            partition = index % partitions
            value = f"value-{index} " + "x" * 64
            futures.append(producer.send(topic, key=f"key-{index}".encode(), value=value.encode(), partition=partition))
            if (index - first_index + 1) % (records_per_batch * partitions) == 0:
                producer.flush(timeout=30)
        producer.flush(timeout=30)
        for future in futures:
            metadata = future.get(timeout=30)
            written.setdefault(metadata.partition, []).append(metadata.offset)
    finally:
        producer.close(timeout=10)
    return written


def run_tool(main_class: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a Kafka tool class from the jars of the lab's Kafka version; its log output goes to stderr only."""
    kafka = layout.lab_kafka()
    log4j, text = render.tools_log_config(layout.lab_root(), kafka)
    if not log4j.exists():
        log4j.parent.mkdir(parents=True, exist_ok=True)
        log4j.write_text(text)
    java = layout.java_binary()
    if not java:
        raise LabError("java not found: install Java 17 (apt-get install openjdk-17-jre-headless)")
    if layout.uses_log4j2(kafka):
        main_class = MOVED_IN_4X.get(main_class, main_class)
    command = [java, "-Xmx256m", "-XX:TieredStopAtLevel=1", render.logging_option(log4j, kafka),
               "-cp", f"{layout.jar_cache(kafka=kafka)}/*", main_class, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def dump_log(segment: str) -> str:
    result = run_tool("kafka.tools.DumpLogSegments", "--files", str(segment))
    if result.returncode != 0:
        raise LabError(f"DumpLogSegments failed on {segment}: {result.stderr.strip().splitlines()[-1:]}")
    return result.stdout
