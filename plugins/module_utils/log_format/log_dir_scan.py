# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Find a broker's partition directories and scan their segments for corrupt records (read-only)."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.crc32c import IMPLEMENTATION
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.log_segment import (
    ReadWindow, dump_log_line, framing_damage_line, read_header, validates)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.log_segment_scan import (
    FramingDoubt, SegmentBounds, SegmentScanner)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.offset_index import OffsetIndex
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.offset_ledger import (
    NO_LIMIT, OffsetLedger, no_index)

SEGMENT_NAME = re.compile(r"^(\d{20})\.log$")
# Kafka renames directories it is deleting or moving (``-delete``, ``-future``, ``-stray``): those never match.
PARTITION_DIRECTORY = re.compile(r"^(.+)-(\d+)$")
NO_START = -1
# KRaft's metadata log: a Raft log in the first log dir (metadata.log.dir), not a partition consumers read.
METADATA_LOG_TOPIC = "__cluster_metadata"
# Index entries tried, walking back from the one at or below the start offset, before reading from byte 0.
ANCHOR_TRIES = 16
ANCHOR_WINDOW = 1 << 16


class ScanError(Exception):
    """A one-line problem with the scan's input (a path, a log dir, a properties file)."""


def read_properties(path: str) -> Dict[str, str]:
    """Java .properties: ``key=value`` or ``key: value``, ``#``/``!`` comments, backslash continuations."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise ScanError("cannot read properties file '%s': %s" % (path, error.strerror)) from error
    properties: Dict[str, str] = {}
    logical = ""
    for raw in text.splitlines():
        line = raw.strip() if not logical else raw.lstrip()
        if not logical and (not line or line[0] in "#!"):
            continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            logical += line[:-1]
            continue
        logical += line
        match = re.match(r"([^=:\s]+)\s*[=:\s]?\s*(.*)$", logical)
        if match:
            properties[match.group(1)] = match.group(2)
        logical = ""
    return properties


def log_dirs_from_server_properties(path: str) -> List[str]:
    """The broker's ``log.dirs`` (or ``log.dir``), as Kafka reads them."""
    properties = read_properties(path)
    value = properties.get("log.dirs") or properties.get("log.dir")
    if not value:
        raise ScanError("'%s' sets neither log.dirs nor log.dir: pass log_dirs instead" % path)
    return [entry.strip() for entry in value.split(",") if entry.strip()]


def broker_id_of(log_dir: str) -> Optional[int]:
    """The id in the log dir's ``meta.properties``: ``broker.id`` in ZooKeeper mode (version 0), ``node.id`` in
    KRaft mode (version 1); None without one."""
    meta = os.path.join(log_dir, "meta.properties")
    if not os.path.exists(meta):
        return None
    properties = read_properties(meta)
    value = properties.get("node.id") or properties.get("broker.id")
    return int(value) if value and value.lstrip("-").isdigit() else None


@dataclass
class PartitionTarget:
    topic: str
    partition: int
    directory: str
    log_dir: str
    broker_id: Optional[int]
    only_segment: Optional[str] = None


def targets_for_topic(log_dirs: Sequence[str], topic: str, partitions: Optional[Sequence[int]]) -> List[PartitionTarget]:
    targets = []
    for log_dir in log_dirs:
        if not os.path.isdir(log_dir):
            raise ScanError("log dir '%s' does not exist or is not a directory: check log_dirs or server_properties"
                            % log_dir)
        broker_id = broker_id_of(log_dir)
        for name in sorted(os.listdir(log_dir)):
            match = PARTITION_DIRECTORY.match(name)
            if not match or match.group(1) != topic or not os.path.isdir(os.path.join(log_dir, name)):
                continue
            partition = int(match.group(2))
            if partitions and partition not in partitions:
                continue
            targets.append(PartitionTarget(topic, partition, os.path.join(log_dir, name), log_dir, broker_id))
    return sorted(targets, key=lambda target: (target.partition, target.log_dir))


def targets_for_paths(paths: Sequence[str]) -> List[PartitionTarget]:
    """Explicit partition directories or segment files."""
    targets = []
    for path in paths:
        path = os.path.abspath(path)
        segment = None
        if os.path.isfile(path):
            if not SEGMENT_NAME.match(os.path.basename(path)):
                raise ScanError("'%s' is not a Kafka segment file (<20-digit base offset>.log)" % path)
            segment, path = path, os.path.dirname(path)
        elif not os.path.isdir(path):
            raise ScanError("path '%s' does not exist: pass a partition directory or a .log segment" % path)
        match = PARTITION_DIRECTORY.match(os.path.basename(path))
        if not match:
            raise ScanError("'%s' is not a partition directory (<topic>-<partition>)" % path)
        log_dir = os.path.dirname(path)
        targets.append(PartitionTarget(match.group(1), int(match.group(2)), path, log_dir, broker_id_of(log_dir),
                                       segment))
    return targets


