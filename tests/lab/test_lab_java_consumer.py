# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The parsers of lab.java_consumer and lab.modern_consumer over the tools' real output (no cluster needed)."""

from __future__ import annotations

import pytest
from kafka import TopicPartition
from kafka.errors import CorruptRecordError

from lab import java_consumer, modern_consumer, run_consumer

DESCRIBE = """
GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID
j1              exp1            0          50              50              0               -               -               -
j1              exp1            1          20              50              30              -               -               -
j1              exp1            2          -               50              -               -               -               -
Consumer group 'j1' has no active members.
"""

STDERR = """[2026-12-01 07:21:19,104] ERROR Error processing message, terminating consumer process:  (org.apache.kafka.tools.consumer.ConsoleConsumer)
org.apache.kafka.common.KafkaException: Received exception when fetching the next record from exp1-1. \
If needed, please seek past the record to continue consumption.
Caused by: org.apache.kafka.common.KafkaException: Record batch for partition my-topic.v2-1 at offset 20 is invalid, cause: Record is corrupt
Processed a total of 120 messages
"""


def test_describe_table_becomes_rows_with_offsets_or_none() -> None:
    rows = java_consumer.parse_group_describe(DESCRIBE)
    assert [(r["topic"], r["partition"], r["current_offset"], r["lag"]) for r in rows] == [
        ("exp1", 0, 50, 0), ("exp1", 1, 20, 30), ("exp1", 2, None, None)]
    assert rows[0]["client_id"] == "-"


def test_console_records_skip_everything_but_records() -> None:
    stdout = "Partition:0\tOffset:0\tkey-0\tvalue-0 xx\nProcessed a total of 1 messages\nPartition:1\tOffset:7\tkey-4\tv\n"
    assert java_consumer.parse_console_records(stdout, "t") == [("t", 0, 0, "key-0"), ("t", 1, 7, "key-4")]


def test_invalid_batches_are_named_with_topics_that_hold_dashes_and_dots() -> None:
    assert java_consumer.parse_corrupt_records(STDERR) == [("my-topic.v2", 1, 20)]


@pytest.mark.parametrize("message, expected", [
    ("Record batch for partition TopicPartition(topic='exp1', partition=1) at offset 20 failed crc check",
     (TopicPartition("exp1", 1), 20)),
    ("Record for partition TopicPartition(topic='a-b.c', partition=12) at offset 7 failed crc check",
     (TopicPartition("a-b.c", 12), 7)),
    ("failed crc check", None),
])
def test_failed_partition_from_kafka_pythons_message(message: str, expected) -> None:
    assert modern_consumer.failed_partition(CorruptRecordError(message)) == expected


@pytest.mark.parametrize("config, program", [
    ({}, "legacy_consumer.py"), ({"kind": "legacy"}, "legacy_consumer.py"), ({"kind": "modern"}, "modern_consumer.py"),
])
def test_the_launcher_picks_the_program_of_the_configured_kind(config: dict, program: str) -> None:
    assert run_consumer.program(config).endswith("/lab/" + program)


def test_the_launcher_refuses_an_unknown_kind() -> None:
    with pytest.raises(SystemExit, match="'java' of group 'g' is not one of legacy, modern"):
        run_consumer.program({"kind": "java", "group": "g"})
