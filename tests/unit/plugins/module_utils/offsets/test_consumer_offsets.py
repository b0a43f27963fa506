# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Paths, znode parsing, offset files and backups of the consumer-offset modules."""

import datetime
import os
import stat

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import consumer_offsets as co

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.file_helpers import fsyncs_recorded


def test_paths():
    assert co.offsets_path("g") == "/consumers/g/offsets"
    assert co.offsets_path("g", "t") == "/consumers/g/offsets/t"
    assert co.offsets_path("g", "t", 3) == "/consumers/g/offsets/t/3"
    assert co.owners_path("g", "t", 0) == "/consumers/g/owners/t/0"
    assert co.ids_path("g") == "/consumers/g/ids"
    assert co.stray_offset_path("g", "t") == "/consumers/g/offset/t"
    assert co.parents_of("/consumers/g/offsets/t/3") == [
        "/consumers", "/consumers/g", "/consumers/g/offsets", "/consumers/g/offsets/t"]


@pytest.mark.parametrize("raw, expected", [(b"0", 0), (b"120446", 120446), (b" 17\n", 17)])
def test_parse_offset(raw, expected):
    assert co.parse_offset(raw, "/p") == expected


@pytest.mark.parametrize("raw, message", [
    (b"abc", "not a decimal offset"), (b"", "not a decimal offset"), (b"1.5", "not a decimal offset"),
    (b"-3", "negative offset -3"), (b'{"offset": 3}', "not a decimal offset"),
])
def test_parse_offset_refuses_garbage_naming_the_node(raw, message):
    with pytest.raises(co.OffsetDataError, match=message) as caught:
        co.parse_offset(raw, "/consumers/g/offsets/t/0")
    assert "/consumers/g/offsets/t/0" in str(caught.value)


def test_iso_utc():
    assert co.iso_utc(1795699666110) == "2026-11-26T13:27:46.110Z"


@pytest.mark.parametrize("text, expected_format", [
    ("orders,0,15\norders,1,7\n", "reset_csv"),
    ("billing,orders,0,15\nother,orders,0,99\nbilling,orders,1,7\n", "reset_csv"),
    ("/consumers/billing/offsets/orders/0:15\n/consumers/billing/offsets/orders/1:7\n", "zookeeper_export"),
    ("# comment\n\n/consumers/billing/offsets/orders/0:15\n/consumers/other/offsets/x/0:1\n"
     "/consumers/billing/offsets/orders/1:7\n", "zookeeper_export"),
])
def test_parse_offsets_file_formats_detected(text, expected_format):
    parsed = co.parse_offsets_file(text, "billing", "f.csv")
    assert parsed.file_format == expected_format
    assert parsed.targets == {("orders", 0): 15, ("orders", 1): 7}


def test_backup_round_trip_with_absent_nodes(tmp_path):
    before = {("orders", 0): 15, ("orders", 1): None}
    text = co.backup_text("billing", before, ["/consumers/billing/offsets/orders"], "zk:2181/kafka",
                          "2026-11-26T14:00:00.000Z")
    assert "/consumers/billing/offsets/orders/0:15" in text.splitlines()
    path = co.write_backup(str(tmp_path / "b"), "billing", text,
                           datetime.datetime(2026, 11, 26, 14, 0, tzinfo=datetime.timezone.utc))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = co.read_offsets_file(path, "billing")
    assert loaded.targets == before
    assert loaded.absent_parents == ["/consumers/billing/offsets/orders"]


def test_a_backup_is_replaced_atomically_and_its_directory_synced(tmp_path):
    with fsyncs_recorded() as synced:
        path = co.write_backup(str(tmp_path), "billing", "/consumers/billing/offsets/orders/0:15\n",
                               datetime.datetime(2026, 11, 26, 14, 0, tzinfo=datetime.timezone.utc))
    assert synced == [False, True]  # the temp file, then the directory after the rename
    assert os.listdir(tmp_path) == [os.path.basename(path)]


@pytest.mark.parametrize("text, message", [
    ("orders,zero,1\n", "partition 'zero' is not a number"),
    ("orders,0,abc\n", "offset 'abc' is not a number"),
    ("orders,0,-5\n", "offset -5 is negative"),
    ("orders;0;5\n", "is not 'topic,partition,offset'"),
    ("/consumers/billing/offsets/orders/x:5\n", "is not '/consumers/<group>/offsets/<topic>/<n>:<offset>'"),
    ("orders,0,1\norders,0,2\n", "orders/0 appears twice"),
    ("other,orders,0,1\n", "no offsets for group 'billing' \\(1 rows are for other groups\\)"),
    ("", "no offsets for group 'billing'"),
])
def test_malformed_files_fail_with_line_numbers(text, message):
    with pytest.raises(co.OffsetDataError, match=message):
        co.parse_offsets_file(text, "billing", "f.csv")


def test_unreadable_file(tmp_path):
    with pytest.raises(co.OffsetDataError, match="cannot read offsets file"):
        co.read_offsets_file(str(tmp_path / "missing.csv"), "g")


def test_table_has_consumer_offset_checker_columns():
    rows = [dict(group="g", topic="orders", partition=0, offset=5, log_end_offset=9, lag=4, owner="g_host-0"),
            dict(group="g", topic="orders", partition=1, offset=None, log_end_offset=None, lag=None, owner=None)]
    table = co.format_table(rows)
    assert table[0].split() == ["Group", "Topic", "Pid", "Offset", "logSize", "Lag", "Owner"]
    assert table[1].split() == ["g", "orders", "0", "5", "9", "4", "g_host-0"]
    assert table[2].split() == ["g", "orders", "1", "unknown", "unknown", "unknown", "none"]


def test_table_shows_unreadable_offset_nodes_in_order():
    rows = [dict(group="g", topic="orders", partition=p, offset=5, log_end_offset=9, lag=4, owner=None)
            for p in (0, 2)]
    unreadable = [dict(group="g", topic="orders", partition=1, raw="abc", log_end_offset=9, owner=None),
                  dict(group="g", topic="orders", partition=3, raw="x" * 30, log_end_offset=None, owner=None)]
    table = co.format_table(rows, unreadable)
    assert [line.split()[2:5] for line in table[1:]] == [
        ["0", "5", "9"], ["1", "unreadable:'abc'", "9"], ["2", "5", "9"], ["3", f"unreadable:'{'x' * 17}...'", "unknown"]]
    assert table[2].split()[5:] == ["unknown", "none"]


@pytest.mark.parametrize("raw, problem", [
    (b"17", None), (b" 17\n", None), (b"abc", "not a decimal offset"), (b"", "empty, not a decimal offset"),
    (b"  \n", "empty, not a decimal offset"), (b"1.5", "not a decimal offset"), (b"-3", co.NEGATIVE_OFFSET),
    (b"\xff\xfe", "not a decimal offset"),
])
def test_offset_problem(raw, problem):
    assert co.offset_problem(raw) == problem