def without_metadata_log(targets: Sequence[PartitionTarget]) -> tuple:
    """(targets, skipped directories): KRaft's __cluster_metadata-0 is left out of scans unless asked for, since a
    whole-log-dir sweep would otherwise read (and report on) the controller quorum's own log."""
    kept = [target for target in targets if target.topic != METADATA_LOG_TOPIC]
    return kept, [target.directory for target in targets if target.topic == METADATA_LOG_TOPIC]


@dataclass
class PartitionScan:
    target: PartitionTarget
    scanned_from: Optional[int]
    found: List[Any] = field(default_factory=list)
    torn_tails: List[Dict[str, Any]] = field(default_factory=list)
    lines: List[str] = field(default_factory=list)
    segments: int = 0
    bytes: int = 0
    log_end_offset: Optional[int] = None
    # The walk's offset ledger, for callers that ask what it confirmed (the digests of entry_evidence).
    ledger: Optional[OffsetLedger] = None


def segment_files(directory: str) -> List[tuple]:
    """(base offset, path) of every segment of a partition directory, oldest first."""
    found = []
    for name in os.listdir(directory):
        match = SEGMENT_NAME.match(name)
        if match:
            found.append((int(match.group(1)), os.path.join(directory, name)))
    return sorted(found)


def _open_index(log_path: str, base_offset: int, log_size: int) -> Optional[OffsetIndex]:
    index_path = log_path[:-len(".log")] + ".index"
    try:
        return OffsetIndex(index_path, base_offset, log_size)
    except OSError:
        return None


def _anchor(handle, index: OffsetIndex, size: int, base_offset: int, start_offset: int) -> tuple:
    """(position, an offset below the entry there) of the indexed entry at or below ``start_offset`` that
    validates: damage at the start offset sends us one index entry further back. (0, base - 1) when none does."""
    window = ReadWindow(handle, size, ANCHOR_WINDOW)
    slot = index.floor(start_offset)
    for _tried in range(ANCHOR_TRIES):
        if slot < 0:
            break
        indexed_offset, position = index.entry(slot)
        header = read_header(window, position)
        # A stale index (rebuilt log, damage) must not send us into the middle of an entry.
        if header is not None and header.last_offset == indexed_offset and validates(window, header, -1):
            return position, index.entry(slot - 1)[0] if slot > 0 else base_offset - 1
        slot -= 1
    return 0, base_offset - 1


def scan_partition(target: PartitionTarget, start_offset: int, stop_at_first: bool,
                   stop_at_start: bool = False,
                   new_ledger: Callable[[], OffsetLedger] = OffsetLedger) -> PartitionScan:
    """One partition from ``start_offset``. ``stop_at_first``: stop once the first damage and the offset
    after it are known. ``stop_at_start``: stop once the entry holding the start offset (or the first after
    it) is confirmed, so that only the entry a consumer at that offset fetches next (and any damage there)
    is read. ``new_ledger`` makes the walk's offset ledger (one per walk)."""
    try:
        return _scan_partition(target, start_offset, stop_at_first, stop_at_start, True, new_ledger())
    except FramingDoubt:
        # Walking to the start offset on framing alone met damage: walk again, checking every entry.
        return _scan_partition(target, start_offset, stop_at_first, stop_at_start, False, new_ledger())


def _scan_partition(target: PartitionTarget, start_offset: int, stop_at_first: bool, stop_at_start: bool,
                    trust_framing: bool, ledger: OffsetLedger) -> PartitionScan:
    segments = segment_files(target.directory)
    newest_path = segments[-1][1] if segments else None
    next_base = {path: following[0] for (_base, path), following in zip(segments, segments[1:])}
    # Sizes are fixed now: a live broker keeps appending to the active segment while we read it.
    sizes = {path: os.stat(path).st_size for _base, path in segments}
    if target.only_segment:
        segments = [item for item in segments if item[1] == target.only_segment]
    elif start_offset > NO_START:
        earlier = [number for number, (base, _path) in enumerate(segments) if base <= start_offset]
        segments = segments[earlier[-1]:] if earlier else segments
    scanned_from = start_offset if start_offset > NO_START else (segments[0][0] if segments else None)
    report = PartitionScan(target, scanned_from, ledger=ledger)
    stopped = False
    for number, (base, path) in enumerate(segments):
        size = sizes[path]
        bounds = SegmentBounds(path, base, next_base[path] - 1 if path in next_base else NO_LIMIT, path == newest_path)
        with open(path, "rb", buffering=0) as handle:
            index = _open_index(path, base, size)
            try:
                position, trust_below, anchor = 0, -1, -1
                if number == 0:
                    # Nothing in this partition's first scanned segment lies below its file name's offset.
                    ledger.confirmed_last = base - 1
                if number == 0 and start_offset > base:
                    if index is not None:
                        position, below = _anchor(handle, index, size, base, start_offset)
                        ledger.confirmed_last = max(ledger.confirmed_last, below)
                        anchor = position if position else -1
                    elif trust_framing:
                        trust_below = start_offset
                scanner = SegmentScanner(handle, size, bounds, ledger, index, position, start_offset, trust_below,
                                         stop_at_first, stop_at_start, anchor_position=anchor).run()
            finally:
                ledger.ask_index = no_index
                if index is not None:
                    index.close()
        report.segments += 1
        report.bytes += scanner.bytes_scanned
        if scanner.torn_tail is not None:
            tail = scanner.torn_tail
            report.torn_tails.append({"segment": path, "position": tail.position, "length": tail.length,
                                      "last_valid_offset": tail.last_valid_offset,
                                      "declared_size": tail.declared_size})
        if scanner.stopped:
            stopped = True
            break
    if not stopped:
        ledger.finish()
    order = {path: number for number, (_base, path) in enumerate(segments)}
    damages = [damage for damage in ledger.damages if (not stopped or damage.resolved) and (
        start_offset <= NO_START or damage.next_valid_offset is None or damage.next_valid_offset > start_offset)]
    damages.sort(key=lambda damage: (order[damage.segment], damage.position))
    if stop_at_first:
        damages = damages[:1]
    report.found = [(damage.segment, damage) for damage in damages]
    if segments and not stopped and segments[-1][1] == newest_path:
        highest = max([ledger.last] + [damage.last_offset for damage in ledger.damages
                                       if damage.last_offset is not None])
        report.log_end_offset = max(highest + 1, segments[-1][0])
    elif newest_path is not None and not target.only_segment:
        newest_base = segment_files(target.directory)[-1][0]
        report.log_end_offset = _tail_end_offset(newest_path, sizes[newest_path], newest_base)
    report.lines = _lines(report.found)
    return report


