# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The scanner on entries written by a real Kafka client library's record builders (kafka-python)."""

from __future__ import annotations

import struct

import pytest
from kafka.record import MemoryRecords
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.legacy_records import LegacyRecordBatchBuilder

from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.log_dir_scan import scan, targets_for_paths
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.segment_builder import positions

GZIP = 1


def legacy_entries(magic, codec, first, count):
    """What a broker stores: uncompressed messages, or one wrapper whose offset is its last inner message."""
    builder = LegacyRecordBatchBuilder(magic=magic, compression_type=codec, batch_size=1 << 20)
    for i in range(count):
        inner = first + i if codec == 0 or magic == 0 else i
        builder.append(inner, timestamp=1700000000000 + i if magic else None, key=b"key-%d" % (first + i),
                       value=b"value-%d" % (first + i))
    data = bytearray(builder.build())
    if codec:
        struct.pack_into(">q", data, 0, first + count - 1)
    return bytes(data)


def v2_entries(codec, first, count):
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=codec, is_transactional=False, producer_id=-1,
                                        producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    for i in range(count):
        builder.append(i, timestamp=1700000000000 + i, key=b"key-%d" % (first + i),
                       value=b"value-%d" % (first + i), headers=[])
    data = bytearray(builder.build())
    struct.pack_into(">q", data, 0, first)
    return bytes(data)


def build(kind, first, count):
    magic, codec = kind
    return v2_entries(codec, first, count) if magic == 2 else legacy_entries(magic, codec, first, count)


KINDS = [(0, 0), (1, 0), (0, GZIP), (1, GZIP), (2, 0), (2, GZIP)]


def segment_of(kinds, per_entry=4):
    """Entries of the given kinds back to back, 4 offsets each; returns (entries, [(first, last)])."""
    entries, spans, offset = [], [], 0
    for kind in kinds:
        if kind[0] < 2 and kind[1] == 0:
            for i in range(per_entry):
                entries.append(build(kind, offset + i, 1))
                spans.append((offset + i, offset + i))
        else:
            entries.append(build(kind, offset, per_entry))
            spans.append((offset, offset + per_entry - 1))
        offset += per_entry
    return entries, spans


def scan_bytes(tmp_path, data):
    directory = tmp_path / "payments-0"
    directory.mkdir()
    (directory / ("%020d.log" % 0)).write_bytes(bytes(data))
    return scan(targets_for_paths([str(directory)]), {}, None, "all")


@pytest.mark.parametrize("kind", KINDS)
def test_clean_segments_from_kafka_python_are_clean(tmp_path, kind):
    entries, spans = segment_of([kind] * 3)
    result = scan_bytes(tmp_path, b"".join(entries))
    assert result["corrupt_records"] == [] and result["torn_tails"] == []
    assert result["partitions"][0]["log_end_offset"] == spans[-1][1] + 1


@pytest.mark.parametrize("kind", KINDS)
def test_value_byte_damage_in_kafka_python_entries(tmp_path, kind):
    entries, spans = segment_of([kind] * 3)
    target = len(entries) // 2
    data = bytearray(b"".join(entries))
    # The byte before the end: the value (or, compressed, the deflate stream) of the middle entry.
    data[positions(entries)[target] + len(entries[target]) - 2] ^= 0x10
    result = scan_bytes(tmp_path, data)
    assert len(result["corrupt_records"]) == 1
    record = result["corrupt_records"][0]
    after = spans[target + 1][0]
    assert (record["reason"], record["position"], record["magic"], record["first_offset"], record["last_offset"],
            record["next_valid_offset"]) == ("crc_mismatch", positions(entries)[target], kind[0],
                                             spans[target][0], spans[target][1], after)
    # kafka-python's own CRC check agrees on which entry is bad.
    batches = MemoryRecords(bytes(data))
    verdicts = []
    while batches.has_next():
        verdicts.append(batches.next_batch().validate_crc())
    assert verdicts == [index != target for index in range(len(entries))]


@pytest.mark.parametrize("kind", KINDS)
def test_length_field_damage_in_kafka_python_entries(tmp_path, kind):
    entries, spans = segment_of([kind] * 3)
    target = 1
    data = bytearray(b"".join(entries))
    struct.pack_into(">i", data, positions(entries)[target] + 8, 0x00100000)
    record, = scan_bytes(tmp_path, data)["corrupt_records"]
    assert (record["reason"], record["position"], record["length"], record["first_offset"], record["last_offset"],
            record["next_valid_offset"]) == ("bad_framing", positions(entries)[target], len(entries[target]),
                                             spans[target][0], spans[target][1], spans[target + 1][0])


@pytest.mark.parametrize("kind", KINDS)
def test_torn_tail_of_kafka_python_entries(tmp_path, kind):
    entries, spans = segment_of([kind] * 2)
    data = b"".join(entries[:-1]) + entries[-1][:len(entries[-1]) // 2]
    result = scan_bytes(tmp_path, data)
    assert result["corrupt_records"] == []
    assert [(t["position"], t["last_valid_offset"]) for t in result["torn_tails"]] == [
        (positions(entries)[-1], spans[-2][1])]


def test_mixed_formats_from_kafka_python_with_header_damage(tmp_path):
    # A topic upgraded in place: v0, then v1 gzip, then v2 gzip batches in one segment.
    entries, spans = segment_of([(0, 0), (1, GZIP), (2, GZIP), (2, 0)])
    data = bytearray(b"".join(entries))
    v2_gzip = next(i for i, entry in enumerate(entries) if entry[16] == 2)
    data[positions(entries)[v2_gzip] + 16] = 9
    record, = scan_bytes(tmp_path, data)["corrupt_records"]
    assert (record["reason"], record["magic"], record["first_offset"], record["last_offset"],
            record["next_valid_offset"]) == ("invalid_magic", 9, spans[v2_gzip][0], spans[v2_gzip][1],
                                             spans[v2_gzip + 1][0])
