# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kraft_state: kafka-python 3.x's Admin API answers parsed into cluster_info's shapes."""

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import cluster_state, kraft_state

NOW = 1_760_000_000_000


def replica(node, end, caught_up_at, fetched_at=-1):
    return dict(replica_id=node, log_end_offset=end, last_fetch_timestamp=fetched_at,
                last_caught_up_timestamp=caught_up_at)


def quorum_answer(leader_id, voters, observers=(), error=None):
    return dict(topics=[dict(topic_name="__cluster_metadata", partitions=[dict(
        partition_index=0, leader_id=leader_id, leader_epoch=5, high_watermark=120, error=error,
        current_voters=list(voters), observers=list(observers))])])


def test_parse_quorum_reads_leader_voters_lag_and_caught_up():
    answer = quorum_answer(2, [replica(3, 100, NOW - 5000, NOW - 10), replica(2, 120, NOW), replica(1, 119, NOW - 10)],
                           [replica(11, 120, NOW - 1)])
    quorum = kraft_state.parse_quorum(answer, fetch_timeout_ms=2000)
    assert quorum["leader_id"] == 2 and quorum["leader_epoch"] == 5 and quorum["high_watermark"] == 120
    assert [(v["node_id"], v["lag"], v["caught_up"]) for v in quorum["voters"]] == [
        (1, 1, True), (2, 0, True), (3, 20, False)]
    assert quorum["voters"][2]["last_fetch_timestamp"] == NOW - 10
    # Observers (brokers) have no vote; the same rule says whether they keep up.
    assert quorum["observers"] == [dict(node_id=11, log_end_offset=120, lag=0, last_fetch_timestamp=-1,
                                        last_caught_up_timestamp=NOW - 1, caught_up=True)]


def test_parse_quorum_without_leader_and_unknown_offsets():
    quorum = kraft_state.parse_quorum(quorum_answer(-1, [replica(1, -1, -1), replica(2, 50, -1)]))
    assert quorum["leader_id"] is None
    assert [(v["lag"], v["caught_up"]) for v in quorum["voters"]] == [(None, False), (None, False)]


@pytest.mark.parametrize(("answer", "message"), [
    (dict(topics=[]), "the DescribeQuorum answer holds no __cluster_metadata partition"),
    (quorum_answer(1, [], error="NotLeaderOrFollowerError: moved"),
     "the controller quorum answered with an error: NotLeaderOrFollowerError: moved"),
])
def test_parse_quorum_refuses_answers_it_cannot_read(answer, message):
    with pytest.raises(cluster_state.ClusterDataError, match=message):
        kraft_state.parse_quorum(answer)


def test_parse_brokers_with_and_without_fencing():
    answer = dict(brokers=[dict(broker_id=2, host="k2", port=9092, rack="r2", is_fenced=True),
                           dict(broker_id=1, host="k1", port=9092, rack=None)])
    assert kraft_state.parse_brokers(answer, "SSL") == [
        dict(id=1, host="k1", port=9092, endpoints=["SSL://k1:9092"], rack=None, fenced=False),
        dict(id=2, host="k2", port=9092, endpoints=["SSL://k2:9092"], rack="r2", fenced=True)]
    assert kraft_state.parse_brokers(dict(brokers=[dict(broker_id=3, host=None, port=-1)]), "PLAINTEXT")[0][
        "endpoints"] == []


def partition(index, leader, replicas, isr, epoch=3, elr=None):
    return dict(error_code=0, partition_index=index, leader_id=leader, leader_epoch=epoch, replica_nodes=replicas,
                isr_nodes=isr, eligible_leader_replicas=elr)


def test_parse_topics_with_elr_makes_lists_and_without_none():
    found = [dict(error_code=0, name="orders", partitions=[partition(1, -1, [1, 2], [], epoch=-1, elr=[2]),
                                                           partition(0, 1, [1, 2], [1, 2])]),
             dict(error_code=3, name="gone", partitions=[])]
    with_elr = kraft_state.parse_topics(found, with_elr=True)
    assert list(with_elr) == ["orders"]
    assert with_elr["orders"][0] == dict(replicas=[1, 2], leader=1, isr=[1, 2], leader_epoch=3,
                                         eligible_leader_replicas=[])
    assert with_elr["orders"][1]["eligible_leader_replicas"] == [2] and with_elr["orders"][1]["leader_epoch"] is None
    assert kraft_state.parse_topics(found, with_elr=False)["orders"][1]["eligible_leader_replicas"] is None


def test_min_insync_replicas_from_the_cluster_else_the_default():
    described = dict(topic={
        "a": {"min.insync.replicas": dict(value="2", config_source="DYNAMIC_TOPIC_CONFIG")},
        "b": {"min.insync.replicas": dict(value="3", config_source="STATIC_BROKER_CONFIG")},
        "c": {"min.insync.replicas": dict(value="1", config_source="DEFAULT_CONFIG")},
        "d": {}})
    assert kraft_state.parse_min_insync_replicas(described, ["a", "b", "c", "d", "e"], 2) == dict(
        a=2, b=3, c=2, d=2, e=2)


def test_judge_partitions_against_unfenced_brokers_carries_elr():
    states = {"orders": {0: dict(replicas=[1, 2], leader=2, isr=[1, 2], leader_epoch=1, eligible_leader_replicas=[]),
                         1: dict(replicas=[1, 2], leader=1, isr=[1], leader_epoch=1, eligible_leader_replicas=None)}}
    judged = kraft_state.judge_partitions(states, {"orders": 2}, live_brokers={1})
    assert [(p["partition"], p["offline"], p["under_replicated"], p["below_min_isr"]) for p in judged] == [
        (0, True, False, False), (1, False, True, True)]
    assert judged[0]["eligible_leader_replicas"] == [] and judged[1]["eligible_leader_replicas"] is None
