# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""cluster_info's main() against a fake ZooKeeper and a fake KRaft cluster (Admin API)."""

from ansible_collections.kafka_ops.remediation.plugins.modules import cluster_info

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.billing_group import ZK_ARGS
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.fake_cluster import FakeCluster
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
    assert result["metadata_mode"] == "zookeeper" and result["quorum"] is None and result["fenced_broker_ids"] == []
    assert result["quorum_would_lose_majority"] is False
    assert result["below_min_isr_partitions"] == [dict(topic="orders", partition=1)]
    assert [p["partition"] for p in result["would_fall_below_min_isr"]] == [0, 1]
    assert zk.closed
    failed = run_module(cluster_info.main, dict(ZK_ARGS, topics=["nope"]), zk)
    assert failed["failed"] and "unknown topic(s) nope" in failed["msg"]
    # Foreign cluster data is an expected failure: one line, no traceback.
    assert "exception" not in failed


NOW = 1_760_000_000_000


def kraft(voters=None, **kwargs):
    return FakeCluster({("orders", 0): dict(replicas=[1, 2, 3], isr=[1, 2, 3], leader=1)},
                       configs={"orders": {"min.insync.replicas": "2"}}, brokers=[1, 2, 3], elr={},
                       voters=voters or {1: (10, NOW), 2: (10, NOW - 10), 3: (10, NOW - 20)}, **kwargs)


def test_cluster_info_on_kraft_needs_no_zookeeper():
    fake = kraft()
    result = run_module(cluster_info.main, dict(kafka_bootstrap_servers=["k1:9092"], simulate_stopped_controllers=[3],
                                                details=False), None, kafka=fake)
    assert not result.get("failed"), result
    assert result["metadata_mode"] == "kraft" and result["controller_id"] == 1 and result["partitions"] == []
    assert result["quorum"]["leader_id"] == 1 and [v["caught_up"] for v in result["quorum"]["voters"]] == [True] * 3
    assert result["quorum_would_lose_majority"] is False and result["quorum_stop_check"]["stopped"] == [3]
    assert result["healthy"] is True and result["changed"] is False
    assert fake.closed


def test_cluster_info_on_kraft_reports_a_losing_stop_and_warns_on_a_single_voter():
    lagging = run_module(cluster_info.main, dict(kafka_bootstrap_servers=["k1:9092"], simulate_stopped_controllers=[2],
                                                 quorum_fetch_timeout_ms=5),
                         None, kafka=kraft())
    assert lagging["quorum_would_lose_majority"] is True
    assert lagging["quorum_stop_check"]["lagging"] == [3]
    single = run_module(cluster_info.main, dict(kafka_bootstrap_servers=["k1:9092"], simulate_stopped_controllers=[1]),
                        None, kafka=kraft(voters={1: (10, NOW)}))
    assert single["quorum_would_lose_majority"] is False
    assert single["warnings_seen"][0].startswith("the quorum has a single voter (1)")


def test_cluster_info_failures_are_one_line():
    neither = run_module(cluster_info.main, {}, None)
    assert neither["failed"] and neither["msg"].startswith("neither zk_hosts nor kafka_bootstrap_servers is set")
    leaderless = run_module(cluster_info.main, dict(kafka_bootstrap_servers=["k1:9092"]), None,
                            kafka=kraft(quorum_leader=-1))
    assert leaderless["failed"] and leaderless["msg"].startswith("the KRaft controller quorum has no leader")
    zookeeper_mode = run_module(cluster_info.main, dict(kafka_bootstrap_servers=["k1:9092"]), None,
                                kafka=FakeCluster({}, voters=None))
    assert zookeeper_mode["msg"].startswith("the brokers run in ZooKeeper mode")
    assert "exception" not in neither and "exception" not in leaderless and "exception" not in zookeeper_mode
