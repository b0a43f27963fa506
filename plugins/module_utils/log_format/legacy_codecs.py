# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Snappy and LZ4 decompression in pure Python, for v0/v1 compressed wrappers only.

A v0/v1 wrapper carries the offset of its last inner message; its first is inside the compressed value. Broker
hosts may have no snappy or lz4 package, and the scanner needs that first offset when the wrapper is the first
readable entry after damage. Only those wrappers are inflated here, piece by piece: Kafka's xerial snappy
framing in chunks of at most 32 KiB, and LZ4 frames block by block (64 KiB of history for linked blocks).
These are slow, correct decoders, never on the hot path.
"""

from __future__ import annotations

import struct
from typing import Iterator

XERIAL_MAGIC = b"\x82SNAPPY\x00"
XERIAL_HEADER_SIZE = 16
LZ4_MAGIC = 0x184D2204
LZ4_HISTORY = 1 << 16


class CodecError(ValueError):
    """Compressed bytes that do not decode."""


def _copy(out: bytearray, distance: int, length: int) -> None:
    start = len(out) - distance
    if distance <= 0 or start < 0:
        raise CodecError("copy reaches before the start of the output")
    if distance >= length:
        out += out[start:start + length]
    else:
        # An overlapping copy repeats the last ``distance`` bytes.
        for index in range(length):
            out.append(out[start + index])


def snappy_block(data: bytes) -> bytes:
    """One raw snappy block (a varint of the decompressed length, then literals and copies)."""
    length = shift = index = 0
    while True:
        if index >= len(data):
            raise CodecError("snappy length runs past the block")
        byte = data[index]
        index += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    out = bytearray()
    while index < len(data):
        tag = data[index]
        index += 1
        kind = tag & 3
        if kind == 0:
            size = tag >> 2
            if size >= 60:
                extra = size - 59
                size = int.from_bytes(data[index:index + extra], "little")
                index += extra
            size += 1
            if index + size > len(data):
                raise CodecError("snappy literal runs past the block")
            out += data[index:index + size]
            index += size
        elif kind == 1:
            if index >= len(data):
                raise CodecError("snappy copy runs past the block")
            _copy(out, (tag >> 5) << 8 | data[index], ((tag >> 2) & 7) + 4)
            index += 1
        else:
            width = 2 if kind == 2 else 4
            if index + width > len(data):
                raise CodecError("snappy copy runs past the block")
            _copy(out, int.from_bytes(data[index:index + width], "little"), (tag >> 2) + 1)
            index += width
    if len(out) != length:
        raise CodecError("snappy block decoded to %d bytes, expected %d" % (len(out), length))
    return bytes(out)


def snappy_pieces(data: bytes) -> Iterator[bytes]:
    """Kafka's snappy: xerial framing (16-byte header, then big-endian length + block), or one raw block."""
    if not data.startswith(XERIAL_MAGIC):
        yield snappy_block(data)
        return
    index = XERIAL_HEADER_SIZE
    while index < len(data):
        if index + 4 > len(data):
            raise CodecError("xerial chunk length runs past the value")
        size = struct.unpack_from(">i", data, index)[0]
        index += 4
        if size < 0 or index + size > len(data):
            raise CodecError("xerial chunk runs past the value")
        yield snappy_block(data[index:index + size])
        index += size


def _lz4_length(data: bytes, index: int, length: int) -> tuple:
    """A literal or match length: 15 in the token means more bytes follow, each added, until one below 255."""
    if length != 15:
        return length, index
    while True:
        if index >= len(data):
            raise CodecError("lz4 length runs past the block")
        extra = data[index]
        index += 1
        length += extra
        if extra != 255:
            return length, index


def lz4_block(data: bytes, history: bytes = b"") -> bytes:
    """One LZ4 block; ``history`` is the output of earlier linked blocks (at most 64 KiB of it is reachable)."""
    out = bytearray(history)
    start = len(out)
    index = 0
    while index < len(data):
        token = data[index]
        index += 1
        literals, index = _lz4_length(data, index, token >> 4)
        if index + literals > len(data):
            raise CodecError("lz4 literals run past the block")
        out += data[index:index + literals]
        index += literals
        if index >= len(data):
            break
        if index + 2 > len(data):
            raise CodecError("lz4 match offset runs past the block")
        distance = data[index] | data[index + 1] << 8
        index += 2
        length, index = _lz4_length(data, index, token & 15)
        _copy(out, distance, length + 4)
    return bytes(out[start:])


def lz4_pieces(data: bytes) -> Iterator[bytes]:
    """An LZ4 frame (as Kafka writes it, including the v0 framing whose header checksum is computed wrongly)."""
    if len(data) < 7 or struct.unpack_from("<I", data)[0] != LZ4_MAGIC:
        raise CodecError("not an LZ4 frame")
    flags = data[4]
    independent, block_checksum, content_size = flags & 0x20, flags & 0x10, flags & 0x08
    index = 4 + 2 + (8 if content_size else 0) + (4 if flags & 0x01 else 0) + 1
    history = b""
    while True:
        if index + 4 > len(data):
            raise CodecError("lz4 block size runs past the value")
        size = struct.unpack_from("<I", data, index)[0]
        index += 4
        if size == 0:
            return
        stored, size = size & 0x80000000, size & 0x7FFFFFFF
        if index + size > len(data):
            raise CodecError("lz4 block runs past the value")
        block = data[index:index + size]
        index += size + (4 if block_checksum else 0)
        piece = block if stored else lz4_block(block, b"" if independent else history)
        if not independent:
            history = (history + piece)[-LZ4_HISTORY:]
        yield piece
