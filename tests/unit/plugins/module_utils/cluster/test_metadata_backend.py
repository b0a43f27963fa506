# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""metadata_backend: the backend chosen from the options, and both backends giving the same result fields."""

import json
from types import SimpleNamespace

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import cluster_state, metadata_backend

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.fake_cluster import FakeCluster
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.fake_zookeeper import FakeZooKeeper

NOW = 1_760_000_000_000
VOTERS = {1: (120, NOW), 2: (119, NOW - 100), 3: (90, NOW - 9000)}


def zookeeper_cluster():
    return FakeZooKeeper({
        "/brokers/ids/1": b'{"host":"k1","port":9092,"endpoints":["PLAINTEXT://k1:9092"]}',
        "/brokers/ids/2": b'{"host":"k2","port":9092,"endpoints":["PLAINTEXT://k2:9092"]}',
        "/controller": b'{"brokerid":2}',
        "/brokers/topics/orders": json.dumps({"partitions": {"0": [1, 2], "1": [2, 1]}}).encode(),
        "/brokers/topics/orders/partitions/0/state": b'{"leader":1,"isr":[1,2],"leader_epoch":1}',
        "/brokers/topics/orders/partitions/1/state": b'{"leader":2,"isr":[2],"leader_epoch":1}',
        "/config/topics/orders": b'{"config":{"min.insync.replicas":"2"}}',
    })


def kraft_cluster(**kwargs):
    kwargs.setdefault("voters", VOTERS)
    kwargs.setdefault("elr", {})
    return FakeCluster({("orders", 0): dict(replicas=[1, 2], isr=[1, 2], leader=1),
                        ("orders", 1): dict(replicas=[2, 1], isr=[2], leader=2)},
                       configs={"orders": {"min.insync.replicas": "2"}}, brokers=[1, 2, 3], **kwargs)


def runner(zk=None, kafka=None, **params):
    return SimpleNamespace(params=params, zookeeper=lambda: zk, kafka=lambda: kafka)


SAME_FIELDS = {"broker_ids", "fenced_broker_ids", "controller_id", "under_replicated_partitions",
               "offline_partitions", "at_min_isr_partitions", "below_min_isr_partitions", "would_fall_below_min_isr",
               "summary", "healthy", "brokers", "partitions", "metadata_mode", "quorum", "quorum_stop_check",
               "quorum_would_lose_majority"}


def test_zookeeper_backend_reads_as_before_and_adds_the_kraft_fields_empty():
    metadata = metadata_backend.open_metadata(runner(zookeeper_cluster(), zk_hosts="zk:2181"))
    assert metadata.mode == "zookeeper"
    result = metadata.read(simulate_stopped_brokers=[2], simulate_stopped_controllers=[1])
    assert set(result) == SAME_FIELDS
    assert result["controller_id"] == 2 and result["broker_ids"] == [1, 2] and result["fenced_broker_ids"] == []
    assert result["quorum"] is None and result["quorum_stop_check"] is None
    assert result["quorum_would_lose_majority"] is False
    assert result["partitions"][0]["eligible_leader_replicas"] is None
    assert result["below_min_isr_partitions"] == [dict(topic="orders", partition=1)]
    assert metadata.registered_brokers() == ([1, 2], [])


def test_kraft_backend_gives_the_same_fields_from_the_admin_api():
    fake = kraft_cluster(elr={("orders", 1): [1]})
    fake.down = {3}
    metadata = metadata_backend.open_metadata(runner(kafka=fake, kafka_bootstrap_servers=["k1:9092"]))
    assert metadata.mode == "kraft"
    result = metadata.read(simulate_stopped_brokers=[2], simulate_stopped_controllers=[1])
    assert set(result) == SAME_FIELDS
    # The active controller is the quorum's leader, not DescribeCluster's controller_id (a random broker).
    fake.quorum_leader = 2
    assert metadata.read()["controller_id"] == 2
    assert result["broker_ids"] == [1, 2] and result["fenced_broker_ids"] == [3]
    assert [b["fenced"] for b in result["brokers"]] == [False, False, True]
    assert result["partitions"][1]["eligible_leader_replicas"] == [1]
    assert result["partitions"][0]["eligible_leader_replicas"] == []
    assert result["below_min_isr_partitions"] == [dict(topic="orders", partition=1)]
    assert [p["partition"] for p in result["would_fall_below_min_isr"]] == [0, 1]
    # Stopping voter 1 (the leader) leaves 2 caught up and 3 lagging 9 s: one of the two votes needed.
    assert result["quorum_would_lose_majority"] is True
    assert result["quorum_stop_check"]["caught_up"] == [2] and result["quorum_stop_check"]["lagging"] == [3]
    assert result["summary"]["metadata_mode"] == "kraft" and result["summary"]["fenced_brokers"] == 1
    assert fake.calls.count("describe_configs") == 2  # one batched DescribeConfigs per read
    assert metadata.registered_brokers() == ([1, 2], [3])


def test_kraft_backend_pages_through_describe_topic_partitions():
    fake = FakeCluster({("t", p): dict(replicas=[1], isr=[1], leader=1) for p in range(5)}, voters=VOTERS, elr={},
                       page=2)
    result = metadata_backend.KraftMetadata(fake).read()
    assert [p["partition"] for p in result["partitions"]] == [0, 1, 2, 3, 4]
    assert fake.calls.count("describe_topic_partitions") == 3


