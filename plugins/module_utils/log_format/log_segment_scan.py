# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Walk one Kafka log segment: validate every entry, resynchronise after damaged framing, spot a torn tail.

The hot path handles well-framed entries that validate and continue the offsets, with one header unpack and
one checksum over a slice of the read window, while no damage waits for its next valid entry. Everything
else (damage, offsets that break the sequence, the end of the segment) goes through ``_examine``, and the
offset ledger decides what is readable.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from typing import Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.crc32c import crc32c
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.entry_extent import checked_end, natural_ends
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.log_segment import (
    CODEC_MASK, LEGACY_CRC_START, LOG_OVERHEAD, MAXIMUM_SIZE, MINIMUM_SIZE, V2_CRC_START, V2_HEADER, V2_HEADER_SIZE,
    EntryHeader, ReadWindow, computed_crc, first_offset_of, legacy_wrapper_offsets, parse_header, read_header, validates)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.offset_index import OffsetIndex
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.offset_ledger import (
    NO_LIMIT, Damage, Entry, OffsetLedger)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.resync import find_entry, plausible_headers

WINDOW_BYTES = 4 << 20
LEGACY_MINIMUM_TOTAL = {magic: LOG_OVERHEAD + MINIMUM_SIZE[magic] for magic in (0, 1)}
# A crash in a preallocated file leaves the batch being written cut off by zeros. Cut-offs closer than this
# to the batch's end are not told apart from a complete batch whose last bytes happen to be zero.
TORN_ZEROS_MINIMUM = 8
# The largest gap between consecutive offsets taken as a sign that an entry starts (compaction leaves gaps).
PLAUSIBLE_GAP = 1 << 31
# Inner messages one v0 wrapper may hold, at most (a bound for telling its inner messages by their offsets).
MAXIMUM_INNER_MESSAGES = 1 << 20


class FramingDoubt(Exception):
    """A walk that trusted framing without checksums met something it cannot explain: walk again, checking."""


@dataclass
class TornTail:
    position: int
    length: int
    last_valid_offset: Optional[int]
    declared_size: Optional[int]


@dataclass
class SegmentBounds:
    """What the partition says about one segment: its offsets lie in ``[lowest, highest]``."""

    path: str
    lowest: int
    highest: int = NO_LIMIT
    newest: bool = False


