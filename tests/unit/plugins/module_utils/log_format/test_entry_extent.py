# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Where an entry really ends, read from its contents: entries from kafka-python's record builders, every codec."""

from __future__ import annotations

import struct

import pytest
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.legacy_records import LegacyRecordBatchBuilder

from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.entry_extent import checked_end, natural_ends
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.log_segment import ReadWindow, read_header
from ansible_collections.kafka_ops.remediation.tests.unit.plugins.module_utils.log_format.test_log_segment import (
    run, write_partition)

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def v2(codec, first, count=6):
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=CODECS[codec], is_transactional=False,
                                        producer_id=-1, producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    for i in range(count):
        builder.append(i, timestamp=1700000000000 + i, key=b"k%d" % i, value=b"value %d " % (first + i) * 20,
                       headers=[])
    data = bytearray(builder.build())
    struct.pack_into(">q", data, 0, first)
    return bytes(data)


def legacy(magic, codec, first, count=6):
    builder = LegacyRecordBatchBuilder(magic=magic, compression_type=CODECS[codec], batch_size=1 << 20)
    for i in range(count):
        builder.append(first + i if magic == 0 else i, timestamp=1700000000000 if magic else None, key=None,
                       value=b"legacy %d " % (first + i) * 10)
    data = bytearray(builder.build())
    struct.pack_into(">q", data, 0, first + count - 1)
    return bytes(data)


KINDS = [(2, codec) for codec in CODECS] + [(magic, codec) for magic in (0, 1) for codec in ("gzip", "snappy", "lz4")]


def build(kind, first):
    magic, codec = kind
    return v2(codec, first) if magic == 2 else legacy(magic, codec, first)


@pytest.mark.parametrize("kind", KINDS)
def test_natural_end_is_the_entry_s_end(tmp_path, kind):
    entry = build(kind, 0)
    path = tmp_path / "entry.log"
    path.write_bytes(entry + b"\x5a" * 100)
    with open(path, "rb") as handle:
        window = ReadWindow(handle, len(entry) + 100, 1 << 16)
        header = read_header(window, 0)
        assert len(entry) in list(natural_ends(window, header, len(entry) + 100))
        assert checked_end(window, header, len(entry) + 100) == len(entry)
        # Nothing beyond the limit.
        assert checked_end(window, header, len(entry) - 1) is None


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size", [3, 1 << 20, 0x7FFFFFFF])
def test_only_the_size_field_damaged_keeps_the_entry_s_offsets(tmp_path, kind, size):
    entries = [build((2, "none"), 0), build(kind, 6), build((2, "none"), 12)]
    data = bytearray(b"".join(entries))
    struct.pack_into(">i", data, len(entries[0]) + 8, size)
    result = run(write_partition(tmp_path, {0: data}))
    record = result["corrupt_records"][0]
    assert len(result["corrupt_records"]) == 1
    assert (record["reason"], record["position"], record["length"], record["first_offset"], record["last_offset"],
            record["next_valid_offset"]) == ("bad_framing", len(entries[0]), len(entries[1]), 6, 11, 12)


@pytest.mark.parametrize("garbage", [b"", b"\x00" * 3, b"\x11" * 40])
def test_walks_give_up_on_truncated_or_implausible_contents(tmp_path, garbage):
    for kind in KINDS:
        entry = build(kind, 0)
        cut = entry[:len(entry) // 2] + garbage
        path = tmp_path / "cut.log"
        path.write_bytes(cut)
        with open(path, "rb") as handle:
            window = ReadWindow(handle, len(cut), 1 << 16)
            assert checked_end(window, read_header(window, 0), len(cut)) is None, kind
