# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Kafka's sparse ``.index`` of one segment: (offset relative to the base, position), one per ~4 KiB appended.

Kafka writes an entry after appending a batch, keyed by the batch's last offset, so each entry is a witness,
written before any damage, of where an entry started and which offset it ended at.
"""

from __future__ import annotations

import os
import struct
from typing import Callable, Iterator, Optional, Tuple

INDEX_ENTRY = struct.Struct(">ii")


class OffsetIndex:
    """Read entry by entry with pread: never loaded whole."""

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

    def _first_where(self, above: Callable[[Tuple[int, int]], bool]) -> int:
        """The first slot whose entry is ``above`` (entries rise in offset and position), by binary search."""
        low, high = 0, self.entries
        while low < high:
            middle = (low + high) // 2
            if above(self.entry(middle)):
                high = middle
            else:
                low = middle + 1
        return low

    def floor(self, offset: int) -> int:
        """Slot of the last entry whose offset is at or below ``offset``; -1 when there is none."""
        return self._first_where(lambda entry: entry[0] > offset) - 1

    def _first_after(self, position: int) -> int:
        return self._first_where(lambda entry: entry[1] > position)

    def positions_after(self, position: int) -> Iterator[Tuple[int, int]]:
        """Entries whose position is beyond ``position``, in order."""
        for slot in range(self._first_after(position), self.entries):
            yield self.entry(slot)

    def offset_at(self, position: int) -> Optional[int]:
        """The offset listed for exactly ``position``, or None when the index lists no entry there."""
        slot = self._first_after(position) - 1
        if slot < 0:
            return None
        offset, listed = self.entry(slot)
        return offset if listed == position else None
