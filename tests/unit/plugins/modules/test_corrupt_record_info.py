"""corrupt_record_info's main() through the standard module-args / exit-json harness."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

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