class SegmentScanner:
    """Scan ``[start_position, size)`` of one segment into ``ledger``; ``size`` is fixed when the scan begins.

    ``trust_framing_below``: entries whose last offset is below it are taken on their framing alone (no
    checksum), for the walk to a start offset when no ``.index`` helps; anything unexpected on the way raises
    ``FramingDoubt``. ``stop_at_first``: stop once a damage reaching ``start_offset`` has its next valid entry.
    ``stop_at_start``: stop once an entry holding ``start_offset`` or later is confirmed and no damage waits.
    """

    def __init__(self, handle, size: int, bounds: SegmentBounds, ledger: OffsetLedger,
                 index: Optional[OffsetIndex] = None, start_position: int = 0, start_offset: int = -1,
                 trust_framing_below: int = -1, stop_at_first: bool = False, stop_at_start: bool = False,
                 window_bytes: int = WINDOW_BYTES, anchor_position: int = -1) -> None:
        self.window = ReadWindow(handle, size, window_bytes)
        self.bounds = bounds
        self.ledger = ledger
        self.index = index
        self.start_position = start_position
        # Where the walk starts at an entry the .index vouches for (its listed offset matched).
        self.anchor_position = anchor_position
        self.start_offset = start_offset
        self.trust_below = trust_framing_below
        self.stop_at_first = stop_at_first
        self.stop_at_start = stop_at_start
        self.torn_tail: Optional[TornTail] = None
        self.bytes_scanned = 0
        self.stopped = False
        self._zero_tail: Optional[int] = None
        ledger.ask_index = self._ask_index

    # -- the walk -------------------------------------------------------------------------------------------

    def run(self) -> "SegmentScanner":
        window, ledger, bounds = self.window, self.ledger, self.bounds
        buffer, view = window.buffer, window.view
        unpack, checksum, legacy_checksum = V2_HEADER.unpack_from, crc32c, zlib.crc32
        highest, trust_below = bounds.highest, self.trust_below
        start_offset, stop_at_start = self.start_offset, self.stop_at_start
        header_size, overhead, v2_crc_start = V2_HEADER_SIZE, LOG_OVERHEAD, V2_CRC_START
        position = self.start_position
        # The last confirmed entry, kept in locals (``held``) while nothing waits in the ledger; the hot path
        # takes only entries that continue it exactly. ``expected`` is the offset the next entry must start at.
        held = self._held_from_ledger()
        expected = -1 if held is None else held[1] + 1
        loaded_start, loaded_stop, end = window.start, window.stop, window.end
        slow = held is None
        while position < end:
            if slow:
                position, held = self._slow(position, held)
                if self.stopped:
                    break
                expected = -1 if held is None else held[1] + 1
                loaded_start, loaded_stop, end = window.start, window.stop, window.end
                slow = held is None
                continue
            if position < loaded_start or position + header_size > loaded_stop:
                if end - position < header_size:
                    slow = True
                    continue
                window.load(position)
                loaded_start, loaded_stop, end = window.start, window.stop, window.end
            relative = position - loaded_start
            fields = unpack(buffer, relative)
            total, magic, first = fields[1] + overhead, fields[3], fields[0]
            if magic == 2:
                last, crc_start, stored, function = first + fields[6], v2_crc_start, fields[4], checksum
                well_formed = total >= header_size
            else:
                # v0/v1 share the v2 header's first fields: bytes 12-15 are the message CRC, 17 the attributes.
                # Compressed wrappers go the slow way: their first offset is inside the compressed value.
                last, crc_start, stored, function = first, LEGACY_CRC_START, fields[2] & 0xFFFFFFFF, legacy_checksum
                well_formed = magic in LEGACY_MINIMUM_TOTAL and total >= LEGACY_MINIMUM_TOTAL[magic] \
                    and not buffer[relative + 17] & CODEC_MASK
            # Only an entry that continues the confirmed one exactly is confirmed on the way.
            if first != expected or not well_formed or position + total > end or last > highest or last < first:
                slow = True
                continue
            if last >= trust_below:
                if position + total <= loaded_stop:
                    computed = function(view[relative + crc_start:relative + total])
                else:
                    computed = window.checksum(function, position + crc_start, position + total)
                    loaded_start, loaded_stop, end = window.start, window.stop, window.end
                if computed != stored:
                    slow = True
                    continue
                if trust_below >= 0:
                    # A checksum matched at the start offset: the framing we trusted was right.
                    trust_below = self.trust_below = -1
            held = (first, last, position, total)
            expected = last + 1
            position += total
            if stop_at_start and last >= start_offset:
                self.stopped = True
                break
        self._held_to_ledger(held)
        for item in ledger.window:
            if isinstance(item, Entry) and item.segment == self.bounds.path:
                # The index closes with this segment: ask it now about entries still waiting.
                ledger.witness(item)
        self.bytes_scanned = position - self.start_position
        return self

    def _held_from_ledger(self) -> Optional[tuple]:
        """The confirmed entry, when the hot path can go on from it (nothing waits, same segment, offsets known)."""
        confirmed = self.ledger.confirmed
        if not self.ledger.quiet or confirmed is None or confirmed.segment != self.bounds.path \
                or confirmed.first is None:
            return None
        return confirmed.first, confirmed.last, confirmed.position, confirmed.length

    def _held_to_ledger(self, held: Optional[tuple]) -> None:
        """Hand the hot path's last confirmed entry to the ledger as an ``Entry`` (only when leaving the hot path)."""
        if held is None:
            return
        confirmed = self.ledger.confirmed
        if confirmed is not None and confirmed.segment == self.bounds.path and confirmed.position == held[2]:
            return
        self.ledger.confirmed = Entry(self.bounds.path, held[2], held[3], held[0], held[1],
                                      read_header(self.window, held[2]))
        self.ledger.confirmed_last = held[1]

    def _slow(self, position: int, held: Optional[tuple]) -> tuple:
        self._held_to_ledger(held)
        ledger = self.ledger
        damages = len(ledger.damages)
        position = self._examine(position)
        if self.trust_below >= 0 and (len(ledger.damages) > damages or self.torn_tail is not None):
            raise FramingDoubt(position)
        if self.stop_at_first and any(self._reaches_start(damage) for damage in ledger.resolved):
            self.stopped = True
        elif self.stop_at_start and ledger.quiet and ledger.confirmed_last >= self.start_offset:
            self.stopped = True
        return position, self._held_from_ledger()

    def _reaches_start(self, damage: Damage) -> bool:
        return damage.next_valid_offset is None or damage.next_valid_offset > self.start_offset

    def _ask_index(self, entry: Entry) -> Optional[bool]:
        """What this segment's .index says about ``entry`` (None for entries of other segments)."""
        if self.index is None or entry.segment != self.bounds.path:
            return None
        listed = self.index.offset_at(entry.position)
        return None if listed is None else listed == entry.last

    # -- one entry the hot path did not take ----------------------------------------------------------------

    def _valid(self, header: EntryHeader) -> None:
        ledger = self.ledger
        first: Optional[int] = header.offset
        if header.magic in (0, 1) and header.attributes & CODEC_MASK:
            # A wrapper's first offset is inside its value: inflate it, so that whether it continues the entry
            # before it exactly can be told (a damaged offset field shifts a v1 wrapper's offsets whole).
            inner = legacy_wrapper_offsets(self.window, header)
            if inner is not None and header.magic == 0 and inner[1] != header.offset:
                # v0 inner offsets are absolute: the wrapper's own offset field was damaged.
                self._damage("offset_out_of_order", header.position, header.total, header, header.stored_crc,
                             claims=inner)
                return
            first = None if inner is None else inner[0]
        entry = Entry(self.bounds.path, header.position, header.total, first, header.last_offset, header,
                      indexed=True if header.position == self.anchor_position else None)
        ledger.valid(entry, self.bounds.lowest, self.bounds.highest)

    def _damage(self, reason: str, position: int, length: int, header: Optional[EntryHeader],
                computed: Optional[int] = None, trusted: bool = False, whole_entry: bool = True,
                claims: Optional[tuple] = None) -> None:
        """Record damage; a damaged header's offsets are claims, checked against the neighbours later.

        ``whole_entry`` is False for a span found by resynchronising: it may hold more than the entry whose
        header starts it, so that header says nothing about where the span's offsets end.
        """
        claimed_first = claimed_last = None
        if header is not None:
            claimed_first = header.offset
            claimed_last = header.last_offset if header.magic == 2 else header.offset
            if header.magic in (0, 1) and header.attributes & CODEC_MASK:
                # A wrapper's offset is its last inner message.
                claimed_first = first_offset_of(self.window, header) if trusted else None
            if not whole_entry:
                claimed_last = None
        if claims is not None:
            claimed_first, claimed_last = claims
        self.ledger.damage(Damage(reason, self.bounds.path, position, length,
                                  magic=None if header is None else header.magic,
                                  claimed_first=claimed_first, claimed_last=claimed_last,
                                  stored_crc=None if header is None else header.stored_crc, computed_crc=computed,
                                  header=header, trusted=trusted or claims is not None,
                                  walkable=header is not None and header.stored_crc is not None
                                  and header.size >= MINIMUM_SIZE[0] and position + header.total <= self.window.end))

    def _examine(self, position: int) -> int:
        """One entry the hot path did not take; returns where the next entry starts."""
        window = self.window
        header = read_header(window, position)
        if header is None or header.magic is None:
            return self._broken(position, header)
        end = window.end
        following = position + header.total
        sized = MINIMUM_SIZE[0] <= header.size <= MAXIMUM_SIZE and following <= end
        if header.magic not in MINIMUM_SIZE:
            # v2's magic byte lies outside its checksum: a flipped magic leaves the size and the checksum right.
            as_v2 = self._as_v2(position)
            if sized and as_v2 is not None and computed_crc(window, as_v2) == as_v2.stored_crc:
                self._damage("invalid_magic", position, header.total, header, trusted=True,
                             claims=(as_v2.offset, as_v2.last_offset))
                return following
            if sized and self._size_holds(position, header, following):
                self._damage("invalid_magic", position, header.total, header)
                return following
            return self._broken(position, header)
        if not sized or header.size < MINIMUM_SIZE[header.magic]:
            real_end = checked_end(window, header, window.end)
            if real_end is not None:
                return self._size_only(position, header, real_end)
            if sized and self._size_holds(position, header, following):
                # Too small for its magic, yet what follows frames: the magic is what was hit.
                self._damage("invalid_magic", position, header.total, header)
                return following
            return self._broken(position, header)
        computed = computed_crc(window, header)
        if computed == header.stored_crc:
            self._valid(header)
            return following
        if self.bounds.newest and self._cut_by_zeros(position, header):
            return self._torn(position, header)
        real_end = checked_end(window, header, window.end)
        if real_end is not None:
            return self._size_only(position, header, real_end)
        if following in natural_ends(window, header, window.end) or self._size_holds(position, header, following):
            self._damage("crc_mismatch", position, header.total, header, computed)
            return following
        return self._broken(position, header)

    def _size_holds(self, position: int, header: EntryHeader, following: int) -> bool:
        """What follows the span the size field gives frames, or at least no valid entry starts inside that span:
        the size is taken, as Kafka's tools take it."""
        return self._frames_at(following) or self._resync(position + 1, header, limit=following) is None

    def _as_v2(self, position: int) -> Optional[EntryHeader]:
        """The header at ``position`` read as a v2 batch, whatever its magic byte says."""
        data = bytearray(self.window.bytes_at(position, V2_HEADER_SIZE))
        if len(data) < V2_HEADER_SIZE:
            return None
        data[16] = 2
        header = parse_header(bytes(data), position)
        return header if header is not None and header.framed else None

    def _size_only(self, position: int, header: EntryHeader, real_end: int) -> int:
        """The checksum matches over the span the contents give (``real_end``): only the size field was hit."""
        self._damage("bad_framing", position, real_end - position, header, header.stored_crc, trusted=True)
        return real_end

    def _broken(self, position: int, header: Optional[EntryHeader]) -> int:
        """Bytes that do not frame: find the next valid entry, or decide that the segment just ends torn."""
        window = self.window
        found = self._resync(position + 1, header)
        if found is None:
            if self.bounds.newest and self._looks_torn(position, header):
                return self._torn(position, header)
            torn = self._torn_after_damage(position) if self.bounds.newest else None
            self._damage("bad_framing", position, (torn or window.end) - position, header, whole_entry=False)
            return window.end if torn is None else self._torn(torn, read_header(window, torn))
        # The span is the one entry when that entry's own contents end where the next valid entry starts.
        whole = header is not None and found.position in natural_ends(window, header, found.position)
        self._damage("bad_framing", position, found.position - position, header, whole_entry=whole)
        return found.position

    def _torn(self, position: int, header: Optional[EntryHeader]) -> int:
        window = self.window
        if os.fstat(window.handle.fileno()).st_size > window.end and not self._all_zero(position):
            # The broker appended since the scan began: the cut-off entry is a write in progress.
            return window.end
        last = self.ledger.last
        self.torn_tail = TornTail(position, window.end - position, last if last >= 0 else None,
                                  None if header is None else header.size)
        return window.end

    # -- framing tests --------------------------------------------------------------------------------------

    def _frames_at(self, position: int) -> bool:
        """Whether an entry plausibly starts at ``position`` (or the readable range, or a torn tail, starts there)."""
        window = self.window
        if position == window.end:
            return True
        header = read_header(window, position)
        if header is not None and header.framed and position + header.total <= window.end:
            if validates(window, header, -1) or self._plausible_after(header) \
                    or position + header.total in natural_ends(window, header, window.end):
                # It validates, another entry follows it, or its contents end where its size says.
                return True
        if header is not None and header.magic in MINIMUM_SIZE and checked_end(window, header, window.end) is not None:
            # An entry whose size alone was hit: it starts here all the same.
            return True
        return self.bounds.newest and self._resync(position) is None and self._looks_torn(position, header)

    def _plausible_after(self, header: EntryHeader) -> bool:
        """A second well-framed entry right behind ``header``: two consecutive damaged entries stay separate."""
        following = header.position + header.total
        if following == self.window.end:
            return True
        second = read_header(self.window, following)
        if second is None or second.size < MINIMUM_SIZE[0]:
            return False
        # A second entry that frames, or one (whatever its magic) that ends exactly where the segment does.
        end = following + second.total
        return end == self.window.end or (second.framed and end <= self.window.end)

    def _looks_torn(self, position: int, header: Optional[EntryHeader]) -> bool:
        """Bytes at the end of the newest segment that nothing after validates: a write cut off by a crash?

        A crash leaves a short header, zeros, a sane header whose body is cut off, or bytes that were never an
        entry (a file extended past its last write). Bytes that show an entry (its contents validate over
        their real span, or a sane header with the next offset that fits in the file) are damage instead.
        """
        if header is None or header.magic is None or self._all_zero(position) or self._cut_by_zeros(position, header):
            return True
        window = self.window
        for candidate in (header, self._as_v2(position)):
            if candidate is not None and candidate.magic in MINIMUM_SIZE \
                    and checked_end(window, candidate, window.end) is not None:
                return False
        if not self._plausible_offset(header) or header.magic not in MINIMUM_SIZE \
                or header.size < MINIMUM_SIZE[header.magic]:
            # Nothing says an entry starts here; torn only if nothing after it looks like an entry either.
            return next(self._plausible_headers(position + 1), None) is None
        return position + header.total > window.end

    def _plausible_headers(self, start: int, stop: Optional[int] = None):
        last = self.ledger.confirmed_last
        return plausible_headers(self.window, start, self.window.end if stop is None else stop, last,
                                 last + PLAUSIBLE_GAP)

    def _plausible_offset(self, header: EntryHeader) -> bool:
        """An offset a next entry could carry: above the confirmed ones, by less than 2**31."""
        return 0 < header.offset - self.ledger.confirmed_last < PLAUSIBLE_GAP

    def _torn_after_damage(self, start: int) -> Optional[int]:
        """Within damage that runs to the end of the newest segment, where a torn tail begins, if one does.

        Entries in the damage end where their contents validate or, failing that, where their size says. After
        the last of them, a sane header cut off by the end of the file (or by zeros) starts a torn write, and so
        do bytes that look torn.
        """
        window = self.window
        reach = start
        headers = sorted(self._plausible_headers(start), key=lambda found: found.position)
        starts = {header.position for header in headers}
        # A header with a damaged magic counts only when its span ends where another entry begins.
        headers = [header for header in headers
                   if header.magic in MINIMUM_SIZE or header.position + header.total in starts | {window.end}]
        cut_offs = {header.position for header in headers if header.magic in MINIMUM_SIZE and (
            header.position + header.total > window.end or self._cut_by_zeros(header.position, header))}
        # A cut-off header followed by an entry that fits is not where the writes stopped.
        last_fitting = max([header.position for header in headers if header.position not in cut_offs], default=-1)
        for header in headers:
            if header.position < reach:
                # Inside an entry already passed (its contents can look like headers).
                continue
            if header.position in cut_offs:
                if start < header.position and header.position > last_fitting:
                    return header.position
                continue
            reach = header.position + header.total
        if start < reach < window.end and self._looks_torn(reach, read_header(window, reach)):
            return reach
        return None

    def _cut_by_zeros(self, position: int, header: Optional[EntryHeader]) -> bool:
        """The zeros that end the file begin inside this entry, well before its declared end, and go past it."""
        zeros = self._zeros_from()
        if zeros >= self.window.end or zeros <= position:
            return zeros <= position
        if header is None or header.magic is None or zeros < position + LOG_OVERHEAD:
            return True
        declared_end = position + header.total
        if zeros > declared_end - TORN_ZEROS_MINIMUM or declared_end == self.window.end:
            return False
        # A size field damaged so far that it reaches the zeros says nothing when the contents end earlier and
        # validate: the entry was written whole.
        return header.magic not in MINIMUM_SIZE or checked_end(self.window, header, zeros) is None

    def _zeros_from(self) -> int:
        """Where the run of zero bytes that ends the readable range begins (the end itself when there is none)."""
        if self._zero_tail is None:
            window, position = self.window, self.window.end
            while position > 0:
                piece = window.bytes_at(max(0, position - (1 << 16)), min(position, 1 << 16))
                stripped = piece.rstrip(b"\x00")
                if len(stripped) < len(piece):
                    position -= len(piece) - len(stripped)
                if stripped:
                    break
            self._zero_tail = position
        return self._zero_tail

    def _all_zero(self, position: int) -> bool:
        return self._zeros_from() <= position

    def _resync(self, start: int, broken: Optional[EntryHeader] = None,
                limit: Optional[int] = None) -> Optional[EntryHeader]:
        """The first entry at or after ``start`` that frames and validates, its offset above every readable one.

        The .index narrows the search: the first of its positions past ``start`` that validates bounds both
        where the next entry starts and the offsets it may carry.
        """
        window = self.window
        after = self.ledger.confirmed_last
        # Consecutive offsets never lie 2**31 apart: a bound that also makes the search faster.
        limit, highest, from_index = limit or window.end, min(self.bounds.highest, after + PLAUSIBLE_GAP), None
        if self.index is not None:
            for offset, position in self.index.positions_after(start - 1):
                if position >= limit:
                    break
                header = read_header(window, position)
                if validates(window, header, after) and header is not None and header.last_offset == offset:
                    limit, from_index, highest = position, header, min(highest, offset)
                    break
        # A damaged header with a plausible offset (one damage rarely hits both framing and offset) bounds the
        # offsets of any inner messages its value holds.
        inside = broken if broken is not None and self._plausible_offset(broken) else None
        search_from = start
        while True:
            found = find_entry(window, search_from, limit, after, highest, inside)
            if found is None or not (self._inner_message(start, found) or self._indexed_before(start, found)):
                return found if found is not None else from_index
            search_from = found.position + 1

    def _indexed_before(self, start: int, found: EntryHeader) -> bool:
        """The .index lists an entry between ``start`` and ``found`` whose offset is not below ``found``'s: then
        ``found`` lies inside that entry (an inner message), however damaged that entry's header is."""
        if self.index is None:
            return False
        for offset, position in self.index.positions_after(start - 1):
            if position >= found.position:
                return False
            if offset >= found.offset:
                return True
        return False

    def _inner_message(self, start: int, found: EntryHeader) -> bool:
        """Whether ``found`` (a v0 message) lies in the value of a compressed v0 wrapper that starts after ``start``:
        the wrapper's offset is its last inner message's, so it is ``found``'s or a little above, and where its key
        and value lengths say it ends (its size field may be what was damaged) lies beyond ``found``.

        v1 inner offsets are relative (0, 1, ...), so v1 inner messages are already below any offset searched for.
        """
        if found.magic != 0:
            return False
        for header in self._plausible_headers(start, found.position):
            if header.magic != 0 or not header.attributes & CODEC_MASK or header.attributes & 0xF8 \
                    or not 0 <= header.offset - found.offset < MAXIMUM_INNER_MESSAGES:
                continue
            for end in natural_ends(self.window, header, self.window.end):
                if header.position < found.position < end:
                    return True
        return False