def _tail_end_offset(path: str, size: int, base: int) -> int:
    """Last offset on disk + 1, from the last .index entry and a framing-only walk (no checksums)."""
    with open(path, "rb", buffering=0) as handle:
        position, last = 0, base - 1
        index = _open_index(path, base, size)
        if index is not None:
            try:
                if index.entries:
                    candidate = index.entry(index.entries - 1)[1]
                    if candidate < size:
                        position = candidate
            finally:
                index.close()
        window = ReadWindow(handle, size, ANCHOR_WINDOW)
        while position < size:
            header = read_header(window, position)
            if header is None or not header.framed or position + header.total > size:
                break
            last = max(last, header.last_offset)
            position += header.total
    return max(last + 1, base)


def _lines(found: List[Any]) -> List[str]:
    lines: List[str] = []
    current = None
    for path, damage in found:
        if path != current:
            lines.append("Dumping %s" % path)
            current = path
        if damage.walkable:
            # Kafka's tool reads this entry by its size field and prints it as a batch.
            lines.append(dump_log_line(damage.header, damage.computed_crc))
        else:
            lines.append(framing_damage_line(damage.position, damage.length, damage.first_offset,
                                             damage.next_valid_offset, damage.next_valid_position))
    return lines


def scan(targets: Sequence[PartitionTarget], start_offsets: Dict[int, int], default_start: Optional[int],
         mode: str) -> Dict[str, Any]:
    """Scan every target; the result has the module's return keys."""
    began = time.monotonic()
    corrupt_records, torn_tails, lines, partitions = [], [], [], []
    segments = scanned_bytes = 0
    for target in targets:
        start = start_offsets.get(target.partition, default_start)
        try:
            report = scan_partition(target, NO_START if start is None else start, mode in ("first", "at_start"),
                                    mode == "at_start")
        except (OSError, EOFError) as error:
            raise ScanError("cannot scan topic '%s' partition %d at '%s': %s" % (
                target.topic, target.partition, getattr(error, "filename", None) or target.directory,
                getattr(error, "strerror", None) or error)) from error
        segments += report.segments
        scanned_bytes += report.bytes
        lines.extend(report.lines)
        identity = {"topic": target.topic, "partition": target.partition, "broker_id": target.broker_id}
        for path, damage in report.found:
            corrupt_records.append(dict(identity, segment=path, position=damage.position, length=damage.length,
                                        magic=damage.magic, first_offset=damage.first_offset,
                                        last_offset=damage.last_offset, next_valid_offset=damage.next_valid_offset,
                                        reason=damage.reason, stored_crc=damage.stored_crc,
                                        computed_crc=damage.computed_crc))
        torn_tails.extend(dict(identity, **tail) for tail in report.torn_tails)
        first = report.found[0][1] if report.found else None
        partitions.append(dict(identity, log_dir=target.log_dir, scanned_from=report.scanned_from,
                               first_damaged_offset=first.first_offset if first else None,
                               next_valid_offset=first.next_valid_offset if first else None,
                               clean=first is None, log_end_offset=report.log_end_offset))
    return {"corrupt_records": corrupt_records, "torn_tails": torn_tails, "lines": lines, "partitions": partitions,
            "scanned": {"segments": segments, "bytes": scanned_bytes,
                        "seconds": round(time.monotonic() - began, 3)},
            "crc32c_implementation": IMPLEMENTATION}
