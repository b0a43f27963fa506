# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kafka-python is imported only when a broker client is created; without it only broker calls fail."""

import json
import pathlib
import subprocess
import sys

import pytest

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection import kafka_client
from ansible_collections.kafka_ops.remediation.plugins.modules import consumer_offset_info

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.fake_zookeeper import FakeZooKeeper
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.module_harness import run_module

COLLECTIONS = pathlib.Path(__file__).resolve().parents[5] / ".ansible" / "collections"
ZK_ARGS = dict(zk_hosts="fake:2181", zk_chroot="/kafka")

# Runs in a fresh interpreter, because this pytest process has kafka-python loaded by other tests.
# Every ZooKeeper-only call gets the real kafka_factory, so a broker client created by mistake would load kafka.
ZOOKEEPER_ONLY_CALLS = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.fake_zookeeper import FakeZooKeeper
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.module_harness import run_module
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection import kafka_client
from ansible_collections.kafka_ops.remediation.plugins.modules import (
    cluster_info, consumer_offset, consumer_offset_info)

def cluster():
    return FakeZooKeeper({
        "/brokers/ids/1": b'{"host":"k1","port":9092,"endpoints":["PLAINTEXT://k1:9092"]}',
        "/controller": b'{"brokerid":1}',
        "/brokers/topics/orders": b'{"partitions":{"0":[1]}}',
        "/brokers/topics/orders/partitions/0/state": b'{"leader":1,"isr":[1],"leader_epoch":1}',
        "/consumers/billing/ids": b"",
        "/consumers/billing/offsets/orders/0": b"5",
    })

zk_args = dict(zk_hosts="fake:2181", zk_chroot="/kafka")
real = kafka_client.KafkaBrokers
results = {
    "cluster_info": run_module(cluster_info.main, dict(zk_args, details=False), cluster(), kafka_factory=real),
    "consumer_offset_info": run_module(consumer_offset_info.main, dict(zk_args, groups=["billing"], log_offsets=False,
                                                                                 storage="zookeeper"),
                                       cluster(), kafka_factory=real),
    "consumer_offset": run_module(consumer_offset.main, dict(zk_args, group="billing", target="offset", offset=7,
                                                             storage="zookeeper",
                                                             log_offsets=False, backup_dir=sys.argv[2]),
                                  cluster(), kafka_factory=real),
}
mapped = kafka_client.describe_kafka_exception(ValueError("not from kafka-python"))
loaded_by_zookeeper_calls = "kafka" in sys.modules
real({}, ["127.0.0.1:9092"])  # creating a broker client is what loads kafka-python (it connects on first use)
print(json.dumps(dict(results=results, mapped=mapped, loaded_by_zookeeper_calls=loaded_by_zookeeper_calls,
                      loaded_by_broker_client="kafka" in sys.modules)))
"""


def test_zookeeper_only_calls_do_not_import_kafka(tmp_path):
    ran = subprocess.run([sys.executable, "-c", ZOOKEEPER_ONLY_CALLS, str(COLLECTIONS), str(tmp_path / "backups")],
                         capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout.splitlines()[-1])
    for module, result in report["results"].items():
        assert not result.get("failed"), (module, result.get("msg"))
    assert report["results"]["consumer_offset"]["changed"] is True
    assert report["mapped"] is None
    assert report["loaded_by_zookeeper_calls"] is False
    assert report["loaded_by_broker_client"] is True


def test_missing_kafka_python_fails_broker_calls_with_one_line(monkeypatch):
    # None in sys.modules makes `import kafka` raise ImportError, as if kafka-python were not installed.
    monkeypatch.setitem(sys.modules, "kafka", None)
    zk = FakeZooKeeper({"/brokers/topics/orders": b'{"partitions":{"0":[1]}}',
                        "/consumers/billing/offsets/orders/0": b"5"})
    args = dict(ZK_ARGS, groups=["billing"], kafka_bootstrap_servers=["127.0.0.1:9092"])
    failed = run_module(consumer_offset_info.main, args, zk, kafka_factory=kafka_client.KafkaBrokers)
    assert failed["failed"] and failed["msg"] == missing_required_lib("kafka-python")
    assert "\n" not in failed["msg"] and "ModuleNotFoundError" in failed["exception"]
    assert zk.closed
    zookeeper_only = run_module(consumer_offset_info.main, dict(args, log_offsets=False, storage="zookeeper"), zk,
                                kafka_factory=kafka_client.KafkaBrokers)
    assert not zookeeper_only.get("failed") and [row["offset"] for row in zookeeper_only["offsets"]] == [5]


def test_kafka_exceptions_are_still_described():
    from kafka.errors import KafkaTimeoutError  # pylint: disable=import-outside-toplevel

    assert kafka_client.describe_kafka_exception(KafkaTimeoutError("no answer")) == \
        "Kafka error KafkaTimeoutError: KafkaTimeoutError: no answer"
    assert kafka_client.describe_kafka_exception(ValueError("x")) is None


class _Errors:
    """Stand-ins for kafka-python's error classes, named as it names them."""

    NoError = type("NoError", (), {})
    UnknownMemberIdError = type("UnknownMemberIdError", (), {})


