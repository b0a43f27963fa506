# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure cluster_info computations: parsing Kafka's znodes and judging partition health."""

import json

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import cluster_state
from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster.cluster_read import StateParser


def state(leader, isr, epoch=3):
    return dict(leader=leader, isr=isr, leader_epoch=epoch)


def test_parse_broker_plaintext_registration():
    raw = json.dumps({"host": "kafka1", "port": 9092, "endpoints": ["PLAINTEXT://kafka1:9092"],
                      "rack": "r1", "version": 4}).encode()
    assert cluster_state.parse_broker(1, raw) == dict(
        id=1, host="kafka1", port=9092, endpoints=["PLAINTEXT://kafka1:9092"], rack="r1", fenced=False)


def test_parse_broker_without_plaintext_listener_uses_first_endpoint():
    raw = json.dumps({"host": None, "port": -1, "endpoints": ["SSL://kafka2.example:9093"]}).encode()
    broker = cluster_state.parse_broker(2, raw)
    assert (broker["host"], broker["port"], broker["rack"]) == ("kafka2.example", 9093, None)


@pytest.mark.parametrize("raw, expected", [
    (None, None),
    (b'{"version":1,"brokerid":3,"timestamp":"1"}', 3),
])
def test_parse_controller(raw, expected):
    assert cluster_state.parse_controller(raw) == expected


def test_parse_assignment_and_state():
    assignment = cluster_state.parse_assignment("t", b'{"version":2,"partitions":{"1":[2,3],"0":[1,2]}}')
    assert assignment == {0: [1, 2], 1: [2, 3]}
    assert cluster_state.parse_partition_state(b'{"leader":2,"isr":[2,3],"leader_epoch":7}') == state(2, [2, 3], 7)
    assert cluster_state.parse_partition_state(None) == dict(leader=-1, isr=[], leader_epoch=None)


@pytest.mark.parametrize("raw, default, expected", [
    (None, 1, 1),
    (None, 2, 2),
    (b'{"version":1,"config":{}}', 2, 2),
    (b'{"version":1,"config":{"min.insync.replicas":"3"}}', 1, 3),
])
def test_min_insync_replicas_override_or_default(raw, default, expected):
    assert cluster_state.parse_min_insync_replicas(raw, default) == expected


@pytest.mark.parametrize("raw", [b"not json", b"[1,2]", b"\xff\xfe", b"", b'{"partitions":{}} x', b'{"a":1}{"b":2}',
                                 b"\xef\xbb\xbf{}", b'"{}"'])
def test_garbage_znode_is_one_line_error(raw):
    with pytest.raises(cluster_state.ClusterDataError, match="/brokers/topics/t"):
        cluster_state.parse_assignment("t", raw)


@pytest.mark.parametrize("raw", [
    b'{"leader":2,"isr":[2,3],"leader_epoch":7}',
    b'  {"leader": 2, "isr": [2, 3], "leader_epoch": 7}\n',  # whitespace around it: json.loads' way
    b'{"leader":2,"isr":[2,3],"leader_epoch":7,"leader_recovery_state":0,"extra":{"nested":[1,{"x":null}]}}',
])
def test_state_parsing_equals_json_loads(raw):
    assert cluster_state.parse_partition_state(raw) == state(2, [2, 3], 7)
    assert cluster_state._json(raw, "p") == json.loads(raw)  # pylint: disable=protected-access


@pytest.mark.parametrize("leader, isr, live, flags", [
    (1, [1, 2, 3], {1, 2, 3}, dict(under_replicated=False, at_min_isr=False, below_min_isr=False, offline=False)),
    (1, [1, 2], {1, 2, 3}, dict(under_replicated=True, at_min_isr=True, below_min_isr=False, offline=False)),
    (1, [1], {1, 2, 3}, dict(under_replicated=True, at_min_isr=False, below_min_isr=True, offline=False)),
    (-1, [3], {1, 2}, dict(under_replicated=True, at_min_isr=False, below_min_isr=True, offline=True)),
    (3, [3, 1, 2], {1, 2}, dict(under_replicated=False, at_min_isr=False, below_min_isr=False, offline=True)),
])
def test_judge_partition(leader, isr, live, flags):
    judged = cluster_state.judge_partition("t", 0, [1, 2, 3], state(leader, isr), 2, live)
    assert {key: judged[key] for key in flags} == flags
    assert judged["leader"] == (leader if leader >= 0 else None)


def test_would_fall_below_min_isr_simulates_stops():
    partitions = [
        cluster_state.judge_partition("t", 0, [1, 2, 3], state(1, [1, 2, 3]), 2, {1, 2, 3}),
        cluster_state.judge_partition("t", 1, [1, 2, 3], state(1, [1, 2]), 2, {1, 2, 3}),
    ]
    assert cluster_state.would_fall_below_min_isr(partitions, []) == []
    assert cluster_state.would_fall_below_min_isr(partitions, [3]) == []
    assert cluster_state.would_fall_below_min_isr(partitions, [2]) == [
        dict(topic="t", partition=1, isr_after=[1], min_insync_replicas=2)]
    assert len(cluster_state.would_fall_below_min_isr(partitions, [1, 2])) == 2


def test_summarise_counts_and_health():
    brokers = [dict(id=3), dict(id=1), dict(id=4, fenced=True)]
    partitions = [
        cluster_state.judge_partition("a", 0, [1, 3], state(1, [1, 3]), 1, {1, 3}),
        cluster_state.judge_partition("b", 0, [1, 3], state(3, [3]), 1, {1, 3}),
    ]
    result = cluster_state.summarise(brokers, 1, partitions, [3])
    # A fenced (KRaft) broker is registered but not live: the gates judge against the unfenced ones.
    assert result["broker_ids"] == [1, 3]
    assert result["fenced_broker_ids"] == [4]
    assert result["under_replicated_partitions"] == [dict(topic="b", partition=0)]
    assert result["summary"] == dict(brokers=2, fenced_brokers=1, controller_id=1, topics=2, partitions=2,
                                     under_replicated=1, offline=0, at_min_isr=1, below_min_isr=0)
    assert result["healthy"] is False
    assert result["would_fall_below_min_isr"] == [dict(topic="b", partition=0, isr_after=[], min_insync_replicas=1)]
    assert cluster_state.summarise(brokers, 1, partitions[:1])["healthy"] is True


def test_state_parser_reuses_only_the_previous_reads_states():
    one, two = b'{"leader":1,"isr":[1,2],"leader_epoch":3}', b'{"leader":2,"isr":[2],"leader_epoch":4}'
    parser = StateParser()
    parser.start_read()
    first = parser.parse([one, None]) + parser.parse([one])
    assert first == [state(1, [1, 2]), dict(leader=-1, isr=[], leader_epoch=None), state(1, [1, 2])]
    assert first[0] is not first[2], "within one read nothing is reused"
    parser.start_read()
    second = parser.parse([one, two])
    assert second[0] is first[2] and second == [state(1, [1, 2]), state(2, [2], 4)]
    parser.start_read()
    parser.start_read()
    assert parser.parse([one])[0] is not second[0], "states older than the previous read are forgotten"
