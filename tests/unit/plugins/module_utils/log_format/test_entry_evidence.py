# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""entry_evidence: digests of the entry holding an offset, and captured damaged bytes, built byte by byte."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format import entry_evidence
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.entry_evidence import (
    ABOVE_LOG_END, BELOW_LOG_START, NOT_IN_LOG, HoldingLedger, capture, capture_damaged, offset_digests,
    parse_digest_offsets, sha256_of)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.log_dir_scan import (
    ScanError, targets_for_paths)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.offset_ledger import Entry
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.segment_builder import (
    index_bytes, legacy_gzip_wrapper, legacy_message, positions, v2_batch)
from ansible_collections.kafka_ops.remediation.tests.unit.plugins.module_utils.log_format.test_log_segment import (
    V2_BATCHES, V2_POSITIONS, damaged, write_partition)

# Index entries as Kafka writes them: (last offset of a batch, its position).
V2_INDEX = index_bytes(0, [(9, V2_POSITIONS[1]), (19, V2_POSITIONS[3])], preallocated=64)


def sha(data):
    return hashlib.sha256(bytes(data)).hexdigest()


def digests(directory, offsets):
    return offset_digests(targets_for_paths([str(directory)]), {3: offsets})


def only(found):
    assert len(found) == 1, found
    return found[0]


def shape(digest):
    return (digest["offset"], digest["base_offset"], digest["last_offset"], digest["position"], digest["length"],
            digest["valid"], digest["reason"])


# -- parsing the option ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    (None, {}),
    ({}, {}),
    ({"3": [9, 5, 9]}, {3: [5, 9]}),
    ({0: 12, "1": ["7"]}, {0: [12], 1: [7]}),
])
def test_digest_offsets_take_string_or_int_keys_and_one_offset_or_a_list(raw, expected):
    assert parse_digest_offsets(raw) == expected


@pytest.mark.parametrize("raw, message", [
    ({"zero": [1]}, "digest_offsets entry 'zero': [1] is not partition number -> list of offsets"),
    ({"0": ["x"]}, "digest_offsets entry '0': ['x'] is not partition number -> list of offsets"),
    ({"0": [None]}, "digest_offsets entry '0': [None] is not partition number -> list of offsets"),
    ({"0": [-1]}, "digest_offsets entry '0': [-1] has a negative partition or offset"),
    ({"-2": [1]}, "digest_offsets entry '-2': [1] has a negative partition or offset"),
])
def test_bad_digest_offsets_name_the_entry(raw, message):
    with pytest.raises(ScanError) as raised:
        parse_digest_offsets(raw)
    assert str(raised.value) == message


# -- bytes and hashes --------------------------------------------------------------------------------------------

def test_sha256_of_reads_exactly_the_span_in_pieces(tmp_path, monkeypatch):
    monkeypatch.setattr(entry_evidence, "READ_PIECE", 7)
    path = tmp_path / "file"
    path.write_bytes(bytes(range(100)))
    assert sha256_of(str(path), 10, 50) == sha(bytes(range(10, 60)))
    with pytest.raises(EOFError, match="ended at byte 100, inside the entry at 90 of 20 bytes"):
        sha256_of(str(path), 90, 20)


@pytest.mark.parametrize("length, capture_bytes, kept, truncated", [
    (30, 100, 30, False),
    (30, 30, 30, False),
    (30, 8, 8, True),
])
def test_capture_keeps_the_start_of_the_entry(tmp_path, length, capture_bytes, kept, truncated):
    path = tmp_path / "file"
    path.write_bytes(bytes(range(100)))
    captured = capture(str(path), 20, length, capture_bytes)
    data = base64.b64decode(captured["captured"])
    assert data == bytes(range(20, 20 + kept))
    assert captured["sha256"] == sha(data) and captured["truncated"] is truncated


def test_capture_of_a_file_that_shrank_is_an_error(tmp_path):
    path = tmp_path / "file"
    path.write_bytes(bytes(10))
    with pytest.raises(EOFError, match="ended at byte 10, inside the entry at 4 of 20 bytes"):
        capture(str(path), 4, 20, 100)


def test_capture_damaged_adds_the_bytes_to_every_record(tmp_path):
    path = tmp_path / "file"
    path.write_bytes(bytes(range(50)))
    records = [{"topic": "orders", "partition": 3, "segment": str(path), "position": 0, "length": 5},
               {"topic": "orders", "partition": 3, "segment": str(path), "position": 40, "length": 10}]
    capture_damaged(records, 6)
    assert [(base64.b64decode(r["captured"]), r["truncated"]) for r in records] == [
        (bytes(range(5)), False), (bytes(range(40, 46)), True)]