class _Admin:
    def __init__(self, failure=None):
        self.failure = failure
        self.asked = []

    def _maybe_fail(self):
        if self.failure is not None:
            raise self.failure

    def close(self):
        self.closed = True

    def alter_group_offsets(self, group, offsets):
        self.asked.append(("alter", group, {(tp.topic, tp.partition): (o.offset, o.metadata, o.leader_epoch)
                                            for tp, o in offsets.items()}))
        self._maybe_fail()
        first = sorted(offsets, key=lambda tp: tp.partition)[0]
        return {tp: (_Errors.UnknownMemberIdError if tp == first else _Errors.NoError) for tp in offsets}

    def delete_group_offsets(self, group, partitions):
        self._maybe_fail()
        return {tp: _Errors.NoError for tp in partitions[1:]}  # the first partition gets no answer

    def list_group_offsets(self, specs):
        self.asked.append(("list_group_offsets", sorted(specs)))
        self._maybe_fail()
        kafka = kafka_client.load_kafka()
        held = kafka.structs.OffsetAndMetadata
        return {group: {kafka.TopicPartition("t", 0): held(5, "m", 3), kafka.TopicPartition("t", 1): held(-1, "", -1)}
                for group in specs}

    def describe_topics(self, topics):
        self._maybe_fail()
        return [dict(name="t", error_code=0, partitions=[dict(partition_index=1), dict(partition_index=0)]),
                dict(name="gone", error_code=3, partitions=[])]


def _brokers(admin, **params):
    brokers = kafka_client.KafkaBrokers(params, ["k1:9092"])
    brokers._admin_client = lambda: admin  # pylint: disable=protected-access
    return brokers


def test_group_calls_send_one_request_and_name_refused_partitions():
    admin = _Admin()
    brokers = _brokers(admin)
    refused = brokers.commit_offsets("g", {("t", 0): (7, "m"), ("t", 1): (9, "")})
    assert refused == {("t", 0): "UnknownMemberIdError"}
    assert admin.asked == [("alter", "g", {("t", 0): (7, "m", -1), ("t", 1): (9, "", -1)})]
    assert brokers.delete_offsets("g", [("t", 0), ("t", 1)]) == {("t", 0): "no answer"}
    assert brokers.delete_offsets("g", []) == {}
    # A partition the coordinator holds no offset for (-1) is left out.
    assert brokers.committed_offsets({"g": None}) == {"g": {("t", 0): (5, "m", 3)}}
    assert brokers.topic_partitions(["t", "gone"]) == {"t": [0, 1], "gone": None}


def test_group_call_failures_are_one_line():
    errors = kafka_client.load_kafka().errors
    admin = _Admin(errors.CoordinatorNotAvailableError())
    unavailable = _brokers(admin, kafka_request_timeout=1.0)
    with pytest.raises(kafka_client.CoordinatorUnavailable,
                       match=r"^the group coordinator did not answer the committed offsets \(OffsetFetch\) "
                             r"within 1 s \(CoordinatorNotAvailableError\)"):
        unavailable.committed_offsets({"g": None})
    slow = _brokers(_Admin(errors.KafkaTimeoutError()))
    with pytest.raises(kafka_client.KafkaClientError,
                       match=r"^brokers did not answer the offset commit \(OffsetCommit\) within 30 s"):
        slow.commit_offsets("g", {("t", 0): (1, "")})
    refused = _brokers(_Admin(errors.GroupAuthorizationFailedError()))
    with pytest.raises(kafka_client.KafkaClientError,
                       match=r"^brokers refused the topic metadata request: GroupAuthorizationFailedError"):
        refused.topic_partitions(["t"])


class _LoadingCoordinator(_Admin):
    """A coordinator that answers 'loading' to the first `loading` requests, raised or per partition."""

    def __init__(self, loading):
        super().__init__()
        self.loading = loading

    def list_group_offsets(self, specs):
        self.asked.append(("list_group_offsets", sorted(specs)))
        if self.loading > 0:
            self.loading -= 1
            raise kafka_client.load_kafka().errors.CoordinatorLoadInProgressError()
        return {group: {} for group in specs}

    def alter_group_offsets(self, group, offsets):
        self.asked.append(("alter", group, sorted((tp.topic, tp.partition) for tp in offsets)))
        loading = type("CoordinatorLoadInProgressError", (), {})
        if self.loading > 0:
            self.loading -= 1
            return {tp: loading for tp in offsets}
        return {tp: _Errors.NoError for tp in offsets}


def test_a_coordinator_that_is_loading_is_asked_again_within_the_timeout():
    admin = _LoadingCoordinator(loading=2)
    assert _brokers(admin, kafka_request_timeout=5.0).committed_offsets({"g": None}) == {"g": {}}
    assert len(admin.asked) == 3
    committing = _LoadingCoordinator(loading=1)
    assert _brokers(committing, kafka_request_timeout=5.0).commit_offsets("g", {("t", 0): (3, "")}) == {}
    assert [call[0] for call in committing.asked] == ["alter", "alter"]
