# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Where an entry really ends, read from its contents rather than its size field.

A damaged size field breaks the framing of one entry; when the rest of the entry is intact its checksum
still matches over its real span, and that span can be found without the size: a v0/v1 message ends after
its value, a v2 batch after its records (uncompressed), its gzip stream, its lz4 frame or its zstd frame.
Snappy (Kafka's xerial framing) has no end marker, so each of its chunk ends is a candidate.
Each walk is bounded by ``limit`` and gives up on anything implausible.
"""

from __future__ import annotations

import struct
import zlib
from typing import Iterator, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.log_segment import (
    CODEC_MASK, LEGACY_CRC_START, LOG_OVERHEAD, V2_CRC_START, V2_HEADER_SIZE, EntryHeader, ReadWindow)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.crc32c import crc32c

INT32 = struct.Struct(">i")
UINT32_LE = struct.Struct("<I")
LZ4_MAGIC = 0x184D2204
ZSTD_MAGIC = 0xFD2FB528
XERIAL_HEADER = b"\x82SNAPPY\x00"
XERIAL_HEADER_SIZE = 16
# Records of one v2 batch walked before giving up (a damaged count must not make us walk a whole segment).
MAXIMUM_RECORDS = 1 << 20


def _length_field(window: ReadWindow, position: int) -> Optional[int]:
    """A v0/v1 key or value length (-1 for null); None when it is cut off or implausible."""
    raw = window.bytes_at(position, 4)
    if len(raw) < 4:
        return None
    length = INT32.unpack(raw)[0]
    return None if length < -1 else length


def _legacy_end(window: ReadWindow, header: EntryHeader, limit: int) -> Iterator[int]:
    """offset, size, crc, magic, attributes, [timestamp], key length + key, value length + value."""
    key_length_at = header.position + LOG_OVERHEAD + 6 + (8 if header.magic == 1 else 0)
    key_length = _length_field(window, key_length_at)
    if key_length is None:
        return
    value_length_at = key_length_at + 4 + max(key_length, 0)
    value_length = _length_field(window, value_length_at)
    if value_length is None:
        return
    end = value_length_at + 4 + max(value_length, 0)
    if end <= limit:
        yield end


def _varint(window: ReadWindow, position: int) -> Optional[tuple]:
    """(zig-zag decoded value, bytes used) of the varint at ``position``."""
    raw = window.bytes_at(position, 5)
    value = shift = 0
    for used, byte in enumerate(raw, 1):
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (value >> 1) ^ -(value & 1), used
        shift += 7
    return None


def _records_end(window: ReadWindow, start: int, count: int, limit: int) -> Iterator[int]:
    position = start
    for _record in range(count):
        decoded = _varint(window, position)
        if decoded is None or decoded[0] < 1:
            return
        position += decoded[1] + decoded[0]
        if position > limit:
            return
    yield position


def _gzip_end(window: ReadWindow, start: int, limit: int) -> Iterator[int]:
    stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
    position = start
    try:
        while position < limit and not stream.eof:
            piece = window.bytes_at(position, min(1 << 16, limit - position))
            if not piece:
                return
            # Only where the stream ends matters: drop the output as it comes.
            stream.decompress(piece, 1 << 16)
            while stream.unconsumed_tail and not stream.eof:
                stream.decompress(stream.unconsumed_tail, 1 << 16)
            position += len(piece)
    except zlib.error:
        return
    if stream.eof:
        yield position - len(stream.unused_data)


def _lz4_end(window: ReadWindow, start: int, limit: int) -> Iterator[int]:
    head = window.bytes_at(start, 7)
    if len(head) < 7 or UINT32_LE.unpack_from(head)[0] != LZ4_MAGIC:
        return
    flags = head[4]
    block_checksum, content_size, content_checksum = flags & 0x10, flags & 0x08, flags & 0x04
    position = start + 4 + 2 + (8 if content_size else 0) + 1
    while position + 4 <= limit:
        size = UINT32_LE.unpack(window.bytes_at(position, 4))[0]
        position += 4
        if size == 0:
            end = position + (4 if content_checksum else 0)
            if end <= limit:
                yield end
            return
        position += (size & 0x7FFFFFFF) + (4 if block_checksum else 0)


def _zstd_end(window: ReadWindow, start: int, limit: int) -> Iterator[int]:
    head = window.bytes_at(start, 5)
    if len(head) < 5 or UINT32_LE.unpack_from(head)[0] != ZSTD_MAGIC:
        return
    descriptor = head[4]
    content_size_flag, single_segment = descriptor >> 6, descriptor & 0x20
    checksum, dictionary_flag = descriptor & 0x04, descriptor & 0x03
    content_size_bytes = (1 if single_segment else 0, 2, 4, 8)[content_size_flag]
    position = start + 5 + (0 if single_segment else 1) + (0, 1, 2, 4)[dictionary_flag] + content_size_bytes
    while position + 3 <= limit:
        raw = window.bytes_at(position, 3)
        block = raw[0] | raw[1] << 8 | raw[2] << 16
        last, kind, size = block & 1, (block >> 1) & 3, block >> 3
        if kind == 3:
            return
        position += 3 + (1 if kind == 1 else size)
        if last:
            end = position + (4 if checksum else 0)
            if end <= limit:
                yield end
            return


def _xerial_ends(window: ReadWindow, start: int, limit: int) -> Iterator[int]:
    if window.bytes_at(start, len(XERIAL_HEADER)) != XERIAL_HEADER:
        return
    position = start + XERIAL_HEADER_SIZE
    while position + 4 <= limit:
        size = INT32.unpack(window.bytes_at(position, 4))[0]
        if size <= 0:
            return
        position += 4 + size
        if position > limit:
            return
        yield position


def natural_ends(window: ReadWindow, header: EntryHeader, limit: int) -> Iterator[int]:
    """Candidate end positions of the entry at ``header.position``, ascending, none beyond ``limit``."""
    if header.magic in (0, 1):
        yield from _legacy_end(window, header, limit)
        return
    if header.magic != 2 or header.v2_fields is None:
        return
    records_start = header.position + V2_HEADER_SIZE
    codec = header.attributes & CODEC_MASK
    if codec == 0:
        count = header.v2_fields[12]
        if 0 <= count <= MAXIMUM_RECORDS:
            yield from _records_end(window, records_start, count, limit)
    elif codec == 1:
        yield from _gzip_end(window, records_start, limit)
    elif codec == 2:
        yield from _xerial_ends(window, records_start, limit)
    elif codec == 3:
        yield from _lz4_end(window, records_start, limit)
    elif codec == 4:
        yield from _zstd_end(window, records_start, limit)


def checked_end(window: ReadWindow, header: EntryHeader, limit: int) -> Optional[int]:
    """The end at which the entry's checksum matches, whatever its size field says; None when there is none.

    Candidates come in ascending order, so the checksum is carried forward from one to the next.
    """
    if header.stored_crc is None:
        return None
    if header.magic == 2:
        function, covered = crc32c, header.position + V2_CRC_START
    else:
        function, covered = zlib.crc32, header.position + LEGACY_CRC_START
    value = 0
    for end in natural_ends(window, header, limit):
        if end <= covered:
            continue
        value = window.checksum(function, covered, end, value)
        covered = end
        if value == header.stored_crc:
            return end
    return None
