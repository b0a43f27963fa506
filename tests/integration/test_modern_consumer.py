# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Issue 12 on the real lab: app1's modern consumer (offsets in Kafka), the legacy consumer's dual commit, and what
Kafka's own Java consumer and ConsumerGroupCommand show for a record damaged on every replica."""

from __future__ import annotations

import pytest
from kafka import TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.structs import OffsetAndMetadata

from lab import consumer as lab_consumer
from lab import processes
from lab.scenarios import cleanup, make_stuck_kafka_group, unique_name
from lab.waiting import wait_for

pytestmark = pytest.mark.lab


def admin(lab) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=lab.BOOTSTRAP.split(","), client_id="test-modern-consumer")


def kafka_offsets(lab, group: str) -> dict[int, int]:
    """The group's committed offsets in Kafka, per partition, read with KafkaAdminClient.list_group_offsets."""
    client = admin(lab)
    try:
        found = client.list_group_offsets({group: None}).get(group, {})
    finally:
        client.close()
    return {tp.partition: meta.offset for tp, meta in found.items()}


def zk_offsets(lab, group: str) -> dict[int, int]:
    return {item["partition"]: item["committed_offset"] for item in lab.consumer_status(group)["partitions"]}


def script_exit_code(action: str, group: str) -> int:
    return processes.run_script(lab_consumer.script(action), group, timeout=60).returncode


@pytest.fixture(scope="module")
def stuck_kafka_group(lab):
    """(group, what lab.corrupt broke): a modern group stuck on a record damaged on every replica."""
    group = unique_name("modern-stuck")
    broken = make_stuck_kafka_group(group)
    yield group, broken
    cleanup(group)


def test_modern_consumer_commits_to_kafka_is_a_member_and_leaves_on_stop(lab):
    group = unique_name("modern")
    lab.produce(group, 60, partitions=3)
    ends = lab.end_offsets(group)
    try:
        lab.consumer_start(group, group, kind="modern")
        wait_for(lambda: kafka_offsets(lab, group) == ends, f"group {group} to commit {ends} to Kafka", timeout=60)
        assert sorted(record[2] for record in lab.consumed_records(group) if record[1] == 0) == list(range(ends[0]))

        description = lab.kafka_group_describe(group)
        assert description["group_state"] == "Stable"
        [member] = description["members"]
        assert member["client_id"] == lab_consumer.MODERN_CLIENT_ID
        assert member["client_host"].startswith("/127.0.0.")
        assert script_exit_code("status", group) == 0

        # The consumer_service role's stop: the script sends SIGTERM and waits; close() leaves the group at once.
        assert script_exit_code("stop", group) == 0
        assert script_exit_code("status", group) == 3
        assert lab.kafka_group_state(group) == "Empty"
        assert kafka_offsets(lab, group) == ends
    finally:
        cleanup(group)
    assert lab.kafka_group_state(group) is None


def test_modern_consumer_is_stuck_on_the_damaged_batch_and_done_with_the_rest(lab, stuck_kafka_group):
    group, broken = stuck_kafka_group
    ends = lab.end_offsets(group)
    committed = kafka_offsets(lab, group)
    assert committed == {0: ends[0], 1: broken["first_offset"], 2: ends[2]}
    [stuck] = [item for item in lab.consumer_status(group)["partitions"] if item["stuck"]]
    assert (stuck["partition"], stuck["committed_offset"]) == (1, broken["first_offset"])
    assert "CorruptRecordError" in stuck["last_error"] and f"at offset {broken['first_offset']}" in stuck["last_error"]
    assert sorted(r[2] for r in lab.consumed_records(group) if r[1] == 1) == list(range(broken["first_offset"]))