def test_capture_damaged_names_the_record_it_cannot_read(tmp_path):
    records = [{"topic": "orders", "partition": 3, "segment": str(tmp_path / "gone.log"), "position": 7,
                "length": 5}]
    with pytest.raises(ScanError) as raised:
        capture_damaged(records, 6)
    assert str(raised.value) == ("cannot capture the damaged entry of topic 'orders' partition 3 at byte 7 of '%s': "
                                 "No such file or directory" % (tmp_path / "gone.log"))


# -- the ledger that keeps the entries it confirms ---------------------------------------------------------------

def test_the_holding_ledger_keeps_confirmed_entries_from_the_offset_on():
    ledger = HoldingLedger(10)
    for first in (0, 5, 10, 15):
        ledger.confirmed = Entry("s", first * 10, 10, first, first + 4)
    assert ledger.confirmed.first == 15
    assert [entry.first for entry in ledger.held] == [10, 15]


# -- digests of the entry holding an offset ----------------------------------------------------------------------

@pytest.mark.parametrize("with_index", [True, False])
@pytest.mark.parametrize("offset, batch", [(0, 0), (5, 1), (7, 1), (9, 1), (12, 2), (19, 3)])
def test_a_valid_batch_is_found_by_offset_and_hashed_whole(tmp_path, with_index, offset, batch):
    directory = write_partition(tmp_path, {0: b"".join(V2_BATCHES)}, indexes={0: V2_INDEX} if with_index else None)
    digest = only(digests(directory, [offset]))
    assert shape(digest) == (offset, batch * 5, batch * 5 + 4, V2_POSITIONS[batch], len(V2_BATCHES[batch]), True,
                             None)
    assert digest["sha256"] == sha(V2_BATCHES[batch])
    assert (digest["topic"], digest["partition"], digest["broker_id"]) == ("orders", 3, None)
    assert digest["segment"] == str(directory / ("%020d.log" % 0))


