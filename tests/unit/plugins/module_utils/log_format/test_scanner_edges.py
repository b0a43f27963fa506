# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The scanner at the edges (issue 11, items 1-6), each case built byte by byte."""

from __future__ import annotations

import struct

import pytest

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.segment_builder import (
    index_bytes, legacy_message, positions, v2_batch)
from ansible_collections.kafka_ops.remediation.tests.unit.plugins.module_utils.log_format.test_log_segment import (
    V2_BATCHES, V2_POSITIONS, damaged, only_record, run, write_partition)


def offsets(record):
    return record["reason"], record["first_offset"], record["last_offset"], record["next_valid_offset"]


def batches(first, count, per_batch=5):
    return [v2_batch(first + number * per_batch, [b"v%d" % (first + number * per_batch + i) for i in range(per_batch)])
            for number in range(count)]


def set_offset(data, position, offset):
    struct.pack_into(">q", data, position, offset)


# -- item 1: a raised offset field (outside every checksum) ------------------------------------------------------

@pytest.mark.parametrize("bit", [3, 20, 40, 62])
def test_a_raised_v2_base_offset_is_the_entry_reported(tmp_path, bit):
    data = bytearray(b"".join(V2_BATCHES))
    data[V2_POSITIONS[1]:V2_POSITIONS[1] + 8] = struct.pack(">q", 5 | 1 << bit)
    result = run(write_partition(tmp_path, {0: data}))
    # The batches after it stay readable: only the raised one is reported, with its true offsets.
    assert offsets(only_record(result)) == ("offset_out_of_order", 5, 9, 10)
    assert result["partitions"][0]["next_valid_offset"] == 10
    assert result["partitions"][0]["log_end_offset"] == 20


def test_a_raised_offset_on_the_first_batch_of_a_segment(tmp_path):
    data = bytearray(b"".join(V2_BATCHES))
    set_offset(data, 0, 1 << 33)
    assert offsets(only_record(run(write_partition(tmp_path, {0: data})))) == ("offset_out_of_order", 0, 4, 5)


def test_a_raised_offset_on_the_last_batch_of_an_older_segment_is_bounded_by_the_next_file_name(tmp_path):
    older = bytearray(b"".join(V2_BATCHES))
    set_offset(older, V2_POSITIONS[3], 15 + (1 << 12))
    newer = b"".join(batches(20, 2))
    result = run(write_partition(tmp_path, {0: older, 20: newer}))
    assert offsets(only_record(result)) == ("offset_out_of_order", 15, 19, 20)


def test_a_raised_offset_on_the_partition_s_last_batch_is_seen_when_the_index_lists_it(tmp_path):
    data = bytearray(b"".join(V2_BATCHES))
    set_offset(data, V2_POSITIONS[3], 15 + (1 << 12))
    index = index_bytes(0, [(9, V2_POSITIONS[2]), (19, V2_POSITIONS[3])])
    result = run(write_partition(tmp_path, {0: data}, indexes={0: index}))
    assert offsets(only_record(result)) == ("offset_out_of_order", 15, None, None)


def test_a_lowered_offset_is_the_entry_reported(tmp_path):
    data = bytearray(b"".join(V2_BATCHES))
    set_offset(data, V2_POSITIONS[2], 6)
    assert offsets(only_record(run(write_partition(tmp_path, {0: data})))) == ("offset_out_of_order", 10, 14, 15)


def test_a_raised_offset_right_after_damage(tmp_path):
    entries = batches(0, 6)
    starts = positions(entries)
    data = damaged(entries, 1, 40)
    set_offset(data, starts[2], 10 + (1 << 30))
    result = run(write_partition(tmp_path, {0: data}))
    records = result["corrupt_records"]
    assert [offsets(record)[1:] for record in records] == [(5, 9, 15), (10, 14, 15)]
    assert result["partitions"][0]["next_valid_offset"] == 15


def test_the_index_settles_which_of_two_overlapping_entries_is_wrong(tmp_path):
    # Damage, then batch 10-14, then batch 15-19 whose offset was lowered into 10-14: the index lists 10-14.
    entries = batches(0, 5)
    starts = positions(entries)
    data = damaged(entries, 1, 40)
    set_offset(data, starts[3], 11)
    index = index_bytes(0, [(14, starts[2])])
    result = run(write_partition(tmp_path, {0: data}, indexes={0: index}))
    assert [offsets(record) for record in result["corrupt_records"]] == [
        ("crc_mismatch", 5, 9, 10), ("offset_out_of_order", 15, 19, 20)]


