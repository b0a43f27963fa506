# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Kafka's own Java tools as a Java application would see a group: the console consumer with a group, and
ConsumerGroupCommand's committed offsets. Both run from the lab's jars (Kafka 3.9.1 keeps them in kafka-tools)."""

from __future__ import annotations

import re
import subprocess

from lab import layout, topics
from lab.errors import LabError

CONSOLE_CONSUMER = "org.apache.kafka.tools.consumer.ConsoleConsumer"
GROUP_COMMAND = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"
# DefaultMessageFormatter with print.partition, print.offset and print.key: "Partition:1\tOffset:5\tkey-5\tvalue".
RECORD_LINE = re.compile(r"^Partition:(\d+)\tOffset:(\d+)\t([^\t]*)\t")
# A Java consumer's wording for a batch whose CRC fails (CompletedFetch.maybeEnsureValid).
CORRUPT_RECORD = re.compile(r"Record batch for partition (\S+)-(\d+) at offset (\d+) is invalid")


def parse_console_records(stdout: str, topic: str) -> list[tuple[str, int, int, str]]:
    """The console consumer's records as (topic, partition, offset, key), like the lab consumers' output file."""
    records = []
    for line in stdout.splitlines():
        match = RECORD_LINE.match(line)
        if match:
            records.append((topic, int(match.group(1)), int(match.group(2)), match.group(3)))
    return records


def parse_corrupt_records(stderr: str) -> list[tuple[str, int, int]]:
    """(topic, partition, offset) of every invalid batch a Java consumer's error output names."""
    return [(topic, int(partition), int(offset)) for topic, partition, offset in CORRUPT_RECORD.findall(stderr)]


def console_consume(topic: str, group: str | None = None, timeout_ms: int = 10000, max_messages: int | None = None,
                    from_beginning: bool = True) -> dict:
    """Run kafka-console-consumer on topic (as a member of group when given), bounded by timeout_ms without a
    record and by the process timeout. Returns records, the invalid batches its error names, stdout, stderr and
    the exit code (0 even when it stopped on a corrupt record: the tool logs the error and exits normally)."""
    args = ["--bootstrap-server", layout.BOOTSTRAP, "--topic", topic, "--timeout-ms", str(timeout_ms),
            "--property", "print.partition=true", "--property", "print.offset=true", "--property", "print.key=true"]
    if group is not None:
        args += ["--group", group]
    if from_beginning:
        args.append("--from-beginning")
    if max_messages is not None:
        args += ["--max-messages", str(max_messages)]
    try:
        result = topics.run_tool(CONSOLE_CONSUMER, *args, timeout=timeout_ms / 1000 + 60)
    except subprocess.TimeoutExpired as error:
        raise LabError(f"the console consumer on {topic} ran longer than {error.timeout:.0f} s") from error
    return {"records": parse_console_records(result.stdout, topic), "corrupt": parse_corrupt_records(result.stderr),
            "stdout": result.stdout, "stderr": result.stderr, "returncode": result.returncode}


def parse_group_describe(stdout: str) -> list[dict]:
    """ConsumerGroupCommand --describe's table as rows: group, topic, partition, current_offset (None for "-"),
    log_end_offset, lag, consumer_id, host, client_id."""
    rows = []
    header = None
    for line in stdout.splitlines():
        fields = line.split()
        if fields[:3] == ["GROUP", "TOPIC", "PARTITION"]:
            header = [name.lower().replace("-", "_") for name in fields]
            continue
        if header is None or len(fields) != len(header):
            continue
        row = dict(zip(header, fields))
        for name in ("partition", "current_offset", "log_end_offset", "lag"):
            row[name] = None if row.get(name, "-") == "-" else int(row[name])
        rows.append(row)
    return rows


def describe_group(group: str) -> list[dict]:
    """The group's partitions as Kafka's ConsumerGroupCommand --describe shows them to a Java operator."""
    result = topics.run_tool(GROUP_COMMAND, "--bootstrap-server", layout.BOOTSTRAP, "--describe", "--group", group,
                             timeout=120)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise LabError(f"ConsumerGroupCommand --describe --group {group} failed: {lines[-1] if lines else 'no output'}")
    return parse_group_describe(result.stdout)


def committed_offsets(group: str) -> dict[tuple[str, int], int | None]:
    """(topic, partition) -> the committed offset ConsumerGroupCommand shows (None where it shows "-")."""
    return {(row["topic"], row["partition"]): row["current_offset"] for row in describe_group(group)}
