# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure parsing of kafka-python 3.x's Admin API answers into cluster_info's shapes (KRaft, or any broker).

The answers are the plain dicts kafka-python returns: describe_cluster, describe_metadata_quorum,
describe_topic_partitions / describe_topics and describe_configs. Judging stays in cluster_state, so both
metadata backends judge partitions the same way.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import cluster_state, quorum_gates

METADATA_TOPIC = "__cluster_metadata"
# A topic's min.insync.replicas from these sources was set by someone (on the topic, or the answering broker's
# dynamic or server.properties setting); DEFAULT_CONFIG is Kafka's built-in 1, where default_min_insync_replicas
# stands in, as it does in ZooKeeper mode for topics without an override.
SET_BY_OPERATOR = ("DYNAMIC_TOPIC_CONFIG", "DYNAMIC_BROKER_CONFIG", "DYNAMIC_DEFAULT_BROKER_CONFIG",
                   "STATIC_BROKER_CONFIG")


def parse_brokers(answer: dict[str, Any], security_protocol: str) -> list[dict[str, Any]]:
    """describe_cluster -> [{id, host, port, endpoints, rack, fenced}], by id.

    A broker lists only its host and port for the listener asked, so endpoints holds that one listener.
    Brokers before Kafka 4.0 (DescribeCluster v0-1) list only unfenced brokers and no is_fenced.
    """
    brokers = []
    for broker in answer.get("brokers") or []:
        host, port = broker.get("host"), broker.get("port")
        brokers.append(dict(id=int(broker["broker_id"]), host=host, port=port,
                            endpoints=[f"{security_protocol}://{host}:{port}"] if host else [],
                            rack=broker.get("rack"), fenced=bool(broker.get("is_fenced", False))))
    return sorted(brokers, key=lambda broker: broker["id"])


def _replica(state: dict[str, Any], leader_end: Optional[int], leader: Optional[dict[str, Any]],
             fetch_timeout_ms: int) -> dict[str, Any]:
    end = state.get("log_end_offset", -1)
    replica = dict(node_id=int(state["replica_id"]), log_end_offset=end,
                   lag=(leader_end - end) if leader_end is not None and end is not None and end >= 0 else None,
                   last_fetch_timestamp=state.get("last_fetch_timestamp", -1),
                   last_caught_up_timestamp=state.get("last_caught_up_timestamp", -1))
    replica["caught_up"] = quorum_gates.voter_caught_up(replica, leader, fetch_timeout_ms)
    return replica


def parse_quorum(answer: dict[str, Any], fetch_timeout_ms: int = quorum_gates.DEFAULT_FETCH_TIMEOUT_MS
                 ) -> dict[str, Any]:
    """describe_metadata_quorum -> {leader_id, leader_epoch, high_watermark, voters, observers}.

    leader_id is None when the quorum has no leader (-1). Each voter and observer: node_id, log_end_offset, lag
    (behind the leader's log end offset, as kafka-metadata-quorum's Lag), last_fetch_timestamp,
    last_caught_up_timestamp and caught_up (quorum_gates' rule; for an observer, a broker, only informative: it
    has no vote). Raises ClusterDataError when the answer carries
    a partition error or no metadata partition.
    """
    partitions = [partition for topic in answer.get("topics") or [] if topic.get("topic_name") == METADATA_TOPIC
                  for partition in topic.get("partitions") or []]
    if not partitions:
        raise cluster_state.ClusterDataError(f"the DescribeQuorum answer holds no {METADATA_TOPIC} partition")
    partition = partitions[0]
    if partition.get("error"):
        raise cluster_state.ClusterDataError(f"the controller quorum answered with an error: {partition['error']}")
    leader_id = partition.get("leader_id", -1)
    leader_id = None if leader_id is None or leader_id < 0 else int(leader_id)
    raw_voters = partition.get("current_voters") or []
    leader_raw = next((v for v in raw_voters if v["replica_id"] == leader_id), None)
    leader = None if leader_raw is None else dict(node_id=leader_id,
                                                  last_caught_up_timestamp=leader_raw.get("last_caught_up_timestamp", -1))
    leader_end = None if leader_raw is None else leader_raw.get("log_end_offset")
    return dict(
        leader_id=leader_id,
        leader_epoch=partition.get("leader_epoch"),
        high_watermark=partition.get("high_watermark"),
        voters=sorted((_replica(v, leader_end, leader, fetch_timeout_ms) for v in raw_voters),
                      key=lambda replica: replica["node_id"]),
        observers=sorted((_replica(v, leader_end, leader, fetch_timeout_ms) for v in partition.get("observers") or []),
                         key=lambda replica: replica["node_id"]),
    )


def parse_topics(found: Iterable[dict[str, Any]], with_elr: bool) -> dict[str, dict[int, dict[str, Any]]]:
    """describe_topic_partitions' or describe_topics' topics -> {topic: {partition: state}}; topics in error skipped.

    A state is {replicas, leader (-1 for none), isr, leader_epoch, eligible_leader_replicas}. With with_elr
    (DescribeTopicPartitions, where kafka-python turns an empty list into None) the ELR is a list, else None.
    """
    states: dict[str, dict[int, dict[str, Any]]] = {}
    for topic in found:
        if topic.get("error_code") or topic.get("name") is None:
            continue
        held = states.setdefault(topic["name"], {})
        for partition in topic.get("partitions") or []:
            leader = partition.get("leader_id")
            epoch = partition.get("leader_epoch")
            held[int(partition["partition_index"])] = dict(
                replicas=[int(b) for b in partition.get("replica_nodes") or []],
                leader=-1 if leader is None else int(leader),
                isr=[int(b) for b in partition.get("isr_nodes") or []],
                leader_epoch=None if epoch is None or epoch < 0 else epoch,
                eligible_leader_replicas=([int(b) for b in partition.get("eligible_leader_replicas") or []]
                                          if with_elr else None))
    return states


def parse_min_insync_replicas(described: dict[str, Any], topics: Iterable[str], default: int) -> dict[str, int]:
    """describe_configs' answer -> {topic: min.insync.replicas}; default where the cluster sets none."""
    held = (described or {}).get("topic") or {}
    result = {}
    for topic in topics:
        entry = (held.get(topic) or {}).get("min.insync.replicas") or {}
        value = entry.get("value")
        set_here = entry.get("config_source") in SET_BY_OPERATOR and value not in (None, "")
        result[topic] = int(value) if set_here else default
    return result


def judge_partitions(states: dict[str, dict[int, dict[str, Any]]], min_isr: dict[str, int],
                     live_brokers: set[int]) -> list[dict[str, Any]]:
    """Every partition judged by cluster_state.judge_partition, sorted by topic and partition."""
    return [cluster_state.judge_partition(topic, partition, state["replicas"], state, min_isr[topic], live_brokers)
            for topic in sorted(states) for partition, state in sorted(states[topic].items())]
