# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Kafka's on-disk entry formats: header parsing, checksums and a bounded read window over a segment.

A segment is entries back to back: v0/v1 messages or v2 record batches. Every entry starts with
``offset int64, size int32`` and has its magic byte at entry byte 16 (see DESIGN.md section 2).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator, Optional, Tuple

from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.crc32c import crc32c
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.legacy_codecs import (
    CodecError, lz4_pieces, snappy_pieces)

LOG_OVERHEAD = 12
MAGIC_POSITION = 16
HEADER_UP_TO_MAGIC = 17
V2_HEADER_SIZE = 61
V2_CRC_START = 21
LEGACY_CRC_START = 16
# Smallest legal size field: the bytes after ``offset, size`` in an entry with a null key and value.
MINIMUM_SIZE = {0: 14, 1: 22, 2: V2_HEADER_SIZE - LOG_OVERHEAD}
# Largest size field we accept while resynchronising; Kafka's own message.max.bytes cap is far below.
MAXIMUM_SIZE = 1 << 30

V2_HEADER = struct.Struct(">qiibIhiqqqhii")
LEGACY_HEADER = struct.Struct(">qiIbb")
V1_TIMESTAMP = struct.Struct(">q")
OFFSET_AND_SIZE = struct.Struct(">qi")

CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}
CODEC_MASK = 0x07
TIMESTAMP_TYPE_BIT = 0x08
TRANSACTIONAL_BIT = 0x10
CONTROL_BIT = 0x20
DELETE_HORIZON_BIT = 0x40
INT32_MAX = 0x7FFFFFFF


@dataclass
class EntryHeader:
    """What the first bytes of an entry say about it; ``magic`` is None when fewer than 17 bytes remain."""

    position: int
    offset: int
    size: int
    magic: Optional[int]
    stored_crc: Optional[int] = None
    attributes: int = 0
    last_offset_delta: int = 0
    max_timestamp: int = -1
    v2_fields: Optional[tuple] = None

    @property
    def total(self) -> int:
        """Bytes the entry occupies in the segment, framing included."""
        return LOG_OVERHEAD + self.size

    @property
    def last_offset(self) -> int:
        """Last offset the entry covers: for v0/v1 the entry's own offset (a wrapper's last inner message)."""
        return self.offset + self.last_offset_delta if self.magic == 2 else self.offset

    @property
    def codec(self) -> str:
        return CODECS.get(self.attributes & CODEC_MASK, "unknown(%d)" % (self.attributes & CODEC_MASK))

    @property
    def framed(self) -> bool:
        """Magic and size are consistent with each other (says nothing about the end of the segment)."""
        return self.magic in MINIMUM_SIZE and MINIMUM_SIZE[self.magic] <= self.size <= MAXIMUM_SIZE


def parse_header(data: bytes, position: int) -> Optional[EntryHeader]:
    """Parse up to 61 bytes taken from ``position``; None when not even ``offset, size`` fit."""
    if len(data) < LOG_OVERHEAD:
        return None
    offset, size = OFFSET_AND_SIZE.unpack_from(data)
    if len(data) < HEADER_UP_TO_MAGIC:
        return EntryHeader(position, offset, size, None)
    magic = data[MAGIC_POSITION]
    # Kafka reads the magic as a signed byte: 2 and above is a v2 batch's layout, below 2 a v0/v1 message's. A
    # damaged magic keeps the layout Kafka's tools would read (only 0, 1 and 2 frame as entries here).
    if 2 <= magic <= 127:
        if len(data) < V2_HEADER_SIZE:
            return EntryHeader(position, offset, size, magic)
        fields = V2_HEADER.unpack_from(data)
        return EntryHeader(position, offset, size, magic, stored_crc=fields[4], attributes=fields[5] & 0xFFFF,
                           last_offset_delta=fields[6] if magic == 2 else 0, max_timestamp=fields[8],
                           v2_fields=fields)
    if len(data) >= LEGACY_HEADER.size:
        stored_crc, attributes = LEGACY_HEADER.unpack_from(data)[2], data[17]
        timestamp = -1
        if magic != 0 and len(data) >= 26:
            timestamp = V1_TIMESTAMP.unpack_from(data, 18)[0]
        return EntryHeader(position, offset, size, magic, stored_crc=stored_crc, attributes=attributes,
                           max_timestamp=timestamp)
    return EntryHeader(position, offset, size, magic)


