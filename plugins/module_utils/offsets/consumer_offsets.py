# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ZooKeeper consumer-offset paths, znode parsing, offset files (reset CSV, ExportZkOffsets) and backups."""

from __future__ import annotations

import datetime
import json
import os
import re
from dataclasses import dataclass, field
from typing import Iterable, Optional, Union

from ansible_collections.kafka_ops.remediation.plugins.module_utils.files.atomic_file import write_text_atomically

ABSENT_MARK = "# absent "
NEGATIVE_OFFSET = "a negative offset"
UNREADABLE_MARK = "# unreadable "
# A hand edit gone wrong is short; a node full of something else needs no more than this to be recognised.
UNREADABLE_CHARS = 200
_DECIMAL = re.compile(rb"^\s*(-?\d+)\s*$")
_EXPORT_LINE = re.compile(r"^/consumers/(?P<group>[^/]+)/offsets/(?P<topic>[^/]+)/(?P<partition>\d+):(?P<offset>.*)$")

TopicPartition = tuple[str, int]


class OffsetDataError(Exception):
    """Input (a znode, a file, an option) that is not a valid offset; the text is the one-line message."""


def group_path(group: str) -> str:
    return f"/consumers/{group}"


def ids_path(group: str) -> str:
    return f"/consumers/{group}/ids"


def group_subtree_path(group: str, subtree: str, topic: Optional[str] = None, partition: Optional[int] = None) -> str:
    """``/consumers/<group>/<subtree>[/<topic>[/<partition>]]``: the offsets and owners trees share this shape."""
    path = f"/consumers/{group}/{subtree}"
    if topic is not None:
        path += f"/{topic}"
        if partition is not None:
            path += f"/{partition}"
    return path


def offsets_path(group: str, topic: Optional[str] = None, partition: Optional[int] = None) -> str:
    return group_subtree_path(group, "offsets", topic, partition)


def owners_path(group: str, topic: Optional[str] = None, partition: Optional[int] = None) -> str:
    return group_subtree_path(group, "owners", topic, partition)


def stray_offset_path(group: str, topic: Optional[str] = None) -> str:
    """Kafka 1.1.0's broker wrote /consumers/<g>/offset/... (singular) by mistake; we only report it."""
    return f"/consumers/{group}/offset" + (f"/{topic}" if topic is not None else "")


def parents_of(path: str) -> list[str]:
    """Ancestors of path from the top, '/' excluded: /a/b/c -> [/a, /a/b]."""
    parts = path.strip("/").split("/")[:-1]
    return ["/" + "/".join(parts[:depth]) for depth in range(1, len(parts) + 1)]


def offset_problem(raw: bytes) -> Optional[str]:
    """Why a node's data is not an offset a legacy consumer can start from; None when it is one."""
    match = _DECIMAL.match(raw or b"")
    if not match:
        return "not a decimal offset" if (raw or b"").strip() else "empty, not a decimal offset"
    return NEGATIVE_OFFSET if int(match.group(1)) < 0 else None


def parse_offset(raw: bytes, path: str) -> int:
    """The decimal offset a legacy consumer stores; anything else is an error naming the node."""
    problem = offset_problem(raw)
    if problem is None:
        return int(raw)
    if problem == NEGATIVE_OFFSET:
        raise OffsetDataError(f"{path} holds the negative offset {int(raw)}: fix or delete that node")
    raise OffsetDataError(f"{path} holds {(raw or b'')[:40]!r}, {problem}: fix or delete that node")


def unreadable_text(raw: bytes) -> str:
    """A node's data that is no offset, as text for a person or a decision engine: undecodable bytes escaped,
    at most UNREADABLE_CHARS."""
    return raw.decode("utf-8", "backslashreplace")[:UNREADABLE_CHARS]


def encode_offset(offset: int) -> bytes:
    return str(offset).encode("ascii")


