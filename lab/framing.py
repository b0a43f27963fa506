# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A small walker over Kafka v2 record batches, for the lab's corruption injector.

Not the collection's scanner (plugins/module_utils has that): it assumes well-framed v2 segments, which is
what the lab's brokers write, and only finds where a given offset's bytes are.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

LOG_OVERHEAD = 12  # baseOffset int64 + batchLength int32
RECORDS_START = 61  # first record byte inside a v2 batch
MAGIC_AT = 16
COMPRESSION_MASK = 0x07


@dataclass(frozen=True)
class Batch:
    position: int  # file position of the batch's first byte
    size: int  # bytes including the 12-byte offset/length prefix
    base_offset: int
    last_offset: int
    magic: int
    attributes: int
    record_count: int

    @property
    def end(self) -> int:
        return self.position + self.size

    @property
    def compressed(self) -> bool:
        return bool(self.attributes & COMPRESSION_MASK)


@dataclass(frozen=True)
class Record:
    offset: int
    value_start: int  # file positions; value_end is exclusive
    value_end: int


def read_varint(data: bytes, position: int) -> tuple[int, int]:
    """A zigzag varint (Kafka's record fields); returns the value and the position after it."""
    raw = shift = 0
    while True:
        byte = data[position]
        position += 1
        raw |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (raw >> 1) ^ -(raw & 1), position
        shift += 7
        if shift > 63:
            raise ValueError(f"varint longer than 10 bytes at position {position}")


def iter_batches(data: bytes) -> Iterator[Batch]:
    """Every complete v2 batch from the start of a segment; stops at a torn tail."""
    position = 0
    while position + RECORDS_START <= len(data):
        base_offset, batch_length = struct.unpack_from(">qi", data, position)
        size = LOG_OVERHEAD + batch_length
        if batch_length <= 0 or position + size > len(data):
            return
        magic = data[position + MAGIC_AT]
        if magic != 2:
            raise ValueError(f"entry at position {position} has magic {magic}; the lab walker reads v2 batches only")
        attributes, last_offset_delta = struct.unpack_from(">hi", data, position + 21)
        (record_count,) = struct.unpack_from(">i", data, position + 57)
        yield Batch(position, size, base_offset, base_offset + last_offset_delta, magic, attributes, record_count)
        position += size


def records(data: bytes, batch: Batch) -> list[Record]:
    """The records of an uncompressed batch with the file positions of their values."""
    if batch.compressed:
        raise ValueError(f"batch at position {batch.position} is compressed; its records are not in the file as is")
    found = []
    position = batch.position + RECORDS_START
    for _record_number in range(batch.record_count):
        length, position = read_varint(data, position)
        end = position + length
        position += 1  # attributes
        _timestamp_delta, position = read_varint(data, position)
        offset_delta, position = read_varint(data, position)
        key_length, position = read_varint(data, position)
        position += max(key_length, 0)
        value_length, position = read_varint(data, position)
        value_start = position
        found.append(Record(batch.base_offset + offset_delta, value_start, value_start + max(value_length, 0)))
        position = end
    return found


def find_batch(data: bytes, offset: int) -> Batch | None:
    for batch in iter_batches(data):
        if batch.base_offset <= offset <= batch.last_offset:
            return batch
    return None


def damage_position(data: bytes, batch: Batch, offset: int) -> int:
    """The byte to flip for offset: the last byte of its value, inside the CRC'd part, never the framing."""
    if not batch.compressed:
        for record in records(data, batch):
            if record.offset == offset and record.value_end > record.value_start:
                return record.value_end - 1
    # Compressed or empty value: the byte before the batch's last one is inside the records (still under the CRC).
    return batch.end - 2


def segment_for(partition_dir: Path, offset: int) -> Path | None:
    """The segment whose base offset is the greatest one not above offset."""
    segments = sorted(partition_dir.glob("*.log"), key=lambda path: int(path.stem))
    chosen = None
    for segment in segments:
        if int(segment.stem) <= offset:
            chosen = segment
    return chosen


def flip_bit(path: Path, position: int, mask: int = 0x01) -> tuple[int, int]:
    """XOR one bit of the byte at position in place; returns the byte before and after."""
    with open(path, "r+b") as handle:
        handle.seek(position)
        before = handle.read(1)[0]
        after = before ^ mask
        handle.seek(position)
        handle.write(bytes([after]))
    return before, after