def test_java_console_consumer_stops_on_the_damaged_batch_and_commits_it(lab, stuck_kafka_group):
    topic, broken = stuck_kafka_group
    java_group = f"{topic}-java"
    try:
        result = lab.java_console_consume(topic, java_group, timeout_ms=5000)
        assert (topic, 1, broken["first_offset"]) in result["corrupt"], result["stderr"][-2000:]
        assert "please seek past the record" in result["stderr"]
        assert all(offset < broken["first_offset"] for _topic, partition, offset, _key in result["records"] if partition == 1)
        assert lab.java_group_offsets(java_group)[(topic, 1)] == broken["first_offset"]
        # A Java operator's view of the modern group agrees with KafkaAdminClient's.
        assert lab.java_group_offsets(topic)[(topic, 1)] == broken["first_offset"]
    finally:
        lab.delete_kafka_group(java_group)


def test_a_rebalance_makes_the_consumer_detect_the_damage_again(lab, stuck_kafka_group):
    """A second member joins and leaves: the partitions are revoked and assigned again, and the consumer, which
    forgot the paused partition on revocation, fetches it afresh and is stuck on it again, offset unchanged."""
    from kafka import KafkaConsumer
    from kafka.errors import CorruptRecordError

    group, broken = stuck_kafka_group
    log = lab_consumer.log_file(group)
    errors_before = log.read_text().count("CRC check failed")
    visitor = KafkaConsumer(bootstrap_servers=lab.BOOTSTRAP.split(","), group_id=group, enable_auto_commit=False,
                            check_crcs=True)
    visitor.subscribe([group])
    try:
        # Poll only until it has partitions: kafka-python spins in the poll after a CorruptRecordError.
        wait_for(lambda: visitor.poll(timeout_ms=500, max_records=1) is not None and visitor.assignment(),
                 "a second member to get partitions", timeout=60)
    except CorruptRecordError:
        pass
    finally:
        visitor.close(autocommit=False)
    wait_for(lambda: log.read_text().count("CRC check failed") > errors_before,
             f"the consumer of {group} to detect the damage again; see {log}", timeout=60)
    wait_for(lambda: [(i["partition"], i["committed_offset"]) for i in lab.consumer_status(group)["partitions"]
                      if i["stuck"]] == [(1, broken["first_offset"])], f"group {group} to be stuck again", timeout=30)
    assert kafka_offsets(lab, group)[1] == broken["first_offset"]


def test_stuck_on_two_topics(lab):
    group = unique_name("modern-two")
    try:
        broken = make_stuck_kafka_group(group, second_topic=True)
        stuck = {(i["topic"], i["partition"], i["committed_offset"])
                 for i in lab.consumer_status(group)["partitions"] if i["stuck"]}
        assert stuck == {(group, 1, broken["first_offset"]), (f"{group}-b", 1, broken["second"]["first_offset"])}
    finally:
        cleanup(group)


def test_dual_commit_writes_both_stores_and_starts_from_the_larger(lab):
    group = unique_name("dual")
    lab.produce(group, 30, partitions=3)
    ends = lab.end_offsets(group)
    try:
        lab.consumer_start(group, group, dual_commit=True)
        wait_for(lambda: zk_offsets(lab, group) == ends and kafka_offsets(lab, group) == ends,
                 f"group {group} to commit {ends} to ZooKeeper and Kafka", timeout=60)
        lab.consumer_stop(group)
        assert lab.kafka_group_state(group) == "Empty"

        lab.produce(group, 30, partitions=3)
        ahead = ends[0] + 5
        client = admin(lab)
        try:
            client.alter_group_offsets(group, {TopicPartition(group, 0): OffsetAndMetadata(ahead, "", -1)})
        finally:
            client.close()
        lab.consumer_start(group)
        later = lab.end_offsets(group)
        wait_for(lambda: zk_offsets(lab, group) == later and kafka_offsets(lab, group) == later,
                 f"group {group} to commit {later} to both stores", timeout=60)
        first_run = [r for r in lab.consumed_records(group) if r[1] == 0]
        second_run = [offset for _topic, _partition, offset, _key in first_run[ends[0]:]]
        assert second_run == list(range(ahead, later[0]))
    finally:
        cleanup(group)
    assert lab.kafka_group_state(group) is None
