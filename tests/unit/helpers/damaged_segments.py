# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Seeded damaged Kafka partitions with their ground truth, for differential tests of the log scanner.

Entries come from kafka-python's own record builders (``LegacyRecordBatchBuilder`` for magic 0/1,
``DefaultRecordBatchBuilder`` for magic 2) in every codec the format allows, stored the way a broker stores
them (DESIGN.md section 2): a compressed v0/v1 wrapper carries the offset of its last inner message (inner
offsets absolute in v0, relative in v1), a v2 batch its baseOffset. Offsets are dense. A partition has 1-3
segments ``<base offset, 20 digits>.log``, each with the ``.index`` Kafka's LogSegment would have written
(or none at all).

Then bytes are damaged at random, never twice in the same entry, and the truth is taken from the bytes: an
entry is damaged when any byte of its span changed or went missing, except v2 bytes 12-15
(partitionLeaderEpoch), which no reader checks. A crash mid-write at the end of the newest segment (a cut
last entry, a partial entry followed by preallocated zeros, or appended garbage) is a torn tail: it damages
no entry. Every case is rebuilt from its id ``seed:case`` alone.
"""

from __future__ import annotations

import os
import random
import struct
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.legacy_records import LegacyRecordBatchBuilder

CODEC_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
CODEC_NAMES = {number: name for name, number in CODEC_IDS.items()}
LEGACY_CODECS = ("none", "gzip", "snappy", "lz4")
V2_CODECS = LEGACY_CODECS + ("zstd",)
TOPIC_DIRECTORY = "damaged-0"
LOG_OVERHEAD = 12
INT32_MAX = (1 << 31) - 1
INT32_MIN = -(1 << 31)
BASE_TIMESTAMP = 1700000000000
WORDS = (b"order", b"payment", b"refund", b"customer", b"invoice", b"shipped", b"pending", b"eur", b"usd",
         b"billing", b"ledger", b"account", b"balance", b"2024", b"-", b":", b" ", b"{", b"}", b'"id"')

# Byte ranges of each header field, relative to the entry's start (DESIGN.md section 2). Key and value ranges
# of v0/v1 messages depend on the key length and are added per entry.
V2_FIELDS = {"baseOffset": (0, 8), "batchLength": (8, 12), "partitionLeaderEpoch": (12, 16), "magic": (16, 17),
             "crc": (17, 21), "attributes": (21, 23), "lastOffsetDelta": (23, 27), "baseTimestamp": (27, 35),
             "maxTimestamp": (35, 43), "producerId": (43, 51), "producerEpoch": (51, 53), "baseSequence": (53, 57),
             "recordCount": (57, 61)}
LEGACY_FIELDS = {"offset": (0, 8), "size": (8, 12), "crc": (12, 16), "magic": (16, 17), "attributes": (17, 18)}
# The v2 bytes no reader checks: an entry whose only change is there is intact.
UNCHECKED_V2_BYTES = range(12, 16)
TORN_KINDS = ("truncated", "zeros_after_partial", "garbage")


@dataclass
class Entry:
    """One stored entry (v0/v1 message or wrapper, v2 batch) and what happened to it."""

    segment: int
    position: int
    length: int
    first_offset: int
    last_offset: int
    magic: int
    codec: str
    original: bytes = field(repr=False, default=b"")
    damage: List[str] = field(default_factory=list)
    damaged: bool = False
    torn: bool = False
    # Only the stored offset changed (bytes 0-7, outside every checksum), and it went up: later entries then
    # look out of order.
    raised_offset: bool = False
    # Only the stored offset changed, to a value the format cannot contradict from here (see ``_offset_limit``).
    limit: Optional[str] = None
    # Its size field changed and other bytes with it (one damage over several fields): nothing on disk says where
    # it ends any more (with the size alone changed, its contents still do).
    extent_lost: bool = False

    @property
    def end(self) -> int:
        return self.position + self.length

    @property
    def intact(self) -> bool:
        return not self.damaged and not self.torn

    @property
    def legacy_wrapper_without_stdlib_codec(self) -> bool:
        """A v0/v1 snappy or lz4 wrapper: the standard library cannot inflate it to find its first offset."""
        return self.magic in (0, 1) and self.codec in ("snappy", "lz4")

    def describe(self) -> str:
        text = "entry seg%d@%d offsets %d..%d (v%d %s, %d bytes)" % (
            self.segment, self.position, self.first_offset, self.last_offset, self.magic, self.codec, self.length)
        return text + (" [%s]" % "; ".join(self.damage) if self.damage else "")


@dataclass
class Segment:
    base_offset: int
    data: bytes = field(repr=False, default=b"")
    index: Optional[bytes] = field(repr=False, default=None)
    index_interval: Optional[int] = None

    @property
    def name(self) -> str:
        return "%020d.log" % self.base_offset


@dataclass
class Case:
    """A damaged partition and its ground truth."""

    case_id: str
    segments: List[Segment]
    entries: List[Entry]
    damages: List[str] = field(default_factory=list)
    torn_tail: Optional[str] = None
    # Segment number and byte position where the torn tail starts (the newest segment).
    torn_position: Optional[int] = None
    # The first offset of a random intact entry, for the start-offset check; None when nothing is intact.
    start_offset: Optional[int] = None

    @property
    def damaged_entries(self) -> List[Entry]:
        return [entry for entry in self.entries if entry.damaged]

    def write(self, directory: str) -> str:
        """Write the partition under ``directory``; returns the partition directory."""
        partition = os.path.join(directory, TOPIC_DIRECTORY)
        os.makedirs(partition, exist_ok=True)
        for segment in self.segments:
            with open(os.path.join(partition, segment.name), "wb") as handle:
                handle.write(segment.data)
            if segment.index is not None:
                with open(os.path.join(partition, segment.name[:-len(".log")] + ".index"), "wb") as handle:
                    handle.write(segment.index)
        return partition

    def describe(self) -> str:
        lines = ["case %s: %d segment(s), %d entries, torn tail: %s" % (
            self.case_id, len(self.segments), len(self.entries), self.torn_tail or "none")]
        for number, segment in enumerate(self.segments):
            lines.append("  segment %d %s: %d bytes, index %s" % (
                number, segment.name, len(segment.data),
                "none" if segment.index is None else "interval %d, %d entries" % (
                    segment.index_interval, len(segment.index.rstrip(b"\x00")) // 8)))
        lines.extend("  damage: %s" % damage for damage in self.damages)
        lines.extend("  " + entry.describe() for entry in self.entries if not entry.intact or entry.damage)
        return "\n".join(lines)


def parse_case_id(case_id: str) -> Tuple[int, int]:
    seed, _colon, number = case_id.partition(":")
    return int(seed), int(number)


def _payload(rng: random.Random, low: int, high: int) -> bytes:
    """Mostly compressible text (so codecs compress), sometimes random bytes."""
    length = rng.randint(low, high)
    if rng.random() < 0.2:
        return rng.randbytes(length)
    out = bytearray()
    while len(out) < length:
        out += rng.choice(WORDS)
    return bytes(out[:length])


def _key(rng: random.Random, offset: int) -> Optional[bytes]:
    return None if rng.random() < 0.2 else b"key-%d" % offset


def _value(rng: random.Random) -> Optional[bytes]:
    if rng.random() < 0.03:
        return None
    return _payload(rng, 0, 2000 if rng.random() < 0.1 else 300)


def legacy_entry(rng: random.Random, magic: int, codec: str, first: int, count: int) -> bytes:
    """What a broker stores: one message (uncompressed), or one wrapper whose offset is its last inner message."""
    codec_id = CODEC_IDS[codec]
    builder = LegacyRecordBatchBuilder(magic=magic, compression_type=codec_id, batch_size=1 << 22)
    for number in range(count):
        inner = first + number if magic == 0 or codec_id == 0 else number
        builder.append(inner, timestamp=BASE_TIMESTAMP + first + number if magic else None,
                       key=_key(rng, first + number), value=_value(rng))
    data = bytearray(builder.build())
    if codec_id:
        # The wrapper's offset lies outside its CRC: the broker sets it to the last inner offset.
        struct.pack_into(">q", data, 0, first + count - 1)
    return bytes(data)


def v2_entry(rng: random.Random, codec: str, first: int, count: int, epoch: int) -> bytes:
    """A v2 batch with baseOffset and partitionLeaderEpoch set as the broker sets them (both outside the CRC)."""
    choice = rng.random()
    producer_id, producer_epoch, base_sequence, transactional = -1, -1, -1, False
    if choice < 0.4:
        producer_id, producer_epoch = rng.randint(0, 1 << 40), rng.randint(0, 20)
        base_sequence = rng.choice([rng.randint(0, 1 << 20), INT32_MAX - rng.randint(0, 30)])
        transactional = choice < 0.1
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=CODEC_IDS[codec], is_transactional=transactional,
                                        producer_id=producer_id, producer_epoch=producer_epoch,
                                        base_sequence=base_sequence, batch_size=1 << 22)
    for number in range(count):
        headers = [("trace", _payload(rng, 0, 20))] if rng.random() < 0.1 else []
        builder.append(number, timestamp=BASE_TIMESTAMP + first + number * rng.randint(0, 5),
                       key=_key(rng, first + number), value=_value(rng), headers=headers)
    data = bytearray(builder.build())
    struct.pack_into(">qi", data, 0, first, len(data) - LOG_OVERHEAD)
    struct.pack_into(">i", data, 12, epoch)
    return bytes(data)


def _formats(rng: random.Random) -> List[Tuple[int, str]]:
    """The (magic, codec) kinds a partition may use: one, or a mix (a topic upgraded in place, oldest first)."""
    magics = [rng.choice((0, 1, 2))] if rng.random() < 0.6 else sorted(rng.sample((0, 1, 2), rng.randint(2, 3)))
    kinds = []
    for magic in magics:
        codecs = V2_CODECS if magic == 2 else LEGACY_CODECS
        kinds.extend((magic, codec) for codec in rng.sample(codecs, rng.randint(1, 2)))
    return kinds


def _index(rng: random.Random, entries: Sequence[Entry], base: int, newest: bool) -> Tuple[Optional[bytes], Optional[int]]:
    """Kafka's LogSegment.append: an entry (batch's last offset, its position) once more than the interval was written."""
    if rng.random() < 0.2:
        return None, None
    interval = rng.randint(0, 4096)
    out, since_last = bytearray(), 0
    for entry in entries:
        if since_last > interval:
            out += struct.pack(">ii", entry.last_offset - base, entry.position)
            since_last = 0
        since_last += entry.length
    if newest and rng.random() < 0.5:
        # The active segment's index is preallocated: unused slots are zero.
        out += bytes(8 * rng.randint(1, 512))
    return bytes(out), interval


def _build_partition(rng: random.Random, case_id: str) -> Case:
    kinds = _formats(rng)
    offset = rng.choice([0, rng.randint(1, 5000), rng.randint(1 << 31, 1 << 40)])
    epoch = rng.randint(0, 30)
    segments: List[Segment] = []
    entries: List[Entry] = []
    for number in range(rng.choice((1, 1, 2, 3))):
        target = int(2 ** rng.uniform(10, 16))
        segment = Segment(base_offset=offset)
        data, position, first_kind = bytearray(), 0, rng.randrange(len(kinds))
        while position < target or not data:
            # Stay with one kind for a while, moving forward through an upgrade now and then.
            if rng.random() < 0.15:
                first_kind = min(len(kinds) - 1, first_kind + 1) if rng.random() < 0.8 else rng.randrange(len(kinds))
            magic, codec = kinds[first_kind]
            count = 1 if magic < 2 and codec == "none" else rng.choice((1, rng.randint(2, 12)))
            raw = legacy_entry(rng, magic, codec, offset, count) if magic < 2 else v2_entry(rng, codec, offset, count, epoch)
            stored_codec = CODEC_NAMES[(raw[22] if magic == 2 else raw[17]) & 0x07]
            entries.append(Entry(number, position, len(raw), offset, offset + count - 1, magic, stored_codec, raw))
            data += raw
            position += len(raw)
            offset += count
        segment.data = bytes(data)
        segments.append(segment)
    for number, segment in enumerate(segments):
        segment.index, segment.index_interval = _index(
            rng, [entry for entry in entries if entry.segment == number], segment.base_offset, number == len(segments) - 1)
    return Case(case_id, segments, entries)


def _fields(entry: Entry) -> Dict[str, Tuple[int, int]]:
    """Header fields and payload of an entry, as byte ranges relative to its start."""
    if entry.magic == 2:
        fields = dict(V2_FIELDS)
        fields["records"] = (61, entry.length)
        return fields
    fields = dict(LEGACY_FIELDS)
    key_length_at = 18 if entry.magic == 0 else 26
    if entry.magic == 1:
        fields["timestamp"] = (18, 26)
    key_length = struct.unpack_from(">i", entry.original, key_length_at)[0]
    fields["keyLength"] = (key_length_at, key_length_at + 4)
    value_length_at = key_length_at + 4 + max(key_length, 0)
    if key_length > 0:
        fields["key"] = (key_length_at + 4, value_length_at)
    fields["valueLength"] = (value_length_at, value_length_at + 4)
    if value_length_at + 4 < entry.length:
        fields["value"] = (value_length_at + 4, entry.length)
    return fields


def _flip_bits(rng: random.Random, data: bytearray, entry: Entry) -> str:
    name, (start, stop) = rng.choice(sorted(_fields(entry).items()))
    bits = rng.sample(range(8 * (stop - start)), 1 if rng.random() < 0.8 else min(3, 8 * (stop - start)))
    for bit in bits:
        data[entry.position + start + bit // 8] ^= 0x80 >> (bit % 8)
    return "bit flip in %s (bit%s %s)" % (name, "s" if len(bits) > 1 else "", ",".join(str(bit) for bit in sorted(bits)))


def _rewrite_size(rng: random.Random, data: bytearray, entry: Entry) -> str:
    size = entry.length - LOG_OVERHEAD
    how = rng.choice(("too small", "too large", "slightly off"))
    if how == "too small":
        below = [rng.randint(-8, 13)] + ([rng.randint(14, size - 1)] if size > 14 else [])
        new = rng.choice(below + [0])
    elif how == "too large":
        new = size + rng.choice((rng.randint(1, 64), rng.randint(65, 100000), rng.randint(1 << 20, INT32_MAX - size)))
    else:
        new = size + rng.choice((-1, 1)) * rng.randint(1, 8)
    new = max(INT32_MIN, min(INT32_MAX, new))
    struct.pack_into(">i", data, entry.position + 8, new)
    return "size rewritten %s: %d -> %d" % (how, size, new)


def _zero_fill(rng: random.Random, data: bytearray, entry: Entry, stop_limit: int) -> Tuple[int, int, str]:
    """Zeros from a point inside ``entry``, possibly running over the next entries (up to ``stop_limit``)."""
    start = entry.position + rng.randrange(entry.length)
    length = rng.choice((rng.randint(1, 16), rng.randint(16, 256), rng.randint(256, 4096)))
    stop = min(start + length, stop_limit)
    data[start:stop] = bytes(stop - start)
    return start, stop, "zeros over bytes %d-%d" % (start, stop)


def _damage(rng: random.Random, case: Case) -> None:
    """Damage the case's segments in place, recording what was done."""
    newest = len(case.segments) - 1
    buffers = [bytearray(segment.data) for segment in case.segments]
    by_segment = [[entry for entry in case.entries if entry.segment == number] for number in range(len(case.segments))]
    used = set()
    cuts: Dict[int, int] = {}
    appended = b""
    last_entry = by_segment[newest][-1]
    if rng.random() < 0.3:
        case.torn_tail = rng.choice(TORN_KINDS)
        if case.torn_tail in ("truncated", "zeros_after_partial"):
            last_entry.torn = True
            used.add(id(last_entry))
            case.torn_position = last_entry.position
            high = last_entry.end - (1 if case.torn_tail == "truncated" else 8)
            cuts[newest] = rng.randint(last_entry.position + 1, high)
            if case.torn_tail == "zeros_after_partial":
                appended = bytes(last_entry.end + rng.randint(64, 4096) - cuts[newest])
        else:
            case.torn_position = len(buffers[newest])
            appended = rng.randbytes(rng.randint(1, 300))
        case.damages.append("torn tail (%s) at segment %d byte %d" % (case.torn_tail, newest, case.torn_position))
    for number, entries in enumerate(by_segment):
        data = buffers[number]
        candidates = [entry for entry in entries if id(entry) not in used]
        if number != newest and len(candidates) and rng.random() < 0.12:
            cut_entry = rng.choice(candidates)
            cuts[number] = rng.randint(cut_entry.position + 1, cut_entry.end - 1)
            case.damages.append("segment %d truncated at byte %d (inside the entry at %d)" % (
                number, cuts[number], cut_entry.position))
            candidates = [entry for entry in candidates if entry.end <= cut_entry.position]
            used.update(id(entry) for entry in entries if entry.end > cut_entry.position)
        for _attempt in range(0 if rng.random() < 0.3 else rng.randint(1, 4)):
            free = [entry for entry in candidates if id(entry) not in used]
            if not free:
                break
            entry = rng.choice(free)
            used.add(id(entry))
            how = rng.random()
            if how < 0.55:
                what = _flip_bits(rng, data, entry)
            elif how < 0.75 or entry is last_entry:
                what = _rewrite_size(rng, data, entry)
            else:
                # Never into an entry damaged already, nor into the newest segment's last entry: zeros up to the
                # end of the newest segment are a preallocated file after a crash, not damage.
                stop_limit = cuts.get(number, len(data))
                for other in entries:
                    if other.position > entry.position and (id(other) in used or other is last_entry):
                        stop_limit = min(stop_limit, other.position)
                        break
                start, stop, what = _zero_fill(rng, data, entry, stop_limit)
                used.update(id(other) for other in entries if other.position < stop and other.end > start)
            entry.damage.append(what)
            case.damages.append("segment %d entry at %d: %s" % (number, entry.position, what))
    for number, data in enumerate(buffers):
        if number in cuts:
            del data[cuts[number]:]
        if number == newest:
            data += appended
        case.segments[number].data = bytes(data)