def test_a_raised_legacy_message_offset(tmp_path):
    entries = [legacy_message(offset, 1, b"m%d" % offset) for offset in range(6)]
    data = bytearray(b"".join(entries))
    set_offset(data, positions(entries)[2], 2 + (1 << 16))
    assert offsets(only_record(run(write_partition(tmp_path, {0: data})))) == ("offset_out_of_order", 2, 2, 3)


# -- item 2: a damaged size field on the newest segment's last complete entry ----------------------------------

@pytest.mark.parametrize("size", [1 << 20, 0x7FFFFFFF, 3])
def test_a_damaged_size_on_the_last_entry_is_damage_not_a_torn_tail(tmp_path, size):
    data = bytearray(b"".join(V2_BATCHES))
    struct.pack_into(">i", data, V2_POSITIONS[3] + 8, size)
    result = run(write_partition(tmp_path, {0: data}))
    assert offsets(only_record(result)) == ("bad_framing", 15, 19, None)
    assert result["torn_tails"] == [] and result["partitions"][0]["clean"] is False


def test_a_damaged_size_on_the_last_entry_before_a_torn_write(tmp_path):
    partial = v2_batch(20, [b"being written"])[:30]
    data = bytearray(b"".join(V2_BATCHES) + partial)
    struct.pack_into(">i", data, V2_POSITIONS[3] + 8, 1 << 20)
    result = run(write_partition(tmp_path, {0: data}))
    assert offsets(only_record(result)) == ("bad_framing", 15, 19, None)
    assert [(tail["position"], tail["length"]) for tail in result["torn_tails"]] == [(len(data) - 30, 30)]


@pytest.mark.parametrize("magic", [0, 1])
def test_a_damaged_size_on_a_last_legacy_message(tmp_path, magic):
    entries = [legacy_message(offset, magic, b"m%d" % offset) for offset in range(4)]
    data = bytearray(b"".join(entries) + b"\x07" * 9)
    struct.pack_into(">i", data, positions(entries)[3] + 8, 5000)
    result = run(write_partition(tmp_path, {0: data}))
    assert offsets(result["corrupt_records"][0]) == ("bad_framing", 3, 3, None)


# -- item 3: several damages before a wrapper whose first offset the standard library cannot read ----------------

def snappy_wrapper(last):
    return legacy_message(last, 1, b"not inflatable here", attributes=2)


def test_next_valid_offset_does_not_land_in_later_damage_before_a_snappy_wrapper(tmp_path):
    entries = [legacy_message(0, 1, b"a"), legacy_message(1, 1, b"b"), legacy_message(2, 1, b"c"), snappy_wrapper(5)]
    starts = positions(entries)
    data = bytearray(b"".join(entries))
    data[starts[1] + 30] ^= 1
    data[starts[2] + 30] ^= 1
    records = run(write_partition(tmp_path, {0: data}))["corrupt_records"]
    # Both resume after the second damage: 3 is the wrapper's first inner offset or before it, never 2.
    assert [offsets(record) for record in records] == [("crc_mismatch", 1, 1, 3), ("crc_mismatch", 2, 2, 3)]


def test_before_a_snappy_wrapper_unknown_damage_ends_resume_at_the_wrapper_s_own_offset(tmp_path):
    entries = [legacy_message(0, 1, b"a"), legacy_message(1, 1, b"b"), legacy_message(2, 1, b"c"), snappy_wrapper(5)]
    starts = positions(entries)
    data = bytearray(b"".join(entries))
    data[starts[1] + 30] ^= 1
    data[starts[2]:starts[2] + 12] = bytes(12)
    records = run(write_partition(tmp_path, {0: data}))["corrupt_records"]
    assert [record["next_valid_offset"] for record in records] == [5] * len(records)
    assert all(record["last_offset"] is None or record["last_offset"] < 5 for record in records)


# -- item 4: a start offset after damaged framing ---------------------------------------------------------------

