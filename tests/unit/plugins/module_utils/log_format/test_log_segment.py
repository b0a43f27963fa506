# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The segment scanner on segments built byte by byte: every format, every kind of damage, exact answers."""

from __future__ import annotations

import struct
import zlib

import crc32c
import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.log_dir_scan import (
    scan, targets_for_paths)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.log_segment_scan import (
    WINDOW_BYTES, SegmentBounds, SegmentScanner)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.offset_ledger import OffsetLedger
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.segment_builder import index_bytes, legacy_gzip_wrapper, legacy_message, positions, v2_batch

V2_BATCHES = [v2_batch(base, [b"value-%d" % (base + i) for i in range(5)]) for base in (0, 5, 10, 15)]
V2_POSITIONS = positions(V2_BATCHES)


def write_partition(tmp_path, segments, name="orders-3", indexes=None):
    """segments: {base_offset: bytes}; returns the partition directory."""
    directory = tmp_path / name
    directory.mkdir()
    for base, data in segments.items():
        (directory / ("%020d.log" % base)).write_bytes(bytes(data))
    for base, data in (indexes or {}).items():
        (directory / ("%020d.index" % base)).write_bytes(data)
    return directory


def run(directory, mode="all", start_offset=None):
    return scan(targets_for_paths([str(directory)]), {}, start_offset, mode)


def damaged(entries, entry, byte, flip=0x01):
    data = bytearray(b"".join(entries))
    data[positions(entries)[entry] + byte] ^= flip
    return data


def only_record(result):
    assert len(result["corrupt_records"]) == 1, result["corrupt_records"]
    return result["corrupt_records"][0]


def test_clean_v2_segment(tmp_path):
    result = run(write_partition(tmp_path, {0: b"".join(V2_BATCHES)}))
    assert result["corrupt_records"] == [] and result["torn_tails"] == [] and result["lines"] == []
    assert result["partitions"] == [{
        "topic": "orders", "partition": 3, "broker_id": None, "log_dir": str(tmp_path), "scanned_from": 0,
        "first_damaged_offset": None, "next_valid_offset": None, "clean": True, "log_end_offset": 20}]
    assert result["scanned"]["segments"] == 1 and result["scanned"]["bytes"] == len(b"".join(V2_BATCHES))


def test_v2_value_byte(tmp_path):
    # The last value byte of a header-less record sits two bytes before the batch end.
    data = damaged(V2_BATCHES, 2, len(V2_BATCHES[2]) - 2)
    record = only_record(run(write_partition(tmp_path, {0: data})))
    stored = struct.unpack(">I", V2_BATCHES[2][17:21])[0]
    computed = crc32c.crc32c(bytes(data[V2_POSITIONS[2] + 21:V2_POSITIONS[3]]))
    assert record == {"topic": "orders", "partition": 3, "broker_id": None,
                      "segment": str(tmp_path / "orders-3" / ("%020d.log" % 0)), "position": V2_POSITIONS[2],
                      "length": len(V2_BATCHES[2]), "magic": 2, "first_offset": 10, "last_offset": 14,
                      "next_valid_offset": 15, "reason": "crc_mismatch", "stored_crc": stored,
                      "computed_crc": computed}
    assert stored != computed


def test_v2_crc_byte(tmp_path):
    data = damaged(V2_BATCHES, 1, 18, 0x80)
    record = only_record(run(write_partition(tmp_path, {0: data})))
    assert (record["reason"], record["position"], record["first_offset"], record["last_offset"],
            record["next_valid_offset"]) == ("crc_mismatch", V2_POSITIONS[1], 5, 9, 10)
    assert record["computed_crc"] == struct.unpack(">I", V2_BATCHES[1][17:21])[0]
    assert record["stored_crc"] == record["computed_crc"] ^ (0x80 << 16)


@pytest.mark.parametrize("new_size", [5, 13, 1000, 60, 0x7FFFFFF0])
def test_v2_length_field_resynchronises(tmp_path, new_size):
    data = bytearray(b"".join(V2_BATCHES))
    struct.pack_into(">i", data, V2_POSITIONS[1] + 8, new_size)
    result = run(write_partition(tmp_path, {0: data}))
    record = only_record(result)
    assert (record["reason"], record["position"], record["length"], record["first_offset"], record["last_offset"],
            record["next_valid_offset"]) == ("bad_framing", V2_POSITIONS[1], len(V2_BATCHES[1]), 5, 9, 10)
    assert result["torn_tails"] == []
    assert result["partitions"][0]["log_end_offset"] == 20