def _judge(case: Case) -> None:
    """The ground truth, from the bytes: which entries changed, and which changes nothing can show."""
    for entry in case.entries:
        if entry.torn:
            continue
        now = case.segments[entry.segment].data[entry.position:entry.end]
        changed = [number for number in range(entry.length)
                   if number >= len(now) or now[number] != entry.original[number]]
        if entry.magic == 2:
            changed = [number for number in changed if number not in UNCHECKED_V2_BYTES]
        if len(now) < entry.length and not entry.damage:
            entry.damage.append("cut off or lost with the end of its segment")
        if changed:
            entry.damaged = True
            entry.extent_lost = any(8 <= number < 12 for number in changed) and any(
                not 8 <= number < 12 for number in changed)
            if max(changed) < 8:
                entry.raised_offset = struct.unpack_from(">q", now)[0] > struct.unpack_from(">q", entry.original)[0]
                entry.limit = _offset_limit(case, entry, now)


def _offset_limit(case: Case, entry: Entry, now: bytes) -> Optional[str]:
    """Why a change of the stored offset alone cannot be seen, or None when it can.

    A raised offset shows only when a later entry's offset is not above it: not on the partition's last entry.
    A snappy/lz4 v0/v1 wrapper whose stored (last) offset dropped but stays above the previous entry's offsets
    is consistent with every other offset on disk; only inflating it would show its first inner offset.
    """
    stored = struct.unpack_from(">q", now)[0]
    true_stored = struct.unpack_from(">q", entry.original)[0]
    later = [other for other in case.entries if (other.segment, other.position) > (entry.segment, entry.position)]
    if stored > true_stored and all(other.torn for other in later):
        return "raised offset on the partition's last entry"
    if entry.legacy_wrapper_without_stdlib_codec and entry.first_offset <= stored < true_stored:
        return "snappy/lz4 v0/v1 wrapper offset lowered within its own span"
    return None


def build_case(seed: int, number: int) -> Case:
    """Case ``seed:number``: the same bytes and truth on every run."""
    case_id = "%d:%d" % (seed, number)
    rng = random.Random(case_id)
    case = _build_partition(rng, case_id)
    _damage(rng, case)
    _judge(case)
    intact = [entry for entry in case.entries if entry.intact]
    case.start_offset = rng.choice(intact).first_offset if intact else None
    return case


def build_case_by_id(case_id: str) -> Case:
    return build_case(*parse_case_id(case_id))