@pytest.mark.parametrize("size_change", [20, -20, 1 << 16])
def test_damaged_framing_before_the_start_offset_is_not_reported_over_an_intact_start(tmp_path, size_change):
    entries = batches(0, 8)
    starts = positions(entries)
    data = bytearray(b"".join(entries))
    size = struct.unpack_from(">i", data, starts[2] + 8)[0]
    struct.pack_into(">i", data, starts[2] + 8, size + size_change)
    directory = write_partition(tmp_path, {0: data})
    result = run(directory, "first", 22)
    assert result["corrupt_records"] == [] and result["partitions"][0]["clean"] is True
    # Where the start lies in the damaged entry, it is reported with the same answer as a full scan.
    full = only_record(run(directory, "all"))
    assert offsets(full)[1:] == (10, 14, 15)
    assert offsets(only_record(run(directory, "first", 12))) == offsets(full)


def test_damage_at_the_start_offset_with_an_index_walks_back_one_index_entry(tmp_path):
    entries = batches(0, 8)
    starts = positions(entries)
    data = damaged(entries, 4, 40)
    index = index_bytes(0, [(14, starts[2]), (24, starts[4]), (34, starts[6])])
    result = run(write_partition(tmp_path, {0: data}, indexes={0: index}), "first", 21)
    assert offsets(only_record(result)) == ("crc_mismatch", 20, 24, 25)
    assert result["scanned"]["bytes"] < len(data) - starts[2] + 1


# -- item 5: torn writes and what precedes them --------------------------------------------------------------

def test_a_partly_written_last_batch_followed_by_zeros_is_torn(tmp_path):
    last = V2_BATCHES[3]
    data = b"".join(V2_BATCHES[:3]) + last[:len(last) // 2] + bytes(4096)
    result = run(write_partition(tmp_path, {0: data}))
    assert result["corrupt_records"] == [] and result["partitions"][0]["clean"] is True
    assert [tail["position"] for tail in result["torn_tails"]] == [V2_POSITIONS[3]]


def test_zeros_filling_the_end_of_a_complete_last_batch_are_damage(tmp_path):
    # The file ends exactly where the batch does: nothing says a write was cut off.
    data = bytearray(b"".join(V2_BATCHES))
    data[-20:] = bytes(20)
    assert offsets(only_record(run(write_partition(tmp_path, {0: data})))) == ("crc_mismatch", 15, 19, None)


def test_a_damaged_entry_right_before_a_torn_tail_is_reported_on_its_own(tmp_path):
    partial = v2_batch(20, [b"being written"])[:40]
    data = damaged(V2_BATCHES, 3, 40) + partial
    result = run(write_partition(tmp_path, {0: data}))
    assert offsets(only_record(result)) == ("crc_mismatch", 15, 19, None)
    assert [tail["position"] for tail in result["torn_tails"]] == [len(data) - 40]


@pytest.mark.parametrize("field", [23, 24])
def test_offsets_from_damaged_header_fields_stay_below_next_valid_offset(tmp_path, field):
    # lastOffsetDelta lies under the checksum: once damaged it says nothing about the batch's offsets.
    data = damaged(V2_BATCHES, 1, field, 0x40)
    record = only_record(run(write_partition(tmp_path, {0: data})))
    assert offsets(record) == ("crc_mismatch", 5, 9, 10)


# -- item 6: resynchronisation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("with_index", [False, True])
@pytest.mark.parametrize("filler", [b"\x00", b"\xa5", b"\x02"])
def test_resynchronises_after_a_long_damaged_range(tmp_path, with_index, filler):
    entries = [v2_batch(base, [b"w" * 1000] * 10) for base in range(0, 3000, 10)]
    starts = positions(entries)
    data = bytearray(b"".join(entries))
    data[starts[20] + 5:starts[260]] = filler * (starts[260] - starts[20] - 5)
    index = index_bytes(0, [(base + 9, starts[base // 10]) for base in range(0, 3000, 40)]) if with_index else None
    directory = write_partition(tmp_path, {0: data}, indexes={0: index} if with_index else None)
    record = only_record(run(directory))
    assert (record["reason"], record["position"], record["first_offset"], record["last_offset"],
            record["next_valid_offset"]) == ("bad_framing", starts[20], 200, 2599, 2600)