def test_v2_length_field_of_the_last_batch_is_not_a_torn_tail(tmp_path):
    data = bytearray(b"".join(V2_BATCHES))
    struct.pack_into(">i", data, V2_POSITIONS[3] + 8, len(V2_BATCHES[3]) + 500)
    result = run(write_partition(tmp_path, {0: data}))
    record = only_record(result)
    assert (record["reason"], record["first_offset"], record["last_offset"], record["next_valid_offset"]) == (
        "bad_framing", 15, 19, None)
    assert result["torn_tails"] == []


def test_v2_magic_byte(tmp_path):
    data = bytearray(b"".join(V2_BATCHES))
    data[V2_POSITIONS[2] + 16] = 7
    result = run(write_partition(tmp_path, {0: data}))
    record = only_record(result)
    assert (record["reason"], record["magic"], record["first_offset"], record["last_offset"],
            record["next_valid_offset"]) == ("invalid_magic", 7, 10, 14, 15)


def test_v2_attributes_byte_in_the_header(tmp_path):
    data = damaged(V2_BATCHES, 0, 22, 0x02)
    record = only_record(run(write_partition(tmp_path, {0: data})))
    assert (record["reason"], record["position"], record["first_offset"], record["last_offset"],
            record["next_valid_offset"]) == ("crc_mismatch", 0, 0, 4, 5)


def test_v2_base_offset_outside_the_crc(tmp_path):
    data = bytearray(b"".join(V2_BATCHES))
    struct.pack_into(">q", data, V2_POSITIONS[2], 3)
    record = only_record(run(write_partition(tmp_path, {0: data})))
    assert (record["reason"], record["first_offset"], record["last_offset"], record["next_valid_offset"]) == (
        "offset_out_of_order", 10, 14, 15)


@pytest.mark.parametrize("keep", [7, 40, 70])
def test_torn_tail_on_the_newest_segment(tmp_path, keep):
    data = b"".join(V2_BATCHES[:3]) + V2_BATCHES[3][:keep]
    result = run(write_partition(tmp_path, {0: data}))
    assert result["corrupt_records"] == [] and result["lines"] == []
    tail = result["torn_tails"][0]
    assert (tail["position"], tail["length"], tail["last_valid_offset"]) == (V2_POSITIONS[3], keep, 14)
    assert tail["declared_size"] == (None if keep < 12 else len(V2_BATCHES[3]) - 12)
    assert result["partitions"][0]["clean"] is True and result["partitions"][0]["log_end_offset"] == 15


def test_zeroed_tail_is_a_torn_tail(tmp_path):
    result = run(write_partition(tmp_path, {0: b"".join(V2_BATCHES) + b"\x00" * 300}))
    assert result["corrupt_records"] == [] and result["torn_tails"][0]["length"] == 300


def test_cut_off_older_segment_is_damage_not_a_torn_tail(tmp_path):
    older = b"".join(V2_BATCHES[:3]) + V2_BATCHES[3][:70]
    newer = v2_batch(20, [b"a", b"b"])
    result = run(write_partition(tmp_path, {0: older, 20: newer}))
    record = only_record(result)
    assert (record["reason"], record["position"], record["length"], record["first_offset"], record["last_offset"],
            record["next_valid_offset"]) == ("bad_framing", V2_POSITIONS[3], 70, 15, 19, 20)
    assert result["torn_tails"] == [] and result["partitions"][0]["log_end_offset"] == 22


LEGACY = {magic: [legacy_message(offset, magic, b"value-%d" % offset, key=b"key-%d" % offset)
                  for offset in range(10)] for magic in (0, 1)}


