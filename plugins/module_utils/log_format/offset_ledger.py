# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which offsets are readable, decided from the valid entries around each damage (pure, no I/O).

An entry's offset field lies outside every checksum, so an entry can validate and still carry a wrong
offset. Such an entry is told apart by its neighbours: every valid entry is held back until the next valid
entry confirms that the offsets still rise. When two valid entries disagree, the one that breaks the
sequence is the damaged one; the other stays readable. Damage found between two confirmed entries covers
exactly the offsets between them, whatever its own (untrustworthy) header fields say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.log_segment import EntryHeader

NO_LIMIT = (1 << 63) - 1


@dataclass
class Entry:
    """A valid entry: ``first`` is None for a v0/v1 snappy/lz4 wrapper (its first inner offset is unknown)."""

    segment: str
    position: int
    length: int
    first: Optional[int]
    last: int
    header: Optional[EntryHeader] = None
    # What the segment's .index says about this entry: True (it lists this last offset at this position),
    # False (it lists another offset there), None (no index entry at this position, or no index).
    indexed: Optional[bool] = None

    @property
    def low(self) -> int:
        return self.last if self.first is None else self.first


@dataclass
class Damage:
    """A damaged span of one segment. ``claimed_*`` come from its own header, trusted only where plausible."""

    reason: str
    segment: str
    position: int
    length: int
    magic: Optional[int] = None
    claimed_first: Optional[int] = None
    claimed_last: Optional[int] = None
    stored_crc: Optional[int] = None
    computed_crc: Optional[int] = None
    header: Optional[EntryHeader] = None
    # How many offsets past its first the entry covers, when a valid checksum vouches for it (lastOffsetDelta).
    known_span: Optional[int] = None
    # The claims come from contents a checksum vouched for (only the size or magic was hit, or inner offsets).
    trusted: bool = False
    # Kafka's DumpLogSegments would read this entry by its size field (at least 14, inside the file) and print it.
    walkable: bool = False
    first_offset: Optional[int] = None
    last_offset: Optional[int] = None
    next_valid_offset: Optional[int] = None
    next_valid_position: Optional[int] = None
    resolved: bool = False


def assign_offsets(group: List[Damage], lowest: int, following: Optional[Entry]) -> None:
    """Give consecutive damages the offsets between the valid entry before them and ``following``.

    The first damage starts right after the previous valid entry. Later ones start where their own header
    says only when that is above the previous start and below the next valid offset; otherwise they share
    the previous range. When ``following`` is a wrapper whose first offset is unknown, readable data resumes
    after the highest offset a damage is known to cover, or at the wrapper's last offset when none is known.
    """
    if not group:
        return
    if following is None:
        next_valid = None
        highest: Optional[int] = None
    elif following.first is not None:
        next_valid = following.first
        highest = next_valid - 1
    else:
        known = [damage.claimed_last for damage in group
                 if damage.claimed_last is not None and lowest <= damage.claimed_last < following.last]
        next_valid = max(known) + 1 if known and group[-1].claimed_last in known else following.last
        highest = next_valid - 1
    starts: List[int] = []
    for number, damage in enumerate(group):
        claimed = damage.claimed_first
        if number == 0:
            starts.append(lowest)
        elif claimed is not None and claimed > starts[-1] and (highest is None or claimed <= highest):
            starts.append(claimed)
        else:
            starts.append(starts[-1])
    _place_known_spans(group, starts, highest)
    for number, damage in enumerate(group):
        later = [start for start in starts[number + 1:] if start > starts[number]]
        if later:
            last: Optional[int] = later[0] - 1
        elif highest is not None:
            last = highest
        else:
            claimed_last = damage.claimed_last
            last = claimed_last if claimed_last is not None and claimed_last >= starts[number] else None
        empty = last is not None and last < starts[number]
        damage.first_offset = None if empty else starts[number]
        damage.last_offset = None if empty else last
        damage.next_valid_offset = next_valid
        damage.next_valid_position = None if following is None else following.position
        damage.resolved = following is not None


def _place_known_spans(group: List[Damage], starts: List[int], highest: Optional[int]) -> None:
    """Damages at the end of a group whose span is vouched for end right before the next valid offset."""
    if highest is None:
        return
    end = highest
    for number in range(len(group) - 1, 0, -1):
        span = group[number].known_span
        if span is None or end - span <= starts[number - 1]:
            return
        starts[number] = end - span
        end = starts[number] - 1


