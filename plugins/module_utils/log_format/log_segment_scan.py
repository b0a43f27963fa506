# -*- coding: utf-8 -*-
# Copyright: contributors to kafka_ops.remediation
# Apache License 2.0 (see LICENSE)
"""Walk one Kafka log segment: validate every entry, resynchronise after damaged framing, spot a torn tail.

The hot path handles well-framed v2 batches with one header unpack and one CRC-32C over a slice of the read
window; everything else (v0/v1, damage, the end of the segment) goes through the general path.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field
from typing import Iterator, List, Optional, Tuple

from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.crc32c import crc32c
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.log_segment import (
    CODEC_MASK, HEADER_UP_TO_MAGIC, LEGACY_CRC_START, LOG_OVERHEAD, MAXIMUM_SIZE, MINIMUM_SIZE, OFFSET_AND_SIZE, V2_CRC_START,
    V2_HEADER, V2_HEADER_SIZE, EntryHeader, ReadWindow, computed_crc, first_offset_of, read_header, validates)

WINDOW_BYTES = 4 << 20
INDEX_ENTRY = struct.Struct(">ii")
LEGACY_MINIMUM_TOTAL = {magic: LOG_OVERHEAD + MINIMUM_SIZE[magic] for magic in (0, 1)}
# How many .index entries past damaged framing to try before falling back to a byte-by-byte search.
INDEX_CANDIDATES = 8


class OffsetIndex:
    """Kafka's sparse ``.index`` (relative offset, position), read entry by entry with pread: never loaded whole."""

    def __init__(self, path: str, base_offset: int, log_size: int) -> None:
        self.base_offset = base_offset
        self.descriptor = os.open(path, os.O_RDONLY)
        slots = os.fstat(self.descriptor).st_size // INDEX_ENTRY.size
        # Unused slots of a preallocated index are zero; Kafka never indexes position 0, so the used entries
        # are the prefix with a position above zero (and inside the log).
        low, high = 0, slots
        while low < high:
            middle = (low + high) // 2
            if 0 < self._raw(middle)[1] < log_size:
                low = middle + 1
            else:
                high = middle
        self.entries = low

    def close(self) -> None:
        os.close(self.descriptor)

    def _raw(self, slot: int) -> Tuple[int, int]:
        return INDEX_ENTRY.unpack(os.pread(self.descriptor, INDEX_ENTRY.size, slot * INDEX_ENTRY.size))

    def entry(self, slot: int) -> Tuple[int, int]:
        """(absolute offset, position) of entry ``slot``."""
        relative, position = self._raw(slot)
        return self.base_offset + relative, position

    def floor(self, offset: int) -> int:
        """Slot of the last entry whose offset is at or below ``offset``; -1 when there is none."""
        low, high = 0, self.entries
        while low < high:
            middle = (low + high) // 2
            if self.entry(middle)[0] <= offset:
                low = middle + 1
            else:
                high = middle
        return low - 1

    def positions_after(self, position: int) -> Iterator[Tuple[int, int]]:
        """Entries whose position is beyond ``position``, in order."""
        low, high = 0, self.entries
        while low < high:
            middle = (low + high) // 2
            if self.entry(middle)[1] <= position:
                low = middle + 1
            else:
                high = middle
        for slot in range(low, self.entries):
            yield self.entry(slot)


@dataclass
class Damage:
    reason: str
    position: int
    length: int
    magic: Optional[int]
    first_offset: Optional[int]
    last_offset: Optional[int]
    stored_crc: Optional[int] = None
    computed_crc: Optional[int] = None
    header: Optional[EntryHeader] = None
    next_valid_offset: Optional[int] = None
    next_valid_position: Optional[int] = None


@dataclass
class TornTail:
    position: int
    length: int
    last_valid_offset: Optional[int]
    declared_size: Optional[int]


@dataclass
class SegmentScan:
    """What one segment held; ``pending`` damages still wait for the next valid entry (maybe in the next segment)."""

    damages: List[Damage] = field(default_factory=list)
    pending: List[Damage] = field(default_factory=list)
    torn_tail: Optional[TornTail] = None
    first_valid_offset: Optional[int] = None
    last_offset: int = -1
    start_position: int = 0
    bytes_scanned: int = 0
    # A valid entry holding an offset at or past the start offset was read (what stop_at_start waits for).
    passed_start: bool = False


