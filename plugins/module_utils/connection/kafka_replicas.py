# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Partition replicas through the Admin API: what the brokers and the controller say about replicas, ISR,
leaders, running reassignments, replica log sizes and topic and broker configs, and the three writes (a
reassignment, a preferred leader election and config changes). Every call goes through KafkaBrokers' one admin
client (kafka-python 3.x's own calls: describe_topics, list_partition_reassignments, describe_log_dirs,
describe_configs, alter_configs, alter_partition_reassignments, elect_leaders); answers come back as plain dicts
keyed by (topic, partition)."""

from __future__ import annotations

from typing import Any, Iterable, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.kafka_client import (
    KafkaBrokers, TopicPartition, load_kafka)

# The topic configs partition_info reports, by Kafka's names.
TOPIC_CONFIGS = ("min.insync.replicas", "unclean.leader.election.enable", "remote.storage.enable", "cleanup.policy")
PREFERRED_ELECTION = 0


def _by_topic(keys: Iterable[TopicPartition]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = {}
    for topic, partition in sorted(set(keys)):
        grouped.setdefault(topic, []).append(partition)
    return grouped


def keys_of(grouped: dict[str, list[int]]) -> list[TopicPartition]:
    return [(topic, partition) for topic, partitions in grouped.items() for partition in partitions]


class KafkaReplicas:
    """Replica questions and changes over a KafkaBrokers client; closing that client is its owner's business."""

    def __init__(self, brokers: KafkaBrokers) -> None:
        self.brokers = brokers
        self._kafka = load_kafka()

    def partition_states(self, topics: list[str]) -> dict[str, Optional[dict[int, dict[str, Any]]]]:
        """{topic: {partition: {replicas, isr, leader}}} from the brokers' metadata; None for an unknown topic.
        Replicas keep Kafka's order (the preferred leader first); a leader of -1 (none) is None."""
        if not topics:
            return {}
        found = self.brokers.admin_call("the topic metadata request", "describe_topics", sorted(set(topics)))
        states: dict[str, Optional[dict[int, dict[str, Any]]]] = {topic: None for topic in topics}
        for topic in found:
            if topic.get("error_code"):
                continue
            states[topic["name"]] = {
                p["partition_index"]: dict(replicas=list(p["replica_nodes"]), isr=list(p["isr_nodes"]),
                                           leader=None if p["leader_id"] is None or p["leader_id"] < 0
                                           else p["leader_id"])
                for p in topic.get("partitions") or []}
        return states

    def reassignments(self, keys: Iterable[TopicPartition]) -> dict[TopicPartition, dict[str, list[int]]]:
        """The running reassignments among keys, as the controller lists them: {replicas, adding, removing}."""
        wanted = _by_topic(keys)
        if not wanted:
            return {}
        found = self.brokers.admin_call("the reassignment listing (ListPartitionReassignments)",
                                        "list_partition_reassignments", wanted)
        return {(tp.topic, tp.partition): dict(replicas=list(state["replicas"]),
                                               adding=list(state["adding_replicas"]),
                                               removing=list(state["removing_replicas"]))
                for tp, state in found.items()}

    def live_brokers(self) -> set[int]:
        """Ids of the brokers the cluster has now (DescribeCluster), fenced KRaft brokers left out."""
        found = self.brokers.admin_call("the cluster description (DescribeCluster)", "describe_cluster")
        return {b["broker_id"] for b in (found or {}).get("brokers") or [] if not b.get("is_fenced")}

    def log_sizes(self, keys: Iterable[TopicPartition],
                  brokers: Iterable[int]) -> dict[TopicPartition, dict[int, int]]:
        """{key: {broker: bytes}} of each broker's current log of the partition (DescribeLogDirs, summed over its
        log dirs; a log being moved between a broker's dirs, a "future" log, is left out). A broker that holds
        no log of a partition is absent from its entry, and so is a broker that is not up: DescribeLogDirs goes
        to each broker itself, and asking one that is down would only wait for kafka_request_timeout."""
        wanted = _by_topic(keys)
        if not wanted or not set(brokers):
            return {}
        asked = sorted(set(brokers) & self.live_brokers())
        if not asked:
            return {}
        found = self.brokers.admin_call("the log directory description (DescribeLogDirs)", "describe_log_dirs",
                                        wanted, asked)
        sizes: dict[TopicPartition, dict[int, int]] = {}
        for answer in found:
            for log_dir in answer.get("log_dirs") or []:
                if log_dir.get("error_code"):
                    continue
                for topic in log_dir.get("topics") or []:
                    for partition in topic.get("partitions") or []:
                        if partition.get("is_future_key"):
                            continue
                        key = (topic["name"], partition["partition_index"])
                        held = sizes.setdefault(key, {})
                        held[answer["broker"]] = held.get(answer["broker"], 0) + partition["partition_size"]
        return sizes

    def topic_configs(self, topics: Iterable[str]) -> dict[str, dict[str, Optional[str]]]:
        """{topic: {config name: value}} for TOPIC_CONFIGS, with the brokers' defaults where a topic sets none."""
        names = sorted(set(topics))
        if not names:
            return {}
        admin = self._kafka.admin
        resources = [admin.ConfigResource(admin.ConfigResourceType.TOPIC, topic, list(TOPIC_CONFIGS))
                     for topic in names]
        found = self.brokers.admin_call("the topic config description (DescribeConfigs)", "describe_configs",
                                        resources, config_filter="all")
        described = (found or {}).get("topic", {})
        return {topic: {name: (described.get(topic, {}).get(name) or {}).get("value") for name in TOPIC_CONFIGS}
                for topic in names}

    def broker_configs(self, brokers: Iterable[int], names: Iterable[str]) -> dict[int, dict[str, dict[str, Any]]]:
        """{broker: {name: {value, source}}} of the configs named, as each broker describes them (DescribeConfigs
        goes to the broker itself); source is Kafka's, DYNAMIC_BROKER_CONFIG for a value set on that broker. A
        config with no value at all (a throttle rate never set) is absent."""
        asked = sorted(set(brokers))
        if not asked:
            return {}
        admin = self._kafka.admin
        resources = [admin.ConfigResource(admin.ConfigResourceType.BROKER, str(broker), list(names))
                     for broker in asked]
        found = self.brokers.admin_call("the broker config description (DescribeConfigs)", "describe_configs",
                                        resources, config_filter="all")
        described = (found or {}).get("broker", {})
        return {broker: {name: dict(value=entry.get("value"), source=entry.get("config_source"))
                         for name, entry in (described.get(str(broker)) or {}).items()}
                for broker in asked}

    def topic_overrides(self, topics: Iterable[str], names: Iterable[str]) -> dict[str, dict[str, Optional[str]]]:
        """{topic: {name: value}} of the configs named that are set on each topic itself; None for the others."""
        asked, wanted = sorted(set(topics)), list(names)
        if not asked:
            return {}
        admin = self._kafka.admin
        resources = [admin.ConfigResource(admin.ConfigResourceType.TOPIC, topic, wanted) for topic in asked]
        found = self.brokers.admin_call("the topic config description (DescribeConfigs)", "describe_configs",
                                        resources, config_filter="all")
        described = (found or {}).get("topic", {})
        overrides: dict[str, dict[str, Optional[str]]] = {}
        for topic in asked:
            held = described.get(topic) or {}
            overrides[topic] = {name: ((held.get(name) or {}).get("value")
                                       if (held.get(name) or {}).get("config_source") == "DYNAMIC_TOPIC_CONFIG"
                                       else None) for name in wanted}
        return overrides

    def alter_configs(self, brokers: dict[int, dict[str, Optional[str]]],
                      topics: dict[str, dict[str, Optional[str]]]) -> dict[str, str]:
        """One IncrementalAlterConfigs: each named config of each broker and topic set to its value, or deleted
        (None), every other config left as it is. Returns '<error>' per resource refused ('broker 1', 'topic
        orders'); kafka-python sends each broker's own configs to that broker."""
        admin = self._kafka.admin
        resources, labels = [], []
        for kind, changes in ((admin.ConfigResourceType.BROKER, brokers), (admin.ConfigResourceType.TOPIC, topics)):
            for name, configs in sorted(changes.items()):
                if not configs:
                    continue
                resources.append(admin.ConfigResource(kind, str(name), {
                    config: (admin.AlterConfigOp.DELETE, None) if value is None else (admin.AlterConfigOp.SET, value)
                    for config, value in configs.items()}))
                labels.append((kind.name.lower(), str(name)))
        if not resources:
            return {}
        answers = self.brokers.admin_call("the config change (IncrementalAlterConfigs)", "alter_configs", resources,
                                          raise_on_unknown=False, incremental=True)
        refused = {}
        for kind, name in labels:
            said = ((answers or {}).get(kind) or {}).get(name, "no answer")
            if said != "OK":
                refused[f"{kind} {name}"] = said
        return refused

    def reassign(self, targets: dict[TopicPartition, Optional[list[int]]]) -> dict[TopicPartition, str]:
        """One AlterPartitionReassignments for every partition: a replica list moves it, None cancels its running
        reassignment. Returns the error name of each partition the controller refused."""
        if not targets:
            return {}
        asked = {self._kafka.TopicPartition(*key): (None if replicas is None else [int(b) for b in replicas])
                 for key, replicas in targets.items()}
        answers = self.brokers.admin_call("the reassignment (AlterPartitionReassignments)",
                                          "alter_partition_reassignments", asked)
        said = {(tp.topic, tp.partition): error for tp, error in (answers or {}).items()}
        refused = {}
        for key in targets:
            if key not in said:
                refused[key] = "no answer"
            elif said[key] is not None:
                refused[key] = said[key].__name__
        return refused

    def elect_preferred(self, keys: Iterable[TopicPartition]) -> dict[TopicPartition, str]:
        """One ElectLeaders (preferred) for every partition; returns '<error name>: <message>' of each partition
        the controller refused. ElectionNotNeeded (the preferred replica leads already) is no refusal."""
        wanted = _by_topic(keys)
        if not wanted:
            return {}
        response = self.brokers.admin_call("the preferred leader election (ElectLeaders)", "elect_leaders",
                                           PREFERRED_ELECTION, wanted, raise_errors=False)
        errors = self._kafka.errors
        refused = {}
        top_level = getattr(response, "error_code", 0)
        if top_level and not response.replica_election_results:
            error = errors.for_code(top_level)
            return {key: f"{error.__name__}: {error.description}" for key in keys_of(wanted)}
        for result in response.replica_election_results:
            for partition in result.partition_result:
                code = partition.error_code or top_level
                error = errors.for_code(code)
                if code and error is not errors.ElectionNotNeededError:
                    refused[(result.topic, partition.partition_id)] = (
                        f"{error.__name__}: {partition.error_message or error.description}")
        return refused
