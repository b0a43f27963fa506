# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""corrupt_record_info's main() through the standard module-args / exit-json harness."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format import entry_evidence
from ansible_collections.kafka_ops.remediation.plugins.modules import corrupt_record_info
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.segment_builder import positions, v2_batch

BATCHES = [v2_batch(base, [b"value-%d" % (base + i) for i in range(5)]) for base in (0, 5, 10, 15)]


def run_module(capsys, args):
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        corrupt_record_info.main()
    return exited.value.code, json.loads(capsys.readouterr().out)


@pytest.fixture(name="log_dir")
def log_dir_fixture(tmp_path):
    """A broker log dir with orders-0 damaged at offsets 5-9 and orders-1 clean, plus server.properties."""
    log_dir = tmp_path / "data"
    log_dir.mkdir()
    (log_dir / "meta.properties").write_text("version=0\nbroker.id=2\ncluster.id=lab\n")
    damaged = bytearray(b"".join(BATCHES))
    damaged[positions(BATCHES)[1] + 40] ^= 1
    for partition, data in ((0, damaged), (1, b"".join(BATCHES))):
        (log_dir / ("orders-%d" % partition)).mkdir()
        (log_dir / ("orders-%d" % partition) / ("%020d.log" % 0)).write_bytes(bytes(data))
    # Directories Kafka is deleting or moving are not partitions.
    (log_dir / "orders-2.5f0a6e-delete").mkdir()
    (tmp_path / "server.properties").write_text("broker.id=2\nlog.dirs = %s\nnum.partitions=3\n" % log_dir)
    return log_dir


def test_reports_damage_and_clean_replicas(capsys, log_dir):
    code, result = run_module(capsys, {"server_properties": str(log_dir.parent / "server.properties"),
                                       "topic": "orders", "_ansible_check_mode": True})
    assert code == 0 and result["changed"] is False
    assert [(r["partition"], r["broker_id"], r["first_offset"], r["last_offset"], r["next_valid_offset"], r["reason"])
            for r in result["corrupt_records"]] == [(0, 2, 5, 9, 10, "crc_mismatch")]
    assert [(p["partition"], p["clean"], p["first_damaged_offset"], p["next_valid_offset"], p["log_end_offset"])
            for p in result["partitions"]] == [(0, False, 5, 10, 20), (1, True, None, None, 20)]
    assert result["crc32c_implementation"] == "crc32c"
    assert result["lines"][1].startswith("baseOffset: 5 lastOffset: 9 count: 5 ")


def test_a_kraft_log_dir_names_its_node_id(capsys, log_dir):
    (log_dir / "meta.properties").write_text("version=1\nnode.id=3\ncluster.id=lab\ndirectory.id=xyz\n")
    _code, result = run_module(capsys, {"log_dirs": [str(log_dir)], "topic": "orders"})
    assert {p["broker_id"] for p in result["partitions"]} == {3}
    (log_dir / "meta.properties").unlink()
    _code, result = run_module(capsys, {"log_dirs": [str(log_dir)], "topic": "orders"})
    assert {p["broker_id"] for p in result["partitions"]} == {None}


def test_partitions_start_offsets_and_paths(capsys, log_dir):
    _code, result = run_module(capsys, {"log_dirs": [str(log_dir)], "topic": "orders", "partitions": [0],
                                        "start_offsets": {"0": 10}, "mode": "all"})
    assert result["corrupt_records"] == [] and [p["scanned_from"] for p in result["partitions"]] == [10]
    _code, result = run_module(capsys, {"paths": [str(log_dir / "orders-0" / ("%020d.log" % 0))]})
    assert [r["first_offset"] for r in result["corrupt_records"]] == [5]


@pytest.mark.parametrize("args, message", [
    ({"log_dirs": ["/nonexistent/kafka"], "topic": "orders"},
     "log dir '/nonexistent/kafka' does not exist or is not a directory: check log_dirs or server_properties"),
    ({"topic": "orders"}, "topic 'orders' needs log_dirs or server_properties to find its partitions"),
    ({"paths": ["/nonexistent/orders-0"]},
     "path '/nonexistent/orders-0' does not exist: pass a partition directory or a .log segment"),
    ({"log_dirs": ["/tmp"], "topic": "orders", "start_offsets": {"zero": 1}},
     "start_offsets entry 'zero': 1 is not partition number -> offset"),
])
def test_one_line_errors_name_the_bad_input(capsys, args, message):
    code, result = run_module(capsys, args)
    assert code == 1 and result["failed"] is True and result["msg"] == message


def test_a_topic_not_on_this_broker_is_a_warning(capsys, log_dir, monkeypatch):
    warned = []
    monkeypatch.setattr(corrupt_record_info.AnsibleModule, "warn", lambda self, message: warned.append(message))
    _code, result = run_module(capsys, {"log_dirs": [str(log_dir)], "topic": "invoices"})
    assert result["partitions"] == [] and result["corrupt_records"] == []
    assert warned == ["no partition of topic 'invoices' in %s on this host" % log_dir]


def test_without_the_evidence_options_nothing_is_captured_or_digested(capsys, log_dir):
    _code, result = run_module(capsys, {"log_dirs": [str(log_dir)], "topic": "orders"})
    assert result["digests"] == []
    assert not {"captured", "sha256", "truncated"} & set(result["corrupt_records"][0])


