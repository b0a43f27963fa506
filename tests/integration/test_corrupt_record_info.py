# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""corrupt_record_info on the lab: real brokers, real segments, run over SSH with Debian's python3.

Run under the lab lock: flock /tmp/kafka-ops-lab.lock .venv/bin/python -m pytest -m lab tests/integration
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import uuid

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from lab import api as lab_api  # noqa: E402  pylint: disable=C0413
from lab.layout import ansible_command  # noqa: E402  pylint: disable=C0413

from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.log_dir_scan import (  # noqa: E402
    scan, targets_for_paths)
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.segment_builder import (  # noqa: E402
    legacy_gzip_wrapper, legacy_message, v2_batch)

pytestmark = pytest.mark.lab
BROKER_HOSTS = {1: "kafka1", 2: "kafka2", 3: "kafka3"}


def run_on_brokers(tmp_path, **args) -> dict:
    """The module on every broker host through ansible over SSH; returns {broker_id: result}."""
    tree = tmp_path / ("tree-%s" % uuid.uuid4().hex[:8])
    module_args = dict({"server_properties": "{{ kafka_server_properties }}"}, **args)
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    completed = subprocess.run(
        [ansible_command("ansible"), "-i", str(REPO / "inventories" / "lab" / "hosts.yml"),
         "kafka_brokers", "-m", "kafka_ops.remediation.corrupt_record_info", "-a", json.dumps(module_args),
         "-t", str(tree)], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    results = {}
    for broker_id, host in BROKER_HOSTS.items():
        result = json.loads((tree / host).read_text())
        # The broker hosts run Debian's /usr/bin/python3 without any CRC-32C package.
        assert result["crc32c_implementation"] == "python" and result["changed"] is False
        results[broker_id] = result
    return results


def invalid_dump_lines(segment: str) -> list:
    return [line for line in lab_api.dump_log(segment).splitlines() if line.endswith("isvalid: false")]


@pytest.fixture(name="topic")
def topic_fixture(lab):  # pylint: disable=unused-argument
    """A fresh topic, 3 partitions on all 3 brokers, 4 batches of 5 records per partition (offsets 0-19)."""
    name = "scan-%s" % uuid.uuid4().hex[:10]
    lab_api.create_topic(name, partitions=3, replication=3)
    lab_api.produce(name, 60, partitions=3, records_per_batch=5)
    yield name
    # A damaged replica can keep its partition under-replicated: leave nothing behind for the other tests.
    lab_api.delete_topic(name)


def test_finds_the_corrupted_batch_on_exactly_the_damaged_replicas(topic, tmp_path):
    damage = lab_api.corrupt(topic, 0, 7, replicas="all")
    assert (damage["first_offset"], damage["last_offset"]) == (5, 9)
    results = run_on_brokers(tmp_path, topic=topic, mode="all")
    for broker_id, result in results.items():
        found = [(r["partition"], r["first_offset"], r["last_offset"], r["next_valid_offset"], r["reason"])
                 for r in result["corrupt_records"]]
        expected = [(0, 5, 9, 10, "crc_mismatch")] if broker_id in damage["damaged_brokers"] else []
        assert found == expected, (broker_id, result["corrupt_records"])
        assert result["torn_tails"] == []
        summary = {p["partition"]: p for p in result["partitions"]}
        assert sorted(summary) == [0, 1, 2] and all(p["broker_id"] == broker_id for p in summary.values())
        assert (summary[0]["first_damaged_offset"], summary[0]["next_valid_offset"], summary[0]["clean"]) == (
            (5, 10, False) if broker_id in damage["damaged_brokers"] else (None, None, True))
        assert [p["log_end_offset"] for p in result["partitions"]] == [20, 20, 20]
    assert sorted(damage["damaged_brokers"]) == [1, 2, 3]
    # Kafka's own DumpLogSegments marks the same batch invalid, with the very line the module returns.
    for broker_id, segment in zip(damage["damaged_brokers"], damage["segments"]):
        record, = results[broker_id]["corrupt_records"]
        assert record["segment"] == segment
        assert invalid_dump_lines(segment) == [results[broker_id]["lines"][1]]


def test_only_the_leaders_copy_damaged_leaves_the_followers_clean(topic, tmp_path):
    damage = lab_api.corrupt(topic, 1, 12, replicas="leader")
    assert damage["damaged_brokers"] == [damage["leader"]]
    results = run_on_brokers(tmp_path, topic=topic, partitions=[1], start_offsets={"1": 11}, mode="first")
    for broker_id, result in results.items():
        (summary,) = result["partitions"]
        assert summary["scanned_from"] == 11
        if broker_id == damage["leader"]:
            assert [(r["first_offset"], r["last_offset"], r["next_valid_offset"]) for r in result["corrupt_records"]] \
                == [(10, 14, 15)]
            assert invalid_dump_lines(damage["segments"][0]) == [result["lines"][1]]
        else:
            assert result["corrupt_records"] == [] and summary["clean"] is True
            segment = pathlib.Path(lab_api.broker_log_dir(broker_id)) / ("%s-1" % topic) / ("%020d.log" % 0)
            assert invalid_dump_lines(str(segment)) == []


def test_dump_log_segments_agrees_on_every_format(lab, tmp_path):  # pylint: disable=unused-argument
    """Byte-built v0, v1, gzip wrappers and v2 in one segment, several entries damaged: same verdicts."""
    entries = [legacy_message(0, 0, b"zero"), legacy_message(1, 0, b"one"), legacy_gzip_wrapper(2, 0, [b"a", b"b"]),
               legacy_message(4, 1, b"four"), legacy_gzip_wrapper(5, 1, [b"c", b"d", b"e"]),
               v2_batch(8, [b"f", b"g"]), v2_batch(10, [b"h"]), v2_batch(11, [b"i", b"j"])]
    data = bytearray(b"".join(entries))
    starts, position = [], 0
    for entry in entries:
        starts.append(position)
        position += len(entry)
    for damaged in (1, 2, 4, 6):
        data[starts[damaged] + len(entries[damaged]) - 2] ^= 0x04
    directory = tmp_path / "mixed-0"
    directory.mkdir()
    segment = directory / ("%020d.log" % 0)
    segment.write_bytes(bytes(data))
    result = scan(targets_for_paths([str(directory)]), {}, None, "all")
    assert [r["position"] for r in result["corrupt_records"]] == [starts[i] for i in (1, 2, 4, 6)]
    assert invalid_dump_lines(str(segment)) == result["lines"][1:]


def test_digests_tell_the_damaged_replica_from_the_intact_ones_and_keep_its_bytes(topic, tmp_path):
    damage = lab_api.corrupt(topic, 2, 12, replicas="follower")
    (damaged_broker,) = damage["damaged_brokers"]
    (detail,) = damage["details"]
    results = run_on_brokers(tmp_path, topic=topic, partitions=[2], start_offsets={"2": 12}, mode="first",
                             digest_offsets={"2": [12]}, capture_bytes=1 << 20)
    digests = {}
    for broker_id, result in results.items():
        (digest,) = result["digests"]
        assert (digest["topic"], digest["partition"], digest["broker_id"], digest["offset"], digest["base_offset"],
                digest["last_offset"]) == (topic, 2, broker_id, 12, 10, 14)
        # The digest is of exactly the bytes at the position and length it names, read here independently.
        with open(digest["segment"], "rb") as segment:
            segment.seek(digest["position"])
            entry = segment.read(digest["length"])
        assert len(entry) == digest["length"] and hashlib.sha256(entry).hexdigest() == digest["sha256"]
        digests[broker_id] = (digest, entry)
    damaged, damaged_bytes = digests.pop(damaged_broker)
    assert (damaged["valid"], damaged["reason"]) == (False, "crc_mismatch")
    assert (damaged["segment"], damaged["position"]) == (detail["segment"], detail["batch_position"])
    assert [(digest["valid"], digest["reason"]) for digest, _entry in digests.values()] == [(True, None)] * 2
    (intact_sha,) = {digest["sha256"] for digest, _entry in digests.values()}
    assert damaged["sha256"] != intact_sha
    # The damaged copy differs from the intact one by exactly the bit lab corrupt flipped.
    (intact_bytes,) = {entry for _digest, entry in digests.values()}
    flipped = detail["position"] - detail["batch_position"]
    assert [n for n, (a, b) in enumerate(zip(damaged_bytes, intact_bytes)) if a != b] == [flipped]
    assert damaged_bytes[flipped] ^ intact_bytes[flipped] == 1

    (record,) = results[damaged_broker]["corrupt_records"]
    captured = base64.b64decode(record["captured"])
    assert len(captured) == record["length"] == damaged["length"] and record["truncated"] is False
    assert hashlib.sha256(captured).hexdigest() == record["sha256"] == damaged["sha256"]
    assert captured == damaged_bytes
    assert all(results[broker_id]["corrupt_records"] == [] for broker_id in digests)