def resolve_damage(damage: Damage, next_first: Optional[int], next_last: int, next_position: Optional[int]) -> None:
    """Fill in where readable data resumes once the next valid entry is known.

    When that entry's first offset is unknown (a snappy/lz4 v0/v1 wrapper), the offset after the damage is
    still readable through it if the damage's own last offset is known; otherwise only the wrapper's last is.
    """
    if next_first is not None:
        damage.next_valid_offset = next_first
        if damage.last_offset is None and damage.first_offset is not None and next_first > damage.first_offset:
            damage.last_offset = next_first - 1
    elif damage.last_offset is not None and damage.last_offset < next_last:
        damage.next_valid_offset = damage.last_offset + 1
    else:
        damage.next_valid_offset = next_last
    damage.next_valid_position = next_position


class SegmentScanner:
    """Scan ``[start, size)`` of one segment file; ``size`` is fixed when the scan begins (live segments grow)."""

    def __init__(self, handle, size: int, newest: bool, after_offset: int, start_position: int = 0,
                 start_offset: int = -1, stop_at_first: bool = False, index: Optional[OffsetIndex] = None,
                 window_bytes: int = WINDOW_BYTES, stop_at_start: bool = False) -> None:
        self.window = ReadWindow(handle, size, window_bytes)
        self.newest = newest
        self.index = index
        self.start_offset = start_offset
        self.stop_at_first = stop_at_first
        self.stop_at_start = stop_at_start
        self.result = SegmentScan(last_offset=after_offset, start_position=start_position)

    def run(self) -> SegmentScan:
        result, window = self.result, self.window
        buffer, view, capacity = window.buffer, window.view, window.capacity
        unpack, checksum, start_offset = V2_HEADER.unpack_from, crc32c, self.start_offset
        stop_at_start = self.stop_at_start
        # Compressed v0/v1 wrappers take the general path while their first inner offset is wanted.
        position, last = result.start_position, result.last_offset
        while position < window.end:
            if self.stop_at_first and result.damages and not result.pending:
                break
            if result.passed_start and stop_at_start:
                break
            if position < window.start or position + V2_HEADER_SIZE > window.stop:
                if window.end - position < V2_HEADER_SIZE:
                    result.last_offset = last
                    position = self._examine(position)
                    last = result.last_offset
                    continue
                window.load(position)
            relative = position - window.start
            fields = unpack(buffer, relative)
            total, magic, first = fields[1] + LOG_OVERHEAD, fields[3], fields[0]
            if magic == 2:
                entry_last, crc_start, stored, function = first + fields[6], V2_CRC_START, fields[4], checksum
                well_formed = total >= V2_HEADER_SIZE
            else:
                # v0/v1 share the v2 header's first fields: bytes 12-15 are the message CRC, 17 the attributes.
                entry_last, crc_start, stored, function = first, LEGACY_CRC_START, fields[2] & 0xFFFFFFFF, zlib.crc32
                well_formed = magic in LEGACY_MINIMUM_TOTAL and total >= LEGACY_MINIMUM_TOTAL[magic] and not (
                    buffer[relative + 17] & CODEC_MASK and (result.pending or result.first_valid_offset is None))
            if not well_formed or position + total > window.end or first <= last:
                result.last_offset = last
                position = self._examine(position)
                last = result.last_offset
                continue
            if entry_last >= start_offset:
                if position + total <= window.stop:
                    computed = function(view[relative + crc_start:relative + total])
                elif total <= capacity:
                    window.load(position)
                    computed = function(view[crc_start:total])
                else:
                    computed = window.checksum(function, position + crc_start, position + total)
                if computed != stored:
                    result.last_offset = last
                    position = self._examine(position)
                    last = result.last_offset
                    continue
            if result.pending:
                self._resolve(first, entry_last, position)
            if result.first_valid_offset is None:
                result.first_valid_offset = first
            last = entry_last
            position += total
            if stop_at_start and entry_last >= start_offset:
                result.passed_start = True
                break
        result.last_offset = last
        result.bytes_scanned = position - result.start_position
        return result

    def _resolve(self, next_first: Optional[int], next_last: int, next_position: int) -> None:
        """The first valid entry after damage tells where readable data starts again."""
        for damage in self.result.pending:
            resolve_damage(damage, next_first, next_last, next_position)
        self.result.pending.clear()

    def _accept(self, header: EntryHeader) -> None:
        result = self.result
        first: Optional[int] = header.offset
        if result.pending or result.first_valid_offset is None:
            first = first_offset_of(self.window, header)
        if result.pending:
            self._resolve(first, header.last_offset, header.position)
        if result.first_valid_offset is None:
            result.first_valid_offset = header.offset if first is None else first
        result.last_offset = header.last_offset
        if header.last_offset >= self.start_offset:
            result.passed_start = True

    def _record(self, damage: Damage) -> None:
        self.result.damages.append(damage)
        self.result.pending.append(damage)

    def _examine(self, position: int) -> int:
        """General path for one entry; returns where the next entry starts."""
        window, last = self.window, self.result.last_offset
        header = read_header(window, position)
        if header is None or header.magic is None or not MINIMUM_SIZE[0] <= header.size <= MAXIMUM_SIZE \
                or position + header.total > window.end:
            return self._framing_damage(position, header)
        following = position + header.total
        if header.magic not in MINIMUM_SIZE or header.size < MINIMUM_SIZE[header.magic]:
            if header.magic not in MINIMUM_SIZE and self._frames_at(following):
                self._record(Damage("invalid_magic", position, header.total, header.magic, last + 1, None,
                                    header=header))
                return following
            return self._framing_damage(position, header)
        if header.last_offset < self.start_offset:
            # Before the requested start offset: only the framing matters.
            result = self.result
            result.last_offset = max(last, header.last_offset)
            return following
        computed = computed_crc(window, header)
        if computed == header.stored_crc and header.offset > last:
            self._accept(header)
            return following
        if not self._frames_at(following):
            return self._framing_damage(position, header)
        if computed != header.stored_crc:
            first, last_covered = self._damaged_entry_offsets(header, last)
            self._record(Damage("crc_mismatch", position, header.total, header.magic, first, last_covered,
                                header.stored_crc, computed, header))
        else:
            self._record(Damage("offset_out_of_order", position, header.total, header.magic, last + 1, None,
                                header.stored_crc, computed, header))
        return following

    @staticmethod
    def _damaged_entry_offsets(header: EntryHeader, last: int) -> Tuple[int, Optional[int]]:
        """Offsets a damaged but well-framed entry covers, trusting its header only where it is plausible."""
        first = header.offset if header.offset > last else last + 1
        if header.magic in (0, 1) and header.attributes & CODEC_MASK:
            # A compressed wrapper's offset is its last inner message; its first follows the previous entry.
            return last + 1, header.offset if header.offset > last else None
        last_covered = header.last_offset if header.last_offset >= first else None
        return first, last_covered

    def _frames_at(self, position: int) -> bool:
        """Whether an entry plausibly starts at ``position`` (or the readable range ends exactly there)."""
        window = self.window
        if position == window.end:
            return True
        header = read_header(window, position)
        if header is None or not header.framed or position + header.total > window.end:
            return False
        return validates(window, header, -1) or self._plausible_after(header)

    def _plausible_after(self, header: EntryHeader) -> bool:
        """A second well-framed entry right behind ``header``: two consecutive damaged entries stay separate."""
        following = header.position + header.total
        if following == self.window.end:
            return True
        second = read_header(self.window, following)
        return second is not None and second.framed and second.offset > header.offset

    def _framing_damage(self, position: int, header: Optional[EntryHeader]) -> int:
        """Bytes that do not frame: find the next valid entry, or decide that the segment just ends torn."""
        window, result = self.window, self.result
        last = result.last_offset
        found = self._resync(position + 1, last)
        if found is None:
            if self.newest and self._looks_torn(position, header, last):
                if os.fstat(window.handle.fileno()).st_size > window.end:
                    # The broker appended since the scan began: the cut-off entry is a write in progress.
                    return window.end
                result.torn_tail = TornTail(position, window.end - position, last if last >= 0 else None,
                                            None if header is None else header.size)
                return window.end
            damage = Damage("bad_framing", position, window.end - position, header and header.magic, last + 1, None,
                            header=header)
            self._complete_if_intact(damage, header, window.end)
            self._record(damage)
            return window.end
        damage = Damage("bad_framing", position, found.position - position, header and header.magic, last + 1, None,
                        header=header)
        self._complete_if_intact(damage, header, found.position)
        self._record(damage)
        self._accept(found)
        return found.position + found.total

    def _complete_if_intact(self, damage: Damage, header: Optional[EntryHeader], stop: int) -> None:
        """When only the size field is wrong, the entry's checksum still matches over the real span."""
        if header is None or header.magic not in MINIMUM_SIZE or header.stored_crc is None:
            return
        if stop - header.position < LOG_OVERHEAD + MINIMUM_SIZE[header.magic]:
            return
        probe = EntryHeader(header.position, header.offset, stop - header.position - LOG_OVERHEAD, header.magic,
                            header.stored_crc, header.attributes, header.last_offset_delta)
        computed = computed_crc(self.window, probe)
        damage.stored_crc, damage.computed_crc = header.stored_crc, computed
        if computed == header.stored_crc and header.offset > self.result.last_offset:
            damage.first_offset, damage.last_offset = self._damaged_entry_offsets(header, self.result.last_offset)

    def _looks_torn(self, position: int, header: Optional[EntryHeader], last: int) -> bool:
        """A crash mid-write leaves a short header, zeros, or a sane header whose body is cut off."""
        window = self.window
        if header is None or header.magic is None:
            return True
        if self._all_zero(position):
            return True
        if header.magic not in MINIMUM_SIZE or header.size < MINIMUM_SIZE[header.magic] or header.offset <= last:
            return False
        if position + header.total <= window.end:
            return False
        # A damaged size field on a complete last entry is not a torn write: its checksum matches what is there.
        crc_start = V2_CRC_START if header.magic == 2 else 16
        if window.end - position >= LOG_OVERHEAD + MINIMUM_SIZE[header.magic] and header.stored_crc is not None:
            probe = EntryHeader(position, header.offset, window.end - position - LOG_OVERHEAD, header.magic,
                                header.stored_crc, header.attributes)
            if window.end - position > crc_start and computed_crc(window, probe) == header.stored_crc:
                return False
        return True

    def _all_zero(self, position: int) -> bool:
        window = self.window
        while position < window.end:
            piece = window.bytes_at(position, window.capacity)
            if piece.count(0) != len(piece):
                return False
            position += len(piece)
        return True

    def _resync(self, start: int, last: int) -> Optional[EntryHeader]:
        """The first entry at or after ``start`` that frames and validates; the .index bounds the byte search."""
        window = self.window
        limit, from_index = window.end, None
        if self.index is not None:
            for tried, (_offset, position) in enumerate(self.index.positions_after(start - 1)):
                if tried >= INDEX_CANDIDATES or position >= window.end:
                    break
                header = read_header(window, position)
                if validates(window, header, last):
                    limit, from_index = position, header
                    break
        position = start
        while position + HEADER_UP_TO_MAGIC <= limit:
            chunk = window.bytes_at(position, min(window.capacity, limit - position + HEADER_UP_TO_MAGIC))
            candidates = len(chunk) - HEADER_UP_TO_MAGIC + 1
            if candidates <= 0:
                break
            for relative in range(candidates):
                if chunk[relative + 16] > 2:
                    continue
                size = OFFSET_AND_SIZE.unpack_from(chunk, relative)[1]
                if not MINIMUM_SIZE[chunk[relative + 16]] <= size <= MAXIMUM_SIZE:
                    continue
                header = read_header(window, position + relative)
                if validates(window, header, last):
                    return header
            position += candidates
        return from_index