def iso_utc(epoch_ms: int) -> str:
    moment = datetime.datetime.fromtimestamp(epoch_ms / 1000.0, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class OffsetFile:
    """Targets read from a file: offset per partition (None = the node did not exist) and absent parents."""

    targets: dict[TopicPartition, Optional[int]] = field(default_factory=dict)
    absent_parents: list[str] = field(default_factory=list)
    file_format: str = ""


def parse_offsets_file(text: str, group: str, source: str) -> OffsetFile:
    """Kafka's reset CSV (topic,partition,offset or group,topic,partition,offset) or ExportZkOffsets lines.

    The format is detected from the first data line. Rows for other groups are ignored; a backup's
    '# absent <path>' lines mark offset nodes (and parent nodes) that did not exist when it was taken.
    """
    result = OffsetFile()
    other_groups = 0
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if line.startswith(ABSENT_MARK):
            path = line[len(ABSENT_MARK):].strip()
            match = _EXPORT_LINE.match(path + ":")
            if match and match.group("group") == group:
                result.targets[(match.group("topic"), int(match.group("partition")))] = None
            elif path.startswith(group_path(group)) or path == "/consumers":
                result.absent_parents.append(path)
            continue
        if not line or line.startswith("#"):
            continue
        where = f"{source} line {number}"
        if not result.file_format:
            result.file_format = "zookeeper_export" if line.startswith("/") else "reset_csv"
        if result.file_format == "zookeeper_export":
            match = _EXPORT_LINE.match(line)
            if not match:
                raise OffsetDataError(f"{where}: '{line[:80]}' is not '/consumers/<group>/offsets/<topic>/<n>:<offset>'")
            row_group, topic, partition, offset_text = match.group("group", "topic", "partition", "offset")
        else:
            cells = [cell.strip() for cell in line.split(",")]
            if len(cells) == 3:
                row_group, (topic, partition, offset_text) = group, cells
            elif len(cells) == 4:
                row_group, topic, partition, offset_text = cells
            else:
                raise OffsetDataError(f"{where}: '{line[:80]}' is not 'topic,partition,offset' or "
                                      "'group,topic,partition,offset'")
            if not partition.isdigit():
                raise OffsetDataError(f"{where}: partition '{partition}' is not a number")
        if row_group != group:
            other_groups += 1
            continue
        if not re.fullmatch(r"-?\d+", offset_text.strip()):
            raise OffsetDataError(f"{where}: offset '{offset_text}' is not a number")
        offset = int(offset_text)
        if offset < 0:
            raise OffsetDataError(f"{where}: offset {offset} is negative")
        key = (topic, int(partition))
        if key in result.targets:
            raise OffsetDataError(f"{where}: {topic}/{partition} appears twice")
        result.targets[key] = offset
    if not result.targets:
        detail = f" ({other_groups} rows are for other groups)" if other_groups else ""
        raise OffsetDataError(f"{source} has no offsets for group '{group}'{detail}")
    return result


def read_offsets_file(path: str, group: str) -> OffsetFile:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise OffsetDataError(f"cannot read offsets file {path}: {error.__class__.__name__}: {error}")
    return parse_offsets_file(text, group, path)


def backup_text(group: str, before: dict[TopicPartition, Union[int, str, None]], absent_parents: list[str],
                origin: str, taken: str) -> str:
    """ExportZkOffsets lines for the state before a change; '# absent' lines for nodes that did not exist,
    '# unreadable <path>:<text>' for nodes that held no offset (a str in before)."""
    lines = [
        "# kafka_ops.remediation consumer_offset backup (ExportZkOffsets format)",
        f"# group: {group}",
        f"# zookeeper: {origin}",
        f"# taken: {taken}",
        "# restore: kafka_ops.remediation.consumer_offset target=file file=<this file>",
    ]
    lines += [ABSENT_MARK + path for path in absent_parents]
    for (topic, partition), offset in sorted(before.items()):
        path = offsets_path(group, topic, partition)
        if offset is None:
            lines.append(ABSENT_MARK + path)
        elif isinstance(offset, str):
            # What a node held that was no offset is kept for the record; a restore leaves that partition alone.
            lines.append(f"{UNREADABLE_MARK}{path}:{offset.encode('unicode_escape').decode('ascii')}")
        else:
            lines.append(f"{path}:{offset}")
    return "\n".join(lines) + "\n"


def file_stem(group: str, now: datetime.datetime) -> str:
    """<group>-<UTC time>: a backup and the failure report of the same run share it."""
    return f"{re.sub(r'[^A-Za-z0-9._-]', '_', group)}-{now.strftime('%Y%m%dT%H%M%S.%fZ')}"


def write_private_file(directory: str, name: str, text: str) -> str:
    """Write directory/name atomically with mode 0600 (the directory 0700 when created); return its path."""
    directory = os.path.expanduser(directory)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    target = os.path.join(directory, name)
    write_text_atomically(target, text, 0o600)
    return target


def write_backup(directory: str, group: str, text: str, now: datetime.datetime) -> str:
    """Write the backup atomically with mode 0600 and return its path."""
    return write_private_file(directory, f"{file_stem(group, now)}.offsets", text)


def write_failure_report(directory: str, group: str, report: dict, now: datetime.datetime) -> str:
    """The full record of a failed write (every partition, what it holds now), beside the backup."""
    return write_private_file(directory, f"{file_stem(group, now)}.failed.json",
                              json.dumps(report, indent=1, sort_keys=True) + "\n")


def _offset_cell(row: dict) -> str:
    if "raw" in row:
        held = row["raw"] if len(row["raw"]) <= 20 else row["raw"][:17] + "..."
        return f"unreadable:{held!r}"
    return "unknown" if row["offset"] is None else str(row["offset"])


def format_table(rows: list[dict], unreadable: Iterable[dict] = ()) -> list[str]:
    """ConsumerOffsetChecker's table: Group Topic Pid Offset logSize Lag Owner. Offset nodes that hold no decimal
    offset (unreadable, with their raw text) get a line too, in order, showing what they hold."""
    header = ["Group", "Topic", "Pid", "Offset", "logSize", "Lag", "Owner"]
    ordered = sorted([*rows, *unreadable], key=lambda row: (row["group"], row["topic"], row["partition"]))
    cells = [header] + [
        [row["group"], row["topic"], str(row["partition"]), _offset_cell(row),
         "unknown" if row["log_end_offset"] is None else str(row["log_end_offset"]),
         "unknown" if row.get("lag") is None else str(row["lag"]),
         row["owner"] or "none"]
        for row in ordered
    ]
    widths = [max(len(line[column]) for line in cells) for column in range(len(header))]
    return ["  ".join(value.ljust(width) for value, width in zip(line, widths)).rstrip() for line in cells]