class ReadWindow:
    """A fixed-size buffer over ``[0, end)`` of a file: constant memory whatever the segment size."""

    def __init__(self, handle: BinaryIO, end: int, capacity: int) -> None:
        self.handle = handle
        self.end = end
        self.capacity = capacity
        self.buffer = bytearray(capacity)
        self.view = memoryview(self.buffer)
        self.start = 0
        self.stop = 0

    def load(self, position: int) -> None:
        """Fill the buffer from ``position``; a file that shrank under us moves ``end`` back."""
        wanted = min(self.capacity, self.end - position)
        self.handle.seek(position)
        got = self.handle.readinto(self.view[:wanted]) or 0
        self.start, self.stop = position, position + got
        if got < wanted:
            self.end = self.stop

    def bytes_at(self, position: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``position`` (fewer at the end of the readable range)."""
        length = max(0, min(length, self.end - position))
        if position < self.start or position + length > self.stop:
            self.load(position)
            length = min(length, self.stop - position)
        relative = position - self.start
        return bytes(self.view[relative:relative + length])

    def checksum(self, function: Callable[..., int], start: int, stop: int, value: int = 0) -> int:
        """``function`` (crc32c or zlib.crc32) over file bytes ``[start, stop)``, streamed if larger than the buffer,
        continuing from ``value`` (the checksum of the bytes before ``start``)."""
        while start < stop:
            if start < self.start or start >= self.stop or (stop > self.stop and self.stop < self.end):
                self.load(start)
            if self.stop <= start:
                raise EOFError("segment ended at byte %d while reading to byte %d" % (self.stop, stop))
            piece_end = min(stop, self.stop)
            value = function(self.view[start - self.start:piece_end - self.start], value)
            start = piece_end
        return value


def computed_crc(window: ReadWindow, header: EntryHeader) -> int:
    """The checksum the entry should carry: CRC-32C from the attributes on (v2), CRC-32 from the magic on (v0/v1)."""
    stop = header.position + header.total
    if header.magic == 2:
        return window.checksum(crc32c, header.position + V2_CRC_START, stop)
    return window.checksum(zlib.crc32, header.position + LEGACY_CRC_START, stop)


def read_header(window: ReadWindow, position: int) -> Optional[EntryHeader]:
    return parse_header(window.bytes_at(position, V2_HEADER_SIZE), position)


def validates(window: ReadWindow, header: Optional[EntryHeader], after_offset: int) -> bool:
    """A whole, well-framed entry with a matching checksum whose offsets come after ``after_offset``."""
    if header is None or not header.framed or header.stored_crc is None:
        return False
    if header.position + header.total > window.end or header.offset <= after_offset:
        return False
    return computed_crc(window, header) == header.stored_crc


def _inflated_pieces(window: ReadWindow, start: int, stop: int, piece_limit: int) -> Iterator[bytes]:
    """gzip-decompress file bytes ``[start, stop)`` in pieces of at most ``piece_limit`` bytes."""
    stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
    while start < stop:
        compressed = window.bytes_at(start, min(1 << 16, stop - start))
        if not compressed:
            return
        start += len(compressed)
        yield stream.decompress(compressed, piece_limit)
        while stream.unconsumed_tail:
            yield stream.decompress(stream.unconsumed_tail, piece_limit)


def _decompressed_pieces(window: ReadWindow, codec: int, start: int, stop: int) -> Iterator[bytes]:
    if codec == 1:
        return _inflated_pieces(window, start, stop, 1 << 20)
    if stop - start > window.capacity:
        raise CodecError("a %d-byte wrapper value is larger than the read window" % (stop - start))
    value = window.bytes_at(start, stop - start)
    return snappy_pieces(value) if codec == 2 else lz4_pieces(value)


def legacy_wrapper_offsets(window: ReadWindow, header: EntryHeader) -> Optional[Tuple[int, int]]:
    """Absolute (first, last) inner offsets of a compressed v0/v1 wrapper (gzip with zlib, snappy and lz4 in pure
    Python), or None when its value does not decompress.

    v0 inner offsets are absolute, so the last one says what the wrapper's own offset field should hold; v1 inner
    offsets are relative to that field.
    """
    codec = header.attributes & CODEC_MASK
    if header.magic not in (0, 1) or codec not in (1, 2, 3):
        return None
    key_length_position = header.position + LOG_OVERHEAD + MINIMUM_SIZE[header.magic] - 8
    key_length = struct.unpack(">i", window.bytes_at(key_length_position, 4))[0]
    value_start = key_length_position + 8 + max(key_length, 0)
    first_offset = last_offset = None
    inner_header = bytearray()
    to_skip = 0
    try:
        # Walk the inner message set holding one decompressed piece at a time.
        for piece in _decompressed_pieces(window, codec, value_start, header.position + header.total):
            index = 0
            while index < len(piece):
                if to_skip:
                    step = min(to_skip, len(piece) - index)
                    index, to_skip = index + step, to_skip - step
                    continue
                wanted = LOG_OVERHEAD - len(inner_header)
                inner_header += piece[index:index + wanted]
                index += wanted
                if len(inner_header) == LOG_OVERHEAD:
                    inner_offset, to_skip = OFFSET_AND_SIZE.unpack(inner_header)
                    first_offset = inner_offset if first_offset is None else first_offset
                    last_offset = inner_offset
                    inner_header.clear()
    except (zlib.error, CodecError):
        return None
    if first_offset is None or last_offset is None:
        return None
    if header.magic == 0:
        return first_offset, last_offset
    # v1 inner offsets are relative; the wrapper's own offset is the absolute offset of the last one.
    return header.offset - (last_offset - first_offset), header.offset


def first_offset_of(window: ReadWindow, header: EntryHeader) -> Optional[int]:
    """First offset in a valid entry; None for a v0/v1 wrapper whose value does not decompress."""
    if header.magic in (0, 1) and header.attributes & CODEC_MASK:
        offsets = legacy_wrapper_offsets(window, header)
        return None if offsets is None else offsets[0]
    return header.offset


def _int32(value: int) -> int:
    """``value`` wrapped to a signed 32-bit integer, as Java's int arithmetic leaves it."""
    return (value + (1 << 31)) % (1 << 32) - (1 << 31)


def dump_log_line(header: EntryHeader, computed: Optional[int]) -> str:
    """The line Kafka's DumpLogSegments prints for this entry (batch level, no deep iteration)."""
    valid = "true" if computed is not None and computed == header.stored_crc else "false"
    stored = "" if header.stored_crc is None else header.stored_crc
    signed_magic = header.magic - 256 if header.magic is not None and header.magic > 127 else header.magic
    if header.v2_fields is not None:
        fields = header.v2_fields
        last_offset = header.offset + fields[6]
        base_sequence, record_count = fields[11], fields[12]
        delta = fields[6]
        # Kafka's DefaultRecordBatch.incrementSequence, in Java's wrapping int arithmetic.
        if base_sequence == -1:
            last_sequence = -1
        elif base_sequence > _int32(INT32_MAX - delta):
            last_sequence = _int32(_int32(delta - _int32(INT32_MAX - base_sequence)) - 1)
        else:
            last_sequence = _int32(base_sequence + delta)
        horizon = ("OptionalLong[%d]" % fields[7]) if header.attributes & DELETE_HORIZON_BIT else "OptionalLong.empty"
        prefix = ("baseOffset: %d lastOffset: %d count: %d baseSequence: %d lastSequence: %d producerId: %d "
                  "producerEpoch: %d partitionLeaderEpoch: %d isTransactional: %s isControl: %s deleteHorizonMs: %s"
                  % (header.offset, last_offset, record_count, base_sequence, last_sequence, fields[9],
                     fields[10], fields[2], str(bool(header.attributes & TRANSACTIONAL_BIT)).lower(),
                     str(bool(header.attributes & CONTROL_BIT)).lower(), horizon))
    else:
        prefix = "offset: %d" % header.offset
    if signed_magic == 0:
        timestamp_type = "NoTimestampType"
    else:
        timestamp_type = "LogAppendTime" if header.attributes & TIMESTAMP_TYPE_BIT else "CreateTime"
    return ("%s position: %d %s: %d size: %d magic: %s compresscodec: %s crc: %s isvalid: %s"
            % (prefix, header.position, timestamp_type, header.max_timestamp, header.total, signed_magic,
               header.codec, stored, valid))


def framing_damage_line(position: int, length: int, first_offset: Optional[int],
                        next_valid_offset: Optional[int], next_position: Optional[int]) -> str:
    """A DumpLogSegments-shaped line for bytes that do not frame as entries (Kafka's tool stops there)."""
    def shown(value: Optional[int]) -> str:
        return "unknown" if value is None else str(value)
    return ("offset: %s position: %d invalid bytes: %d nextValidOffset: %s nextValidPosition: %s isvalid: false"
            % (shown(first_offset), position, length, shown(next_valid_offset), shown(next_position)))