@pytest.mark.parametrize("magic", [0, 1])
def test_legacy_value_byte(tmp_path, magic):
    entries = LEGACY[magic]
    data = damaged(entries, 4, len(entries[4]) - 1)
    result = run(write_partition(tmp_path, {0: data}))
    record = only_record(result)
    start = positions(entries)[4]
    assert record == dict(record, reason="crc_mismatch", position=start, magic=magic, first_offset=4, last_offset=4,
                          next_valid_offset=5, stored_crc=struct.unpack(">I", entries[4][12:16])[0],
                          computed_crc=zlib.crc32(bytes(data[start + 16:start + len(entries[4])])))
    timestamp = "NoTimestampType: -1" if magic == 0 else "CreateTime: 1700000000000"
    assert result["lines"][1] == ("offset: 4 position: %d %s size: %d magic: %d compresscodec: none crc: %d "
                                  "isvalid: false" % (start, timestamp, len(entries[4]), magic, record["stored_crc"]))


@pytest.mark.parametrize("magic", [0, 1])
def test_legacy_length_field(tmp_path, magic):
    entries = LEGACY[magic]
    data = bytearray(b"".join(entries))
    struct.pack_into(">i", data, positions(entries)[6] + 8, 3)
    record = only_record(run(write_partition(tmp_path, {0: data})))
    assert (record["reason"], record["first_offset"], record["last_offset"], record["next_valid_offset"]) == (
        "bad_framing", 6, 6, 7)


GZIP_WRAPPERS = {magic: [legacy_gzip_wrapper(first, magic, [b"v%d" % (first + i) for i in range(3)])
                         for first in (0, 3, 6)] for magic in (0, 1)}


@pytest.mark.parametrize("magic", [0, 1])
def test_gzip_wrapper_damage_covers_its_inner_offsets(tmp_path, magic):
    wrappers = GZIP_WRAPPERS[magic]
    data = damaged(wrappers, 1, len(wrappers[1]) - 5)
    result = run(write_partition(tmp_path, {0: data}))
    record = only_record(result)
    assert (record["reason"], record["first_offset"], record["last_offset"], record["next_valid_offset"]) == (
        "crc_mismatch", 3, 5, 6)
    assert "compresscodec: gzip" in result["lines"][1]


@pytest.mark.parametrize("magic", [0, 1])
def test_framing_damage_before_a_gzip_wrapper_reads_its_first_inner_offset(tmp_path, magic):
    wrappers = GZIP_WRAPPERS[magic]
    data = bytearray(b"".join(wrappers))
    struct.pack_into(">i", data, positions(wrappers)[1] + 8, 2)
    record = only_record(run(write_partition(tmp_path, {0: data})))
    assert (record["reason"], record["first_offset"], record["last_offset"], record["next_valid_offset"]) == (
        "bad_framing", 3, 5, 6)


@pytest.mark.parametrize("offset_lost, expected", [(False, (1, 1, 2)), (True, (1, 3, 4))])
def test_snappy_wrapper_after_framing_damage(tmp_path, offset_lost, expected):
    # The stdlib cannot inflate snappy. When the damaged entry's offsets are known, the offset after it is
    # readable through the wrapper; otherwise only the wrapper's own offset (its last inner message) is known.
    entries = [legacy_message(0, 1, b"a"), legacy_message(1, 1, b"b"),
               legacy_message(4, 1, b"not really snappy", attributes=2)]
    data = bytearray(b"".join(entries))
    data[positions(entries)[1] + 8:positions(entries)[1] + 12] = b"\xff\xff\xff\xff"
    data[positions(entries)[1] + 13] ^= 1
    if offset_lost:
        data[positions(entries)[1]:positions(entries)[1] + 8] = bytes(8)
    record = only_record(run(write_partition(tmp_path, {0: data})))
    assert (record["reason"], record["first_offset"], record["last_offset"], record["next_valid_offset"]) == (
        ("bad_framing",) + expected)


MIXED = [legacy_message(0, 0, b"zero"), legacy_message(1, 0, b"one"), legacy_message(2, 1, b"two"),
         legacy_message(3, 1, b"three"), legacy_gzip_wrapper(4, 1, [b"four", b"five"]),
         v2_batch(6, [b"six", b"seven", b"eight"]), v2_batch(9, [b"nine"])]


@pytest.mark.parametrize("entry, expected", [
    (1, (0, 1, 1, 2)), (3, (1, 3, 3, 4)), (4, (1, 4, 5, 6)), (5, (2, 6, 8, 9)), (6, (2, 9, 9, None))])