def test_kraft_backend_falls_back_to_metadata_before_kafka_3_7():
    fake = kraft_cluster(elr=None)
    metadata = metadata_backend.KraftMetadata(fake)
    result = metadata.read(topics=["orders"])
    assert [p["eligible_leader_replicas"] for p in result["partitions"]] == [None, None]
    metadata.read(topics=["orders"])
    # The fallback is remembered: DescribeTopicPartitions is asked once.
    assert fake.calls.count("describe_topic_partitions") == 1 and fake.calls.count("describe_topics") == 2


def test_kraft_backend_names_unknown_topics_and_a_leaderless_quorum():
    with pytest.raises(cluster_state.ClusterDataError, match="unknown topic\\(s\\) nope: the brokers do not know"):
        metadata_backend.KraftMetadata(kraft_cluster()).read(topics=["nope", "orders"])
    with pytest.raises(cluster_state.ClusterDataError, match="the KRaft controller quorum has no leader \\(leader_id "
                                                             "-1, voters \\[1, 2, 3\\]\\)"):
        metadata_backend.KraftMetadata(kraft_cluster(quorum_leader=-1)).read()


def test_bootstrap_only_against_zookeeper_mode_brokers_says_to_set_zk_hosts():
    metadata = metadata_backend.open_metadata(runner(kafka=kraft_cluster(voters=None),
                                                     kafka_bootstrap_servers=["k1:9092"]))
    with pytest.raises(metadata_backend.MetadataSourceError, match="the brokers run in ZooKeeper mode .* set "
                                                                   "kafka_zk_hosts"):
        metadata.read()


def test_zk_hosts_without_kafka_while_the_brokers_answer_as_kraft_says_to_drop_zk_hosts():
    empty = FakeZooKeeper({"/other": b""})
    with pytest.raises(metadata_backend.MetadataSourceError) as raised:
        metadata_backend.open_metadata(runner(empty, kraft_cluster(), zk_hosts="zk:2181",
                                              kafka_bootstrap_servers=["k1:9092"]))
    assert str(raised.value) == (
        "the cluster runs in KRaft mode: the ZooKeeper at zk_hosts holds no Kafka brokers or topics under chroot "
        "'/kafka' while the brokers answer as a KRaft quorum; remove kafka_zk_hosts (zk_hosts) and set "
        "kafka_bootstrap_servers")
    # Without bootstrap servers the brokers cannot be asked: the message says both readings.
    with pytest.raises(metadata_backend.MetadataSourceError, match="no /brokers/topics under chroot '/kafka': is "
                                                                   "zk_chroot Kafka's chroot\\? A KRaft cluster"):
        metadata_backend.open_metadata(runner(empty, zk_hosts="zk:2181"))


def test_zk_hosts_with_an_empty_kafka_tree_and_zookeeper_mode_brokers_stays_zookeeper():
    fresh = FakeZooKeeper({"/brokers/topics/x": b""})
    fresh.nodes.pop("/brokers/topics/x")
    metadata = metadata_backend.open_metadata(runner(fresh, kraft_cluster(voters=None), zk_hosts="zk:2181",
                                                     kafka_bootstrap_servers=["k1:9092"]))
    assert metadata.mode == "zookeeper"


def test_a_zookeeper_mode_cluster_with_every_broker_stopped_is_not_taken_for_kraft():
    zk = zookeeper_cluster()
    for broker in (1, 2):
        zk.nodes.pop(f"/brokers/ids/{broker}")
    fake = kraft_cluster()
    metadata = metadata_backend.open_metadata(runner(zk, fake, zk_hosts="zk:2181", kafka_bootstrap_servers=["k"]))
    assert metadata.mode == "zookeeper" and fake.calls == []


def test_neither_option_is_one_line():
    with pytest.raises(metadata_backend.MetadataSourceError, match="^neither zk_hosts nor kafka_bootstrap_servers "
                                                                   "is set: give kafka_bootstrap_servers"):
        metadata_backend.open_metadata(runner())


def test_zookeeper_polls_see_every_state_change_and_parse_only_changed_states(monkeypatch):
    zk = zookeeper_cluster()
    metadata = metadata_backend.open_metadata(runner(zk, zk_hosts="zk:2181"))
    first = metadata.read()
    parsed = []
    real_parse = cluster_state.parse_partition_state
    monkeypatch.setattr(cluster_state, "parse_partition_state", lambda raw: parsed.append(raw) or real_parse(raw))
    zk.overwrite("/brokers/topics/orders/partitions/1/state", b'{"leader":2,"isr":[2,1],"leader_epoch":1}')
    second = metadata.read()
    assert parsed == [b'{"leader":2,"isr":[2,1],"leader_epoch":1}'], "only the changed state is parsed again"
    assert second["partitions"][0] == first["partitions"][0]
    assert second["partitions"][1]["isr"] == [2, 1] and second["healthy"]
    del zk.nodes["/brokers/topics/orders/partitions/0/state"]
    third = metadata.read()
    assert third["offline_partitions"] == [dict(topic="orders", partition=0)]
    assert third["partitions"][0]["isr"] == [] and third["partitions"][0]["leader"] is None
    uncached = metadata_backend.ZooKeeperMetadata(zk).read()
    assert third == uncached
