# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

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
from dataclasses import replace
from typing import Iterator, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.entry_extent import checked_end, natural_ends
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.log_segment import (
    HEADER_UP_TO_MAGIC, LOG_OVERHEAD, MAXIMUM_SIZE, MINIMUM_SIZE, EntryHeader, ReadWindow, read_header, validates)

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


def _pattern(lowest: int, highest: Optional[int], largest_size: int, any_magic: bool = False):
    """(pattern, bytes before its match in the header) for a header whose offset lies in ``[lowest, highest]``
    and whose size is at most about ``largest_size``, with the magic 0, 1 or 2.

    The leading bytes both offset bounds share are a literal prefix, which the regular expression engine
    finds fast; without it the match starts at the size field, 8 bytes into the header.
    """
    tail = _size_at_most(max(0, min(largest_size, MAXIMUM_SIZE))) + _ANY + (b"{5}" if any_magic else b"{4}[\x00-\x02]")
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


def _candidates(window: ReadWindow, pattern, start: int, limit: int) -> Iterator[int]:
    """File positions in ``[start, limit)`` where ``pattern`` matches a header, runs of zeros skipped."""
    expression, lead = pattern
    position = start
    while position < limit:
        stop = min(limit, position + CHUNK)
        # Headers starting before ``stop`` need up to 17 bytes beyond it.
        chunk = window.bytes_at(position, stop - position + HEADER_UP_TO_MAGIC)
        searched = 0
        while searched < stop - position:
            zeros = chunk.find(_ZERO_RUN, searched, stop - position)
            region_end = stop - position if zeros < 0 else zeros
            at = searched
            while at < region_end:
                match = expression.search(chunk, at + lead, region_end + HEADER_UP_TO_MAGIC)
                if match is None or match.start() - lead >= region_end:
                    break
                candidate = match.start() - lead
                at = candidate + 1
                yield position + candidate
            if zeros < 0:
                break
            # Skip the zero run: a header needs a non-zero byte in its offset or size field, so it may still
            # start in the run's last 11 bytes.
            searched = _zero_run_end(chunk, zeros) - 11
        position = stop


def find_entry(window: ReadWindow, start: int, limit: int, after_offset: int,
               highest_offset: Optional[int] = None,
               inside: Optional[EntryHeader] = None) -> Optional[EntryHeader]:
    """The first entry starting in ``[start, limit)`` that validates with an offset in (after_offset, highest].

    ``inside``: the damaged header the search starts from. A v0/v1 wrapper's inner messages can lie in its value
    as they are (gzip stored blocks, lz4 and snappy literals) and validate on their own; their offsets are at
    most the wrapper's, while the next real entry's are above it. So v0/v1 messages with an offset not above
    ``inside``'s are passed over.
    """
    pattern = _pattern(after_offset + 1, highest_offset, window.end - start - 12)
    for candidate in _candidates(window, pattern, start, limit):
        header = read_header(window, candidate)
        if header is None or header.magic not in MINIMUM_SIZE or header.size < MINIMUM_SIZE[header.magic]:
            continue
        if header.offset <= after_offset or (highest_offset is not None and header.offset > highest_offset):
            continue
        if inside is not None and header.magic in (0, 1) and header.offset <= inside.offset:
            continue
        if _sane(window, header) and validates(window, header, after_offset):
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


def plausible_headers(window: ReadWindow, start: int, limit: int, after_offset: int,
                      highest_offset: int) -> Iterator[EntryHeader]:
    """Every header in ``[start, limit)`` that looks like an entry's, damaged or not, with no checksum over it:
    an offset in (after, highest], a size of at least 14, and a magic byte of 0, 1 or 2 (any magic when the size
    fits before ``limit``). Headers whose contents validate come with their real size. For telling where
    damaged entries end, and whether anything after a position looks like an entry at all."""
    seen = set()
    for any_magic in (False, True):
        pattern = _pattern(after_offset + 1, highest_offset, MAXIMUM_SIZE, any_magic=any_magic)
        for candidate in _candidates(window, pattern, start, limit):
            header = read_header(window, candidate)
            if candidate in seen or header is None or not after_offset < header.offset <= highest_offset:
                continue
            seen.add(candidate)
            real_end = checked_end(window, header, limit) if header.magic in MINIMUM_SIZE else None
            if real_end is not None:
                yield replace(header, size=real_end - candidate - LOG_OVERHEAD)
            elif header.size >= MINIMUM_SIZE[0] and (header.magic in MINIMUM_SIZE or candidate + header.total <= limit):
                yield header
