# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Byte-by-byte builders for Kafka log entries (v0/v1 messages, v2 batches) and .index files, for tests and bench."""

from __future__ import annotations

import gzip
import struct
import zlib
from typing import List, Optional, Sequence, Tuple

import crc32c


def varint(value: int) -> bytes:
    """Zig-zag varint, as in v2 records."""
    value = (value << 1) ^ (value >> 63)
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def v2_record(offset_delta: int, value: Optional[bytes], key: Optional[bytes] = None, timestamp_delta: int = 0) -> bytes:
    body = bytearray(b"\x00")
    body += varint(timestamp_delta) + varint(offset_delta)
    body += varint(-1) if key is None else varint(len(key)) + key
    body += varint(-1) if value is None else varint(len(value)) + value
    body += varint(0)
    return varint(len(body)) + bytes(body)


def v2_batch(base_offset: int, values: Sequence[Optional[bytes]], timestamp: int = 1700000000000,
             leader_epoch: int = 0, attributes: int = 0, producer_id: int = -1, producer_epoch: int = -1,
             base_sequence: int = -1, keys: Optional[Sequence[Optional[bytes]]] = None,
             last_offset_delta: Optional[int] = None) -> bytes:
    keys = keys or [None] * len(values)
    records = b"".join(v2_record(i, value, keys[i], i) for i, value in enumerate(values))
    delta = len(values) - 1 if last_offset_delta is None else last_offset_delta
    after_crc = struct.pack(">hiqqqhii", attributes, delta, timestamp, timestamp + len(values) - 1, producer_id,
                            producer_epoch, base_sequence, len(values)) + records
    crc = crc32c.crc32c(after_crc)
    length = 4 + 1 + 4 + len(after_crc)
    return struct.pack(">qiibI", base_offset, length, leader_epoch, 2, crc) + after_crc


def legacy_message(offset: int, magic: int, value: Optional[bytes], key: Optional[bytes] = None,
                   timestamp: int = 1700000000000, attributes: int = 0) -> bytes:
    body = struct.pack(">bb", magic, attributes)
    if magic == 1:
        body += struct.pack(">q", timestamp)
    body += struct.pack(">i", -1) if key is None else struct.pack(">i", len(key)) + key
    body += struct.pack(">i", -1) if value is None else struct.pack(">i", len(value)) + value
    crc = zlib.crc32(body)
    return struct.pack(">qiI", offset, 4 + len(body), crc) + body


def legacy_gzip_wrapper(first_offset: int, magic: int, values: Sequence[bytes], timestamp: int = 1700000000000) -> bytes:
    """A gzip wrapper: inner offsets absolute (v0) or relative (v1); the wrapper carries the last absolute offset."""
    inner = b"".join(legacy_message(first_offset + i if magic == 0 else i, magic, value, timestamp=timestamp)
                     for i, value in enumerate(values))
    return legacy_message(first_offset + len(values) - 1, magic, gzip.compress(inner), timestamp=timestamp,
                          attributes=1)


def index_bytes(base_offset: int, entries: Sequence[Tuple[int, int]], preallocated: int = 0) -> bytes:
    data = b"".join(struct.pack(">ii", offset - base_offset, position) for offset, position in entries)
    return data + b"\x00" * max(0, preallocated - len(data))


def positions(entries: Sequence[bytes]) -> List[int]:
    out, position = [], 0
    for entry in entries:
        out.append(position)
        position += len(entry)
    return out