def test_replicas_cut_into_different_segments_give_the_same_digest(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    whole = write_partition(tmp_path / "a", {0: b"".join(V2_BATCHES)}, indexes={0: V2_INDEX})
    cut = write_partition(tmp_path / "b", {0: b"".join(V2_BATCHES[:1]), 5: b"".join(V2_BATCHES[1:])},
                          indexes={5: index_bytes(5, [(14, len(V2_BATCHES[1]))])})
    ours, theirs = digests(whole, [0, 7, 12]), digests(cut, [0, 7, 12])
    assert [d["sha256"] for d in ours] == [d["sha256"] for d in theirs]
    assert [d["position"] for d in ours] == [0, V2_POSITIONS[1], V2_POSITIONS[2]]
    assert [d["position"] for d in theirs] == [0, 0, len(V2_BATCHES[1])]
    assert [d["segment"].rsplit("/", 1)[1] for d in theirs] == ["%020d.log" % 0] + ["%020d.log" % 5] * 2


def test_damage_before_the_index_entry_is_not_read(tmp_path):
    """The walk starts at the .index entry at or below the offset: earlier damage is neither read nor reported."""
    data = damaged(V2_BATCHES, 0, 40)
    directory = write_partition(tmp_path, {0: data}, indexes={0: V2_INDEX})
    assert shape(only(digests(directory, [12]))) == (12, 10, 14, V2_POSITIONS[2], len(V2_BATCHES[2]), True, None)


def test_a_damaged_batch_is_hashed_as_it_is_and_marked_invalid(tmp_path):
    data = damaged(V2_BATCHES, 1, 40)
    directory = write_partition(tmp_path, {0: data}, indexes={0: V2_INDEX})
    digest = only(digests(directory, [7]))
    assert shape(digest) == (7, 5, 9, V2_POSITIONS[1], len(V2_BATCHES[1]), False, "crc_mismatch")
    assert digest["sha256"] == sha(data[V2_POSITIONS[1]:V2_POSITIONS[2]]) != sha(V2_BATCHES[1])


def test_a_damaged_offset_field_is_offset_out_of_order(tmp_path):
    data = bytearray(b"".join(V2_BATCHES))
    struct.pack_into(">q", data, V2_POSITIONS[1], 5 | 1 << 40)
    directory = write_partition(tmp_path, {0: data})
    assert shape(only(digests(directory, [5]))) == (5, 5, 9, V2_POSITIONS[1], len(V2_BATCHES[1]), False,
                                                    "offset_out_of_order")


def test_damaged_framing_is_the_damaged_span(tmp_path):
    data = bytearray(b"".join(V2_BATCHES))
    struct.pack_into(">i", data, V2_POSITIONS[1] + 8, 0x7FFF0000)
    directory = write_partition(tmp_path, {0: data}, indexes={0: V2_INDEX})
    digest = only(digests(directory, [8]))
    assert (digest["valid"], digest["reason"], digest["position"]) == (False, "bad_framing", V2_POSITIONS[1])
    assert digest["sha256"] == sha(data[digest["position"]:digest["position"] + digest["length"]])


@pytest.mark.parametrize("offset, reason", [(3, BELOW_LOG_START), (40, ABOVE_LOG_END), (1 << 40, ABOVE_LOG_END)])
def test_offsets_outside_the_log_have_no_digest(tmp_path, offset, reason):
    moved = [v2_batch(20 + base, [b"x"] * 5) for base in (0, 5, 10, 15)]
    directory = write_partition(tmp_path, {20: b"".join(moved)})
    assert only(digests(directory, [offset])) == {
        "topic": "orders", "partition": 3, "broker_id": None, "offset": offset, "base_offset": None,
        "last_offset": None, "segment": None, "position": None, "length": None, "sha256": None, "valid": False,
        "reason": reason}


def test_an_empty_partition_holds_no_offset(tmp_path):
    directory = write_partition(tmp_path, {})
    assert only(digests(directory, [0]))["reason"] == ABOVE_LOG_END


@pytest.mark.parametrize("segments", [
    # Compaction removed the batch inside a segment, or at the end of an older one.
    {0: V2_BATCHES[0] + V2_BATCHES[2] + V2_BATCHES[3]},
    {0: V2_BATCHES[0], 10: V2_BATCHES[2] + V2_BATCHES[3]},
])
def test_an_offset_compaction_removed_is_not_in_log(tmp_path, segments):
    directory = write_partition(tmp_path, segments)
    digest = only(digests(directory, [7]))
    assert (digest["sha256"], digest["valid"], digest["reason"]) == (None, False, NOT_IN_LOG)


def test_an_offset_in_a_torn_tail_is_above_the_log_end(tmp_path):
    directory = write_partition(tmp_path, {0: b"".join(V2_BATCHES)[:-9]})
    assert only(digests(directory, [17]))["reason"] == ABOVE_LOG_END
    assert only(digests(directory, [12]))["valid"] is True


@pytest.mark.parametrize("magic", [0, 1])
def test_legacy_messages_and_wrappers(tmp_path, magic):
    entries = [legacy_message(0, magic, b"zero"), legacy_gzip_wrapper(1, magic, [b"a", b"b", b"c"]),
               legacy_message(4, magic, b"four")]
    directory = write_partition(tmp_path, {0: b"".join(entries)})
    starts = positions(entries)
    found = digests(directory, [0, 2, 4])
    assert [shape(d) for d in found] == [(0, 0, 0, 0, len(entries[0]), True, None),
                                         (2, 1, 3, starts[1], len(entries[1]), True, None),
                                         (4, 4, 4, starts[2], len(entries[2]), True, None)]
    assert [d["sha256"] for d in found] == [sha(entry) for entry in entries]


def test_a_segment_path_digests_its_whole_partition(tmp_path):
    directory = write_partition(tmp_path, {0: b"".join(V2_BATCHES[:2]), 10: b"".join(V2_BATCHES[2:])})
    targets = targets_for_paths([str(directory / ("%020d.log" % 0))])
    (digest,) = offset_digests(targets, {3: [12]})
    assert digest["segment"] == str(directory / ("%020d.log" % 10)) and digest["valid"] is True


def test_only_the_listed_partitions_get_digests(tmp_path):
    directory = write_partition(tmp_path, {0: b"".join(V2_BATCHES)})
    assert offset_digests(targets_for_paths([str(directory)]), {1: [3]}) == []


def test_a_read_error_names_the_offset_and_the_partition(tmp_path, monkeypatch):
    directory = write_partition(tmp_path, {0: b"".join(V2_BATCHES)})

    def unreadable(path, position, length):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(entry_evidence, "sha256_of", unreadable)
    with pytest.raises(ScanError) as raised:
        digests(directory, [7])
    assert str(raised.value) == "cannot digest offset 7 of topic 'orders' partition 3 at '%s': Permission denied" % (
        directory / ("%020d.log" % 0))


def test_damage_that_runs_to_the_log_end_holds_the_offsets_after_it(tmp_path):
    """No valid entry follows: the damage's last offset is unknown, and every offset from its first is in it."""
    data = bytearray(b"".join(V2_BATCHES))
    struct.pack_into(">q", data, V2_POSITIONS[3], 15 + (1 << 12))
    index = index_bytes(0, [(9, V2_POSITIONS[2]), (19, V2_POSITIONS[3])])
    directory = write_partition(tmp_path, {0: data}, indexes={0: index})
    assert shape(only(digests(directory, [17]))) == (17, 15, None, V2_POSITIONS[3], len(V2_BATCHES[3]), False,
                                                     "offset_out_of_order")
