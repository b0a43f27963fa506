# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Evidence for a repair from an intact replica (read-only): the SHA-256 of the entry holding an offset, and
the bytes of damaged entries.

Replicas store the same batches byte for byte but at different positions and in differently cut segments, so
an entry is found by offset on each replica: the scanner walks from the ``.index`` entry at or below the offset
(the ``at_start`` walk) and stops at the entry holding it. Whether that entry is valid is the scanner's verdict,
so a digest and ``corrupt_records`` never disagree.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from typing import Any, Dict, List, Optional, Sequence

from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.log_dir_scan import (
    PartitionTarget, ScanError, scan_partition, segment_files)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.offset_ledger import (
    Damage, Entry, OffsetLedger)

READ_PIECE = 1 << 20
# Why an offset has no entry on a replica.
BELOW_LOG_START = "below_log_start"
ABOVE_LOG_END = "above_log_end"
NOT_IN_LOG = "not_in_log"


class HoldingLedger(OffsetLedger):
    """An offset ledger that keeps every entry it confirms from ``offset`` on, so that after the walk the entry
    holding ``offset`` can be named (the plain ledger keeps only the latest one)."""

    def __init__(self, offset: int) -> None:
        self.offset = offset
        self.held: List[Entry] = []
        self._confirmed: Optional[Entry] = None
        super().__init__()

    @property
    def confirmed(self) -> Optional[Entry]:
        return self._confirmed

    @confirmed.setter
    def confirmed(self, entry: Optional[Entry]) -> None:
        self._confirmed = entry
        if entry is not None and entry.last >= self.offset:
            self.held.append(entry)


def parse_digest_offsets(raw: Optional[Dict[Any, Any]]) -> Dict[int, List[int]]:
    """{partition: sorted distinct offsets} from the module's ``digest_offsets`` (keys may be strings, a value
    one offset or a list); raises ScanError naming the bad entry."""
    offsets: Dict[int, List[int]] = {}
    for partition, listed in (raw or {}).items():
        values = listed if isinstance(listed, (list, tuple)) else [listed]
        try:
            number = int(partition)
            parsed = sorted({int(value) for value in values})
        except (TypeError, ValueError) as error:
            raise ScanError("digest_offsets entry %r: %r is not partition number -> list of offsets"
                            % (partition, listed)) from error
        if number < 0 or any(offset < 0 for offset in parsed):
            raise ScanError("digest_offsets entry %r: %r has a negative partition or offset" % (partition, listed))
        offsets[number] = parsed
    return offsets


def sha256_of(path: str, position: int, length: int) -> str:
    """Hex SHA-256 of file bytes ``[position, position + length)``, read in pieces."""
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        handle.seek(position)
        left = length
        while left:
            piece = handle.read(min(left, READ_PIECE))
            if not piece:
                raise EOFError("'%s' ended at byte %d, inside the entry at %d of %d bytes"
                               % (path, position + length - left, position, length))
            digest.update(piece)
            left -= len(piece)
    return digest.hexdigest()


def capture(path: str, position: int, length: int, capture_bytes: int) -> Dict[str, Any]:
    """The first ``min(length, capture_bytes)`` bytes of a damaged entry: base64, their SHA-256, and whether
    the entry is longer than what was kept."""
    kept = min(length, capture_bytes)
    with open(path, "rb", buffering=0) as handle:
        handle.seek(position)
        data = handle.read(kept)
    if len(data) < kept:
        raise EOFError("'%s' ended at byte %d, inside the entry at %d of %d bytes"
                       % (path, position + len(data), position, length))
    return {"captured": base64.b64encode(data).decode("ascii"), "sha256": hashlib.sha256(data).hexdigest(),
            "truncated": length > capture_bytes}


def capture_damaged(records: Sequence[Dict[str, Any]], capture_bytes: int) -> None:
    """Add ``captured``, ``sha256`` and ``truncated`` to every corrupt_records element."""
    for record in records:
        try:
            record.update(capture(record["segment"], record["position"], record["length"], capture_bytes))
        except (OSError, EOFError) as error:
            raise ScanError("cannot capture the damaged entry of topic '%s' partition %d at byte %d of '%s': %s" % (
                record["topic"], record["partition"], record["position"], record["segment"],
                getattr(error, "strerror", None) or error)) from error


def _holding_damage(damages: Sequence[Damage], offset: int) -> Optional[Damage]:
    for damage in damages:
        if damage.first_offset is not None and damage.first_offset <= offset and (
                damage.last_offset is None or offset <= damage.last_offset):
            return damage
    return None


def locate(target: PartitionTarget, offset: int) -> Dict[str, Any]:
    """Where the entry holding ``offset`` lies in this replica and whether it is valid:
    {segment, position, length, base_offset, last_offset, valid, reason}; segment None when no entry holds it."""
    absent = {"segment": None, "position": None, "length": None, "base_offset": None, "last_offset": None,
              "valid": False}
    segments = segment_files(target.directory)
    if not segments or offset < segments[0][0]:
        return dict(absent, reason=BELOW_LOG_START if segments else ABOVE_LOG_END)
    report = scan_partition(target, offset, True, True, new_ledger=lambda: HoldingLedger(offset))
    ledger = report.ledger
    damage = _holding_damage(ledger.damages, offset)
    if damage is not None:
        return {"segment": damage.segment, "position": damage.position, "length": damage.length,
                "base_offset": damage.first_offset, "last_offset": damage.last_offset, "valid": False,
                "reason": damage.reason}
    following = min(ledger.held, key=lambda entry: entry.last, default=None)
    if following is None:
        return dict(absent, reason=ABOVE_LOG_END)
    if following.first is not None and following.first > offset:
        # Valid entries on both sides and nothing damaged between them: the offset was never here, or compacted.
        return dict(absent, reason=NOT_IN_LOG)
    return {"segment": following.segment, "position": following.position, "length": following.length,
            "base_offset": following.first, "last_offset": following.last, "valid": True, "reason": None}


def offset_digests(targets: Sequence[PartitionTarget], digest_offsets: Dict[int, List[int]]) -> List[Dict[str, Any]]:
    """One digest per listed offset per scanned replica of its partition, in target then offset order."""
    digests = []
    for target in targets:
        # A digest is of the partition, not of the one segment a ``paths`` entry may name.
        whole = dataclasses.replace(target, only_segment=None)
        for offset in digest_offsets.get(target.partition, []):
            try:
                found = locate(whole, offset)
                sha256 = None if found["segment"] is None else sha256_of(found["segment"], found["position"],
                                                                         found["length"])
            except (OSError, EOFError) as error:
                raise ScanError("cannot digest offset %d of topic '%s' partition %d at '%s': %s" % (
                    offset, target.topic, target.partition, getattr(error, "filename", None) or target.directory,
                    getattr(error, "strerror", None) or error)) from error
            digests.append(dict({"topic": target.topic, "partition": target.partition,
                                 "broker_id": target.broker_id, "offset": offset}, sha256=sha256, **found))
    return digests
