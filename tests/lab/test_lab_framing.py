# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lab's v2 batch walker: finds the batch and the value byte of an offset, and flips exactly one bit."""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from kafka.record.memory_records import MemoryRecords

from lab import framing


def batch_bytes(base_offset: int, values: list[bytes], compression: int = 0) -> bytes:
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=compression, is_transactional=False,
                                        producer_id=-1, producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    for index, value in enumerate(values):
        builder.append(index, timestamp=1_700_000_000_000 + index, key=f"key-{index}".encode(), value=value,
                       headers=[])
    data = bytearray(builder.build())
    data[0:8] = base_offset.to_bytes(8, "big")
    return bytes(data)


@pytest.fixture
def segment() -> bytes:
    """Three batches: offsets 0, 1-3 and 4-5, like a producer that flushed three times."""
    return (batch_bytes(0, [b"value-0"]) + batch_bytes(1, [b"value-1", b"value-2", b"value-3"])
            + batch_bytes(4, [b"value-4", b"value-5"]))


def test_iter_batches_walks_every_batch_with_its_offsets(segment: bytes) -> None:
    batches = list(framing.iter_batches(segment))
    assert [(b.base_offset, b.last_offset, b.record_count) for b in batches] == [(0, 0, 1), (1, 3, 3), (4, 5, 2)]
    assert batches[0].position == 0 and batches[1].position == batches[0].end
    assert batches[-1].end == len(segment)


def test_iter_batches_stops_before_a_torn_tail(segment: bytes) -> None:
    assert [b.base_offset for b in framing.iter_batches(segment[:-5])] == [0, 1]


@pytest.mark.parametrize(("offset", "base"), [(0, 0), (1, 1), (2, 1), (3, 1), (5, 4)])
def test_find_batch_returns_the_batch_holding_the_offset(segment: bytes, offset: int, base: int) -> None:
    assert framing.find_batch(segment, offset).base_offset == base


def test_find_batch_past_the_end_is_none(segment: bytes) -> None:
    assert framing.find_batch(segment, 6) is None


@pytest.mark.parametrize("offset", [0, 2, 5])
def test_damage_position_is_the_last_byte_of_the_records_value(segment: bytes, offset: int) -> None:
    batch = framing.find_batch(segment, offset)
    position = framing.damage_position(segment, batch, offset)
    assert segment[position - len(f"value-{offset}") + 1:position + 1] == f"value-{offset}".encode()
    assert batch.position + 61 <= position < batch.end  # never the framing or header bytes


def test_damage_of_a_record_without_headers_sits_two_bytes_before_the_batch_end(segment: bytes) -> None:
    batch = framing.find_batch(segment, 3)
    assert framing.damage_position(segment, batch, 3) == batch.end - 2


@pytest.mark.parametrize(("raw", "value"), [(b"\x00", 0), (b"\x01", -1), (b"\x02", 1), (b"\xac\x02", 150),
                                            (b"\x7f", -64)])
def test_read_varint_decodes_zigzag(raw: bytes, value: int) -> None:
    assert framing.read_varint(raw, 0) == (value, len(raw))


def test_flip_bit_breaks_only_the_damaged_batchs_crc(tmp_path: Path, segment: bytes) -> None:
    path = tmp_path / "00000000000000000000.log"
    path.write_bytes(segment)
    batch = framing.find_batch(segment, 2)
    before, after = framing.flip_bit(path, framing.damage_position(segment, batch, 2))
    assert before ^ after == 1
    damaged = path.read_bytes()
    assert sum(a != b for a, b in zip(segment, damaged)) == 1
    records = MemoryRecords(damaged)
    validity = []
    while (next_batch := records.next_batch()) is not None:
        assert isinstance(next_batch, DefaultRecordBatch)
        validity.append((next_batch.base_offset, next_batch.validate_crc()))
    assert validity == [(0, True), (1, False), (4, True)]


def test_compressed_batch_is_damaged_inside_its_records(segment: bytes) -> None:
    data = batch_bytes(10, [b"a" * 50, b"b" * 50], compression=1)
    batch = next(framing.iter_batches(data))
    assert batch.compressed
    assert framing.damage_position(data, batch, 11) == batch.end - 2


def test_segment_for_picks_the_greatest_base_offset_not_above(tmp_path: Path) -> None:
    for base in (0, 100, 250):
        (tmp_path / f"{base:020d}.log").write_bytes(b"")
    assert framing.segment_for(tmp_path, 99).name == "00000000000000000000.log"
    assert framing.segment_for(tmp_path, 100).name == "00000000000000000100.log"
    assert framing.segment_for(tmp_path, 10_000).name == "00000000000000000250.log"