def no_index(entry: Entry) -> Optional[bool]:
    """What a segment without a readable .index says about an entry: nothing beyond what is already known."""
    return entry.indexed


class OffsetLedger:
    """Entries and damages of one partition, fed in log order; ``damages`` holds every damage found.

    An entry is confirmed when the entry right after it continues its offsets exactly (two entries whose
    offsets would both have to be wrong by the same amount), or when it starts its segment at the offset the
    file name gives. Entries that are not yet confirmed wait in a short window with the damages between them.
    When an entry continues one of them exactly, or the window is full, or the partition ends, the window is
    settled: the largest set of its entries whose offsets rise (the ones the .index lists counting most, the
    ones it refutes left out) stays readable, and every other entry is damage whose offsets are decided by
    the readable entries around it.
    """

    WINDOW = 16

    def __init__(self, floor: int = -1) -> None:
        self.confirmed: Optional[Entry] = None
        self.confirmed_last = floor
        # Entries waiting for confirmation and damages, in log order, all after ``confirmed``.
        self.window: List[object] = []
        self.damages: List[Damage] = []
        # Called with (entry) to ask the segment's .index, lazily: only when entries disagree.
        self.ask_index: Callable[[Entry], Optional[bool]] = no_index
        # Damages that have their next valid entry (confirmed): what ``mode: first`` waits for.
        self.resolved: List[Damage] = []

    @property
    def last(self) -> int:
        """Highest offset of a readable entry so far (entries waiting for confirmation count)."""
        entries = [item.last for item in self.window if isinstance(item, Entry)]
        return max([self.confirmed_last] + entries)

    @property
    def quiet(self) -> bool:
        """Nothing waits: a valid entry continuing the confirmed one exactly only moves the offsets on."""
        return not self.window

    def damage(self, damage: Damage) -> None:
        self.damages.append(damage)
        self.window.append(damage)

    def valid(self, entry: Entry, lowest: int = -1, highest: int = NO_LIMIT) -> None:
        """A valid entry of a segment whose offsets must lie in ``[lowest, highest]`` (its file name and the next's)."""
        if entry.low < lowest or entry.last > highest or entry.low <= self.confirmed_last or entry.low > entry.last:
            self.damage(self._out_of_order(entry))
            return
        previous = self.window[-1] if self.window else self.confirmed
        continues = isinstance(previous, Entry) and entry.first is not None and entry.first == previous.last + 1
        starts_segment = entry.first is not None and entry.first == lowest and entry.position == 0
        self.window.append(entry)
        if continues or starts_segment or entry.indexed:
            self._settle(ending=entry, vouched=previous if continues else None)
        elif sum(isinstance(item, Entry) for item in self.window) > self.WINDOW:
            self._settle(ending=None, keep_last=True)

    def finish(self) -> None:
        """The end of the partition: what waits is settled; the last entry has no follower to confirm it."""
        self._settle(ending=None)
        assign_offsets(self.window, self.confirmed_last + 1, None)

    def witness(self, entry: Entry) -> Optional[bool]:
        """What the .index says about ``entry``, asked once."""
        if entry.indexed is None:
            entry.indexed = self.ask_index(entry)
        return entry.indexed

    def _settle(self, ending: Optional[Entry], keep_last: bool = False, vouched: Optional[object] = None) -> None:
        """Keep the rising entries of the window (those before ``ending`` must lie below it, and ``vouched``,
        which ``ending`` continues exactly, is kept with it); the others become damage. Damages between kept
        entries get their offsets."""
        entries = [item for item in self.window if isinstance(item, Entry)]
        if not entries:
            return
        kept = self._rising(entries, ending, vouched)
        if keep_last and kept and kept[-1] is entries[-1]:
            # A full window: the newest entry still waits for its follower.
            kept = kept[:-1]
        kept_ids = {id(item) for item in kept}
        settled_until = self.window.index(kept[-1]) + 1 if kept else 0
        if keep_last and not kept:
            return
        group: List[Damage] = []
        lowest = self.confirmed_last + 1
        for item in self.window[:settled_until]:
            if isinstance(item, Entry) and id(item) in kept_ids:
                assign_offsets(group, lowest, item)
                self.resolved.extend(group)
                group = []
                lowest = item.last + 1
                self.confirmed, self.confirmed_last = item, item.last
            elif isinstance(item, Entry):
                demoted = self._out_of_order(item)
                self.damages.append(demoted)
                group.append(demoted)
            else:
                group.append(item)
        rest = self.window[settled_until:]
        if not keep_last:
            # Entries after the last kept one are not readable either.
            rest = [self._demote_in_place(item) if isinstance(item, Entry) else item for item in rest]
        self.window = group + rest

    def _demote_in_place(self, entry: Entry) -> Damage:
        demoted = self._out_of_order(entry)
        self.damages.append(demoted)
        return demoted

    def _rising(self, entries: List[Entry], ending: Optional[Entry], vouched: Optional[object] = None) -> List[Entry]:
        """The largest subsequence whose offsets rise above the confirmed ones, ``ending`` included when given.

        Entries the .index lists count for more than any number of others; entries it refutes are left out.
        The .index is asked only when the entries do not already rise.
        """
        rising = all(later.low > earlier.last for earlier, later in zip(entries, entries[1:]))
        # An entry is refuted by damaged entries after it whose own headers claim offsets it covers, and the
        # newest one (without a follower) also by the .index.
        doubted = None if ending is not None else entries[-1]
        refuted = {id(entry) for entry in entries if self._claims_below(entry, trusted_only=entry is not doubted)}
        if doubted is not None and self.witness(doubted) is False:
            refuted.add(id(doubted))
        if rising and not refuted:
            return entries
        weights = []
        for entry in entries:
            evidence = False if id(entry) in refuted else (self.witness(entry) if not rising else None)
            weight = 0 if evidence is False else (1000 if evidence or entry is vouched else 1)
            if weight == 1 and self._claims_below(entry, trusted_only=False, overlap=True):
                # A damaged header after it claims an offset it covers: weak evidence, enough to break a tie.
                weight = 0.5
            weights.append(weight)
        # best[i]: (weight, -gaps, chain) of the best rising chain ending with entries[i]. Equal weights prefer
        # the chain with the smaller gaps between offsets: a raised offset leaves a gap, dense logs leave none.
        best: List[Optional[tuple]] = []
        for number, entry in enumerate(entries):
            if not weights[number] or entry.low <= self.confirmed_last:
                best.append(None)
                continue
            choice = (weights[number], -(entry.low - self.confirmed_last - 1), [number])
            for earlier in range(number):
                candidate = best[earlier]
                if candidate is not None and entries[earlier].last < entry.low:
                    extended = (candidate[0] + weights[number], candidate[1] - (entry.low - entries[earlier].last - 1),
                                candidate[2] + [number])
                    choice = max(choice, extended, key=lambda option: option[:2])
            best.append(choice)
        if ending is not None:
            final = best[len(entries) - 1]
            chosen = final[2] if final is not None else []
        else:
            finals = [candidate for candidate in best if candidate is not None]
            chosen = max(finals, key=lambda candidate: candidate[:2])[2] if finals else []
        return [entries[number] for number in chosen]

    def _claims_below(self, entry: Entry, trusted_only: bool, overlap: bool = False) -> bool:
        """A damage after ``entry`` whose header claims an offset above the confirmed ones that ``entry`` covers
        or passes. Only claims a checksum vouched for count against an entry that has a follower."""
        after = self.window[self.window.index(entry) + 1:]
        for item in after:
            if not isinstance(item, Damage) or (trusted_only and not item.trusted):
                continue
            first, last = item.claimed_first, item.claimed_last
            if first is not None and last is not None and last < first:
                continue
            # A claim a checksum vouched for refutes any overlap; another only a claim below the entry's first.
            ceiling = entry.last if item.trusted or overlap else entry.low - 1
            # Zero is what a zeroed header claims: no evidence.
            if any(claimed and self.confirmed_last < claimed <= ceiling for claimed in (first, last)):
                return True
        return False

    @staticmethod
    def _out_of_order(entry: Entry) -> Damage:
        header = entry.header
        span = None if entry.first is None else entry.last - entry.first
        return Damage("offset_out_of_order", entry.segment, entry.position, entry.length,
                      magic=None if header is None else header.magic,
                      stored_crc=None if header is None else header.stored_crc,
                      computed_crc=None if header is None else header.stored_crc, header=header, known_span=span)