def test_mixed_formats_in_one_segment(tmp_path, entry, expected):
    data = damaged(MIXED, entry, len(MIXED[entry]) - 2)
    result = run(write_partition(tmp_path, {0: data}))
    record = only_record(result)
    assert (record["magic"], record["first_offset"], record["last_offset"], record["next_valid_offset"]) == expected
    assert result["partitions"][0]["log_end_offset"] == 10


def test_mode_first_stops_at_the_first_damage(tmp_path):
    data = damaged(V2_BATCHES, 1, 30)
    data[V2_POSITIONS[3] + 30] ^= 1
    directory = write_partition(tmp_path, {0: data})
    assert [r["first_offset"] for r in run(directory, "all")["corrupt_records"]] == [5, 15]
    first = run(directory, "first")
    assert [r["first_offset"] for r in first["corrupt_records"]] == [5]
    assert first["partitions"][0]["next_valid_offset"] == 10 and first["partitions"][0]["log_end_offset"] == 20


def test_start_offset_seeks_with_the_index_and_skips_earlier_damage(tmp_path):
    batches = [v2_batch(base, [b"x" * 100] * 10) for base in range(0, 1000, 10)]
    starts = positions(batches)
    data = damaged(batches, 5, 40)
    data[starts[80] + 40] ^= 1
    index = index_bytes(0, [(base + 9, starts[base // 10]) for base in range(40, 1000, 40)], preallocated=8192)
    directory = write_partition(tmp_path, {0: data}, indexes={0: index})
    result = run(directory, "all", start_offset=500)
    assert [r["first_offset"] for r in result["corrupt_records"]] == [800]
    assert result["partitions"][0]["scanned_from"] == 500
    # Seeked to the indexed batch ending at 489 (the floor of 500), not to the segment start.
    assert result["scanned"]["bytes"] == len(data) - starts[48]
    assert [r["first_offset"] for r in run(directory, "all")["corrupt_records"]] == [50, 800]


def test_a_stale_index_falls_back_to_the_segment_start(tmp_path):
    batches = [v2_batch(base, [b"y" * 50] * 10) for base in range(0, 200, 10)]
    index = index_bytes(0, [(109, positions(batches)[10] + 3)])
    directory = write_partition(tmp_path, {0: damaged(batches, 15, 40)}, indexes={0: index})
    result = run(directory, "all", start_offset=120)
    assert [r["first_offset"] for r in result["corrupt_records"]] == [150]
    assert result["scanned"]["bytes"] == len(b"".join(batches))


def test_resynchronises_through_the_index_across_garbage(tmp_path):
    batches = [v2_batch(base, [b"z" * 100] * 10) for base in range(0, 300, 10)]
    starts = positions(batches)
    data = bytearray(b"".join(batches))
    data[starts[3]:starts[7]] = b"\xa5" * (starts[7] - starts[3])
    index = index_bytes(0, [(69, starts[6]), (79, starts[7]), (149, starts[14])])
    record = only_record(run(write_partition(tmp_path, {0: data}, indexes={0: index})))
    assert (record["reason"], record["position"], record["length"], record["first_offset"], record["last_offset"],
            record["next_valid_offset"]) == ("bad_framing", starts[3], starts[7] - starts[3], 30, 69, 70)


def scan_segment(path, size, window_bytes=WINDOW_BYTES):
    ledger = OffsetLedger()
    with open(path, "rb", buffering=0) as handle:
        scanner = SegmentScanner(handle, size, SegmentBounds(str(path), 0, newest=True), ledger,
                                 window_bytes=window_bytes).run()
    ledger.finish()
    return scanner, ledger


def test_reads_only_up_to_the_size_fixed_at_the_start(tmp_path):
    path = tmp_path / "segment.log"
    path.write_bytes(b"".join(V2_BATCHES))
    scanner, ledger = scan_segment(path, V2_POSITIONS[3])
    assert (ledger.last, scanner.bytes_scanned) == (14, V2_POSITIONS[3])
    assert scanner.torn_tail is None and ledger.damages == []


def test_an_append_in_progress_at_the_size_snapshot_is_not_a_torn_tail(tmp_path):
    path = tmp_path / "segment.log"
    path.write_bytes(b"".join(V2_BATCHES))
    scanner, ledger = scan_segment(path, V2_POSITIONS[3] + 40)
    assert (ledger.last, scanner.torn_tail, ledger.damages) == (14, None, [])


def test_batches_larger_than_the_read_window_are_checksummed_in_pieces(tmp_path):
    batches = [v2_batch(0, [b"q" * 5000] * 3), v2_batch(3, [b"r" * 5000] * 3)]
    data = damaged(batches, 1, 9000)
    path = tmp_path / "segment.log"
    path.write_bytes(data)
    _scanner, ledger = scan_segment(path, len(data), window_bytes=4096)
    assert [(d.reason, d.first_offset, d.last_offset) for d in ledger.damages] == [("crc_mismatch", 3, 5)]


def test_v2_dump_line_matches_dump_log_segments_wording(tmp_path):
    batch = v2_batch(40, [b"a", b"b"], producer_id=7, producer_epoch=1, base_sequence=12, leader_epoch=3)
    data = damaged([batch], 0, len(batch) - 2)
    result = run(write_partition(tmp_path, {40: data}))
    stored = struct.unpack(">I", batch[17:21])[0]
    assert result["lines"] == [
        "Dumping %s" % (tmp_path / "orders-3" / ("%020d.log" % 40)),
        "baseOffset: 40 lastOffset: 41 count: 2 baseSequence: 12 lastSequence: 13 producerId: 7 producerEpoch: 1 "
        "partitionLeaderEpoch: 3 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty "
        "position: 0 CreateTime: 1700000000001 size: %d magic: 2 compresscodec: none crc: %d isvalid: false"
        % (len(batch), stored)]


@pytest.mark.parametrize("start, expected_first, expected_next", [
    (5, 5, 10),      # the consumer sits on the first offset of the damaged batch
    (8, 5, 10),      # or inside it
])
def test_at_start_follows_damage_where_the_consumer_sits(tmp_path, start, expected_first, expected_next):
    directory = write_partition(tmp_path, {0: damaged(V2_BATCHES, 1, 40)})
    result = run(directory, "at_start", start)
    record = only_record(result)
    assert (record["first_offset"], record["next_valid_offset"]) == (expected_first, expected_next)
    partition = result["partitions"][0]
    assert (partition["clean"], partition["next_valid_offset"], partition["log_end_offset"]) == (False, 10, 20)
    # Read from the segment start (no index to seek with) up to the batch that confirms the one after the damage.
    assert result["scanned"]["bytes"] == len(b"".join(V2_BATCHES))


def test_at_start_reads_only_the_entry_holding_a_clean_start(tmp_path):
    # Damage further on does not hold a consumer at offset 2: it reads batch 0-4 first.
    directory = write_partition(tmp_path, {0: damaged(V2_BATCHES, 2, 40)})
    result = run(directory, "at_start", 2)
    assert result["corrupt_records"] == []
    partition = result["partitions"][0]
    assert (partition["clean"], partition["log_end_offset"]) == (True, 20)
    # Only the batch holding offset 2: it starts the segment at the offset its file name gives.
    assert result["scanned"]["bytes"] == len(V2_BATCHES[0])
    # mode first, for comparison, reads on until it finds the damage.
    assert only_record(run(directory, "first", 2))["first_offset"] == 10


def test_at_start_resolves_damage_at_a_segment_end_in_the_next_segment(tmp_path):
    older = b"".join(V2_BATCHES[:3]) + bytes(damaged(V2_BATCHES[3:], 0, 40))
    newer = b"".join(v2_batch(base, [b"x%d" % base]) for base in (20, 21, 22))
    result = run(write_partition(tmp_path, {0: older, 20: newer}), "at_start", 17)
    record = only_record(result)
    assert (record["first_offset"], record["last_offset"], record["next_valid_offset"]) == (15, 19, 20)
    assert result["partitions"][0]["log_end_offset"] == 23
    # The newer segment was read only up to its first batch (it starts at the offset its file name gives).
    assert result["scanned"]["bytes"] == len(older) + len(v2_batch(20, [b"x20"]))
