# -*- coding: utf-8 -*-
# Copyright: contributors to kafka_ops.remediation
# Apache License 2.0 (see LICENSE)
"""Find the next entry that frames and validates after damaged framing, without a Python step per byte.

An entry can only start at ``q`` when its size (bytes q+8..q+11) is at least 14 and fits in the segment and
its magic (byte q+16) is 0, 1 or 2. A regular expression finds such positions in C; runs of zero bytes, where
nothing can start, are skipped with a plain substring search. When the offsets the next entry may carry are
bounded (by the previous entry, the ``.index`` or the next segment's base offset), their common leading
bytes must be there too, which makes candidates in random bytes rare. Each candidate is then checked in
Python: offset in range, whole entry inside the segment, checksum.
"""

from __future__ import annotations

import re
from typing import Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.entry_extent import natural_ends
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.log_segment import (
    HEADER_UP_TO_MAGIC, MAXIMUM_SIZE, MINIMUM_SIZE, EntryHeader, ReadWindow, read_header, validates)

# Long enough that no header fits inside the run (its size field has a non-zero byte).
_ZERO_RUN = bytes(64)
_ZERO_BLOCKS = (bytes(1 << 16), bytes(1 << 12), _ZERO_RUN)
CHUNK = 1 << 20
_ANY = rb"[\x00-\xff]"


def _byte_range(low: int, high: int) -> bytes:
    return re.escape(bytes([low])) if low == high else b"[" + re.escape(bytes([low])) + b"-" + re.escape(bytes([high])) + b"]"


def _size_at_most(largest: int) -> bytes:
    """A 4-byte big-endian integer no larger than ``largest`` rounded up to its leading byte (a filter only)."""
    leading = 0
    while leading < 3 and not largest >> (8 * (3 - leading)) & 0xFF:
        leading += 1
    top = largest >> (8 * (3 - leading)) & 0xFF
    return b"\x00" * leading + _byte_range(0, top) + _ANY + b"{%d}" % (3 - leading) if leading < 3 else \
        b"\x00" * 3 + _byte_range(0, top)


def _pattern(lowest: int, highest: Optional[int], largest_size: int):
    """(pattern, bytes before its match in the header) for a header whose offset lies in ``[lowest, highest]``
    and whose size is at most about ``largest_size``, with the magic 0, 1 or 2.

    The leading bytes both offset bounds share are a literal prefix, which the regular expression engine
    finds fast; without it the match starts at the size field, 8 bytes into the header.
    """
    tail = _size_at_most(max(0, min(largest_size, MAXIMUM_SIZE))) + _ANY + b"{4}[\x00-\x02]"
    shared = 0
    if highest is not None and 0 <= lowest <= highest < 1 << 63:
        low, high = lowest.to_bytes(8, "big"), highest.to_bytes(8, "big")
        while shared < 8 and low[shared] == high[shared]:
            shared += 1
    if shared == 0:
        return re.compile(tail), 8
    return re.compile(re.escape(low[:shared]) + _ANY + b"{%d}" % (8 - shared) + tail), 0


def _zero_run_end(chunk: bytes, start: int) -> int:
    """First non-zero byte at or after ``start``, found with block comparisons rather than a step per byte."""
    position = start
    for block in _ZERO_BLOCKS:
        while chunk.startswith(block, position):
            position += len(block)
    while position < len(chunk) and chunk[position] == 0:
        position += 1
    return position


def find_entry(window: ReadWindow, start: int, limit: int, after_offset: int,
               highest_offset: Optional[int] = None) -> Optional[EntryHeader]:
    """The first entry starting in ``[start, limit)`` that validates with an offset in (after_offset, highest]."""
    pattern = _pattern(after_offset + 1, highest_offset, window.end - start - 12)
    position = start
    while position < limit:
        stop = min(limit, position + CHUNK)
        # Headers starting before ``stop`` need up to 17 bytes beyond it.
        chunk = window.bytes_at(position, stop - position + HEADER_UP_TO_MAGIC)
        searched = 0
        while searched < stop - position:
            zeros = chunk.find(_ZERO_RUN, searched, stop - position)
            region_end = stop - position if zeros < 0 else zeros
            found = _search(window, pattern, chunk, position, searched, region_end, after_offset, highest_offset)
            if found is not None:
                return found
            if zeros < 0:
                break
            # Skip the zero run; a header may still start in its last 11 bytes (size's top bytes zero).
            searched = _zero_run_end(chunk, zeros) - 11
        position = stop
    return None


def _search(window: ReadWindow, pattern, chunk: bytes, base: int, begin: int, end: int, after_offset: int,
            highest_offset: Optional[int]) -> Optional[EntryHeader]:
    """Candidates starting in ``chunk[begin:end]``; ``chunk`` starts at file position ``base``."""
    expression, lead = pattern
    at = begin
    while at < end:
        match = expression.search(chunk, at + lead, end + HEADER_UP_TO_MAGIC)
        if match is None or match.start() - lead >= end:
            return None
        candidate = match.start() - lead
        at = candidate + 1
        magic = chunk[candidate + 16]
        size = int.from_bytes(chunk[candidate + 8:candidate + 12], "big")
        if size < MINIMUM_SIZE[magic]:
            continue
        offset = int.from_bytes(chunk[candidate:candidate + 8], "big", signed=True)
        if offset <= after_offset or (highest_offset is not None and offset > highest_offset):
            continue
        header = read_header(window, base + candidate)
        if header is not None and _sane(window, header) and validates(window, header, after_offset):
            return header
    return None


def _sane(window: ReadWindow, header: EntryHeader) -> bool:
    """Header fields every writer sets consistently; random bytes rarely do, and checksums cost more."""
    if header.magic == 2:
        fields = header.v2_fields
        if fields is None:
            return False
        # Attributes bits 7-15 are unused; records (count) never exceed the offsets the batch spans.
        return not fields[5] & 0xFF80 and (fields[5] & 0x07) <= 4 and 0 <= fields[12] <= fields[6] + 1
    unused = 0xF8 if header.magic == 0 else 0xF0
    if header.attributes & unused:
        return False
    # A v0/v1 message's key and value lengths account for its size exactly.
    return header.position + header.total in natural_ends(window, header, header.position + header.total)
