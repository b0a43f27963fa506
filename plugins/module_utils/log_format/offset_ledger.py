# -*- coding: utf-8 -*-
# Copyright: contributors to kafka_ops.remediation
# Apache License 2.0 (see LICENSE)
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


class OffsetLedger:
    """Entries and damages of one partition, fed in log order; ``damages`` holds every damage found."""

    def __init__(self, floor: int = -1) -> None:
        self.confirmed_last = floor
        self.tentative: Optional[Entry] = None
        # Damages between the confirmed entry and the tentative one (or after the confirmed one when there
        # is no tentative entry), and damages after the tentative entry.
        self.before: List[Damage] = []
        self.after: List[Damage] = []
        self.damages: List[Damage] = []
        # Called with (entry) to ask the segment's .index, lazily: only when two entries disagree.
        self.ask_index: Optional[Callable[[Entry], Optional[bool]]] = None
        # Damages that have their next valid entry (confirmed): what ``mode: first`` waits for.
        self.resolved: List[Damage] = []

    @property
    def last(self) -> int:
        """Highest offset readable so far (the tentative entry counts)."""
        return self.tentative.last if self.tentative is not None else self.confirmed_last

    @property
    def quiet(self) -> bool:
        """No damage waits for its next valid entry: a valid entry only moves the offsets on."""
        return not self.before and not self.after

    def damage(self, damage: Damage) -> None:
        self.damages.append(damage)
        (self.after if self.tentative is not None else self.before).append(damage)

    def valid(self, entry: Entry, lowest: int = -1, highest: int = NO_LIMIT) -> None:
        """A valid entry of a segment whose offsets must lie in ``[lowest, highest]`` (its file name and the next's)."""
        if entry.low < lowest or entry.last > highest:
            self._reject(entry)
            return
        tentative = self.tentative
        if tentative is None:
            if entry.low > self.confirmed_last:
                self._hold(entry)
            else:
                self._reject(entry)
            return
        if entry.low > tentative.last:
            self._confirm()
            self._hold(entry)
        elif entry.low <= self.confirmed_last:
            self._reject(entry)
        elif self._tentative_is_wrong(tentative, entry):
            self._demote(tentative)
            self._hold(entry)
        else:
            self._reject(entry)

    def finish(self) -> None:
        """The end of the partition: the last entry has no follower to confirm it, only the index can refute it."""
        tentative = self.tentative
        if tentative is not None:
            if self.witness(tentative) is False:
                self._demote(tentative)
            else:
                self._confirm()
        assign_offsets(self.before, self.confirmed_last + 1, None)

    def _hold(self, entry: Entry) -> None:
        self.tentative = entry

    def _confirm(self) -> None:
        tentative = self.tentative
        assert tentative is not None
        if self.before:
            assign_offsets(self.before, self.confirmed_last + 1, tentative)
            self.resolved.extend(self.before)
        self.confirmed_last = tentative.last
        self.before, self.after, self.tentative = self.after, [], None

    def _reject(self, entry: Entry) -> None:
        self.damage(self._out_of_order(entry))

    def _demote(self, entry: Entry) -> None:
        """The held entry's offsets break the sequence: it becomes damage, with what came after it."""
        damage = self._out_of_order(entry)
        self.damages.append(damage)
        self.before = self.before + [damage] + self.after
        self.after, self.tentative = [], None

    @staticmethod
    def _out_of_order(entry: Entry) -> Damage:
        header = entry.header
        span = None if entry.first is None else entry.last - entry.first
        return Damage("offset_out_of_order", entry.segment, entry.position, entry.length,
                      magic=None if header is None else header.magic,
                      stored_crc=None if header is None else header.stored_crc,
                      computed_crc=None if header is None else header.stored_crc, header=header, known_span=span)

    def witness(self, entry: Entry) -> Optional[bool]:
        """What the .index says about ``entry``, asked once."""
        ask = self.ask_index
        if entry.indexed is None and ask is not None:
            entry.indexed = ask(entry)
        return entry.indexed

    def _tentative_is_wrong(self, tentative: Entry, entry: Entry) -> bool:
        """Two valid entries whose offsets overlap: which one's offset field was damaged?

        The .index, written when the entries were appended, settles it where it lists either. Otherwise the
        held entry is right when it continues the confirmed one exactly, with no damage in between.
        """
        held = self.witness(tentative)
        if held is not None:
            return not held
        newer = self.witness(entry)
        if newer is not None:
            return newer
        return bool(self.before) or tentative.low != self.confirmed_last + 1