@pytest.mark.parametrize("mode", ["first", "at_start", "all"])
def test_digests_and_captured_bytes_of_the_damaged_offset_on_every_partition(capsys, log_dir, mode):
    segment = log_dir / "orders-0" / ("%020d.log" % 0)
    code, result = run_module(capsys, {"log_dirs": [str(log_dir)], "topic": "orders", "mode": mode,
                                       "start_offsets": {"0": 7, "1": 7}, "digest_offsets": {"0": [17, 7], 1: 7},
                                       "capture_bytes": 4096})
    assert code == 0
    (record,) = result["corrupt_records"]
    captured = base64.b64decode(record["captured"])
    assert len(captured) == record["length"] == len(BATCHES[1]) and record["truncated"] is False
    assert hashlib.sha256(captured).hexdigest() == record["sha256"]
    assert captured == segment.read_bytes()[record["position"]:record["position"] + record["length"]]
    # Every mode stops at the damage (or at offset 7): the digests past it are read all the same.
    damaged, after, intact = result["digests"]
    assert [(d["partition"], d["offset"], d["base_offset"], d["last_offset"], d["valid"], d["reason"])
            for d in (damaged, after, intact)] == [(0, 7, 5, 9, False, "crc_mismatch"), (0, 17, 15, 19, True, None),
                                                   (1, 7, 5, 9, True, None)]
    assert damaged["sha256"] == record["sha256"] != intact["sha256"] == hashlib.sha256(BATCHES[1]).hexdigest()


def test_a_damaged_entry_longer_than_capture_bytes_is_truncated(capsys, log_dir):
    _code, result = run_module(capsys, {"log_dirs": [str(log_dir)], "topic": "orders", "capture_bytes": 16})
    (record,) = result["corrupt_records"]
    captured = base64.b64decode(record["captured"])
    assert len(captured) == 16 < record["length"] and record["truncated"] is True
    assert hashlib.sha256(captured).hexdigest() == record["sha256"]


@pytest.mark.parametrize("suffix", [".5f0a6e1d2c3b4a59-delete", ".5f0a6e1d2c3b4a59-future",
                                    ".5f0a6e1d2c3b4a59-stray", "-delete"])
def test_partition_dirs_kafka_deletes_or_moves_are_not_scanned(capsys, log_dir, suffix):
    renamed = log_dir / ("orders-0" + suffix)
    renamed.mkdir()
    data = bytearray(b"".join(BATCHES))
    data[positions(BATCHES)[2] + 40] ^= 1
    (renamed / ("%020d.log" % 0)).write_bytes(bytes(data))
    _code, result = run_module(capsys, {"log_dirs": [str(log_dir)], "topic": "orders", "mode": "all",
                                        "digest_offsets": {"0": [12], "1": [12]}})
    assert [p["partition"] for p in result["partitions"]] == [0, 1]
    assert [r["segment"] for r in result["corrupt_records"]] == [str(log_dir / "orders-0" / ("%020d.log" % 0))]
    assert [(d["partition"], d["valid"]) for d in result["digests"]] == [(0, True), (1, True)]
    assert all(suffix not in d["segment"] for d in result["digests"])


@pytest.mark.parametrize("args, message", [
    ({"capture_bytes": -1}, "capture_bytes must be 0 (capture nothing) or a number of bytes, got -1"),
    ({"digest_offsets": {"0": ["x"]}}, "digest_offsets entry '0': ['x'] is not partition number -> list of offsets"),
    ({"partitions": [0], "digest_offsets": {"1": [3], "2": [3], "0": [3]}},
     "digest_offsets names partition(s) 1, 2, which partitions leaves out: add them to partitions"),
])
def test_bad_evidence_options_are_one_line_errors(capsys, log_dir, args, message):
    code, result = run_module(capsys, dict({"log_dirs": [str(log_dir)], "topic": "orders"}, **args))
    assert code == 1 and result["msg"] == message


def test_a_digest_read_error_is_a_one_line_error(capsys, log_dir, monkeypatch):
    def unreadable(path, position, length):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(entry_evidence, "sha256_of", unreadable)
    code, result = run_module(capsys, {"log_dirs": [str(log_dir)], "topic": "orders", "partitions": [1],
                                       "digest_offsets": {"1": [3]}})
    assert code == 1 and result["msg"] == "cannot digest offset 3 of topic 'orders' partition 1 at '%s': " \
        "Permission denied" % (log_dir / "orders-1" / ("%020d.log" % 0))


def test_kraft_metadata_log_is_skipped_unless_asked_for(capsys, log_dir, monkeypatch):
    warned = []
    monkeypatch.setattr(corrupt_record_info.AnsibleModule, "warn", lambda self, message: warned.append(message))
    metadata = log_dir / "__cluster_metadata-0"
    metadata.mkdir()
    (metadata / ("%020d.log" % 0)).write_bytes(b"".join(BATCHES))
    _code, result = run_module(capsys, {"paths": [str(metadata), str(log_dir / "orders-1")]})
    assert [p["topic"] for p in result["partitions"]] == ["orders"]
    assert warned == ["skipped KRaft's metadata log %s: pass include_metadata_log=true to scan it" % metadata]
    _code, result = run_module(capsys, {"log_dirs": [str(log_dir)], "topic": "__cluster_metadata"})
    assert result["partitions"] == [] and len(warned) == 2
    _code, result = run_module(capsys, {"log_dirs": [str(log_dir)], "topic": "__cluster_metadata",
                                        "include_metadata_log": True})
    assert [(p["topic"], p["partition"]) for p in result["partitions"]] == [("__cluster_metadata", 0)]
    assert result["corrupt_records"] == [] and len(warned) == 2
