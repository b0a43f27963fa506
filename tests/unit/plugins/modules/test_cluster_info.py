"""cluster_info's main() against a fake ZooKeeper."""

from ansible_collections.kafka_ops.remediation.plugins.modules import cluster_info

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.billing_group import ZK_ARGS
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.fake_zookeeper import FakeZooKeeper
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.module_harness import run_module


def test_cluster_info_main():
    zk = FakeZooKeeper({
        "/brokers/ids/1": b'{"host":"k1","port":9092,"endpoints":["PLAINTEXT://k1:9092"]}',
        "/brokers/ids/2": b'{"host":"k2","port":9092,"endpoints":["PLAINTEXT://k2:9092"]}',
        "/controller": b'{"brokerid":2}',
        "/brokers/topics/orders": b'{"partitions":{"0":[1,2],"1":[2,1]}}',
        "/brokers/topics/orders/partitions/0/state": b'{"leader":1,"isr":[1,2],"leader_epoch":1}',
        "/brokers/topics/orders/partitions/1/state": b'{"leader":2,"isr":[2],"leader_epoch":1}',
        "/config/topics/orders": b'{"config":{"min.insync.replicas":"2"}}',
    })
    result = run_module(cluster_info.main, dict(ZK_ARGS, simulate_stopped_brokers=[2]), zk)
    assert result["broker_ids"] == [1, 2] and result["controller_id"] == 2 and result["healthy"] is False
    assert result["below_min_isr_partitions"] == [dict(topic="orders", partition=1)]
    assert [p["partition"] for p in result["would_fall_below_min_isr"]] == [0, 1]
    assert zk.closed
    failed = run_module(cluster_info.main, dict(ZK_ARGS, topics=["nope"]), zk)
    assert failed["failed"] and "unknown topic(s) nope" in failed["msg"]
    # Foreign cluster data is an expected failure: one line, no traceback.
    assert "exception" not in failed
