"""kafka-python is imported only when a broker client is created; without it only broker calls fail."""

import json
import pathlib
import subprocess
import sys

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
real = kafka_client.KafkaLogOffsets
results = {
    "cluster_info": run_module(cluster_info.main, dict(zk_args, details=False), cluster(), kafka_factory=real),
    "consumer_offset_info": run_module(consumer_offset_info.main, dict(zk_args, groups=["billing"], log_offsets=False),
                                       cluster(), kafka_factory=real),
    "consumer_offset": run_module(consumer_offset.main, dict(zk_args, group="billing", target="offset", offset=7,
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
    failed = run_module(consumer_offset_info.main, args, zk, kafka_factory=kafka_client.KafkaLogOffsets)
    assert failed["failed"] and failed["msg"] == missing_required_lib("kafka-python")
    assert "\n" not in failed["msg"] and "ModuleNotFoundError" in failed["exception"]
    assert zk.closed
    zookeeper_only = run_module(consumer_offset_info.main, dict(args, log_offsets=False), zk,
                                kafka_factory=kafka_client.KafkaLogOffsets)
    assert not zookeeper_only.get("failed") and [row["offset"] for row in zookeeper_only["offsets"]] == [5]


def test_kafka_exceptions_are_still_described():
    from kafka.errors import KafkaTimeoutError  # pylint: disable=import-outside-toplevel

    assert kafka_client.describe_kafka_exception(KafkaTimeoutError("no answer")) == \
        "Kafka error KafkaTimeoutError: KafkaTimeoutError: no answer"
    assert kafka_client.describe_kafka_exception(ValueError("x")) is None
