# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One cluster-metadata interface, two backends: ZooKeeper (ZooKeeper-mode clusters) and the Admin API (KRaft).

cluster_info, broker_wait and the triage ask only ClusterMetadata: registered_brokers(), quorum() and read().
open_metadata() picks the backend from the options: ZooKeeper when zk_hosts is set, the Admin API when only
kafka_bootstrap_servers is, and says in one line when the options and the cluster's mode disagree.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import (
    cluster_read, cluster_state, kraft_state, quorum_gates)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.kafka_client import (
    NO_CLUSTER_GIVEN, KafkaClientError, UnsupportedByBrokers, load_kafka)

ZOOKEEPER = "zookeeper"
KRAFT = "kraft"
# Partitions per DescribeTopicPartitions answer, Kafka's own limit; bigger clusters take more pages.
PARTITIONS_PER_PAGE = 2000


def metadata_argument_spec() -> dict[str, Any]:
    """Options of the modules that read cluster metadata; documented by the kafka_ops.remediation.metadata fragment."""
    return dict(quorum_fetch_timeout_ms=dict(type="int", default=quorum_gates.DEFAULT_FETCH_TIMEOUT_MS))


class MetadataSourceError(cluster_state.ClusterDataError):
    """The options name no metadata source, or the other metadata mode than the one the cluster runs in."""


class ClusterMetadata:
    """The interface both backends implement."""

    mode = ""

    def __init__(self, fetch_timeout_ms: int = quorum_gates.DEFAULT_FETCH_TIMEOUT_MS) -> None:
        self.fetch_timeout_ms = fetch_timeout_ms

    def registered_brokers(self) -> tuple[list[int], list[int]]:
        """(registered unfenced broker ids, fenced broker ids): the cheapest read, for registration waits."""
        raise NotImplementedError

    def quorum(self) -> Optional[dict[str, Any]]:
        """kraft_state.parse_quorum's shape; None in ZooKeeper mode."""
        raise NotImplementedError

    def read_brokers_and_partitions(self, topics: Optional[Iterable[str]], default_min_insync_replicas: int
                                    ) -> tuple[list[dict[str, Any]], Optional[int], list[dict[str, Any]]]:
        """(brokers, controller id or None, judged partitions) for the topics (None: all)."""
        raise NotImplementedError

    def read(self, topics: Optional[Iterable[str]] = None, default_min_insync_replicas: int = 1,
             simulate_stopped_brokers: Iterable[int] = (),
             simulate_stopped_controllers: Iterable[int] = ()) -> dict[str, Any]:
        """Everything cluster_info returns (apart from changed); raises ClusterDataError on foreign data."""
        quorum = self.quorum()
        if quorum is not None and quorum["leader_id"] is None:
            voters = [voter["node_id"] for voter in quorum["voters"]]
            raise cluster_state.ClusterDataError(
                f"the KRaft controller quorum has no leader (leader_id -1, voters {voters}): no controller is active, "
                "so the brokers' metadata may be stale; start a majority of the controllers")
        brokers, controller_id, partitions = self.read_brokers_and_partitions(topics, default_min_insync_replicas)
        if quorum is not None:
            controller_id = quorum["leader_id"]
        result = cluster_state.summarise(brokers, controller_id, partitions, simulate_stopped_brokers)
        check = None if quorum is None else quorum_gates.can_stop_controllers(
            quorum, simulate_stopped_controllers, self.fetch_timeout_ms)
        result.update(brokers=brokers, partitions=partitions, metadata_mode=self.mode, quorum=quorum,
                      quorum_stop_check=check, quorum_would_lose_majority=bool(check and not check["ok"]))
        result["summary"]["metadata_mode"] = self.mode
        return result


class ZooKeeperMetadata(ClusterMetadata):
    """A ZooKeeper-mode cluster, read in batches from Kafka's znodes (cluster_read)."""

    mode = ZOOKEEPER

    def __init__(self, zk, fetch_timeout_ms: int = quorum_gates.DEFAULT_FETCH_TIMEOUT_MS) -> None:
        super().__init__(fetch_timeout_ms)
        self.zk = zk
        # Kept between the reads of one module call (broker_wait's polls): unchanged states are not parsed again.
        self.states = cluster_read.StateParser()

    def registered_brokers(self) -> tuple[list[int], list[int]]:
        return cluster_read.registered_broker_ids(self.zk), []

    def quorum(self) -> Optional[dict[str, Any]]:
        return None

    def read_brokers_and_partitions(self, topics, default_min_insync_replicas):
        return cluster_read.read_brokers_and_partitions(self.zk, topics, default_min_insync_replicas, self.states)


class KraftMetadata(ClusterMetadata):
    """A KRaft cluster through kafka-python 3.x's Admin API, over the collection's one broker client.

    The active controller is DescribeQuorum's leader: in KRaft a broker's DescribeCluster names a random broker
    as controller.
    """

    mode = KRAFT

    def __init__(self, kafka, security_protocol: str = "PLAINTEXT",
                 fetch_timeout_ms: int = quorum_gates.DEFAULT_FETCH_TIMEOUT_MS) -> None:
        super().__init__(fetch_timeout_ms)
        self.kafka = kafka
        self.security_protocol = security_protocol
        # None until asked: whether the brokers answer DescribeTopicPartitions (KRaft brokers 3.7 and later).
        self.describes_partitions: Optional[bool] = None

    def quorum(self) -> Optional[dict[str, Any]]:
        try:
            answer = self.kafka.admin_call("the quorum description (DescribeQuorum)", "describe_metadata_quorum")
        except UnsupportedByBrokers:
            raise MetadataSourceError(
                "the brokers run in ZooKeeper mode (they do not answer DescribeQuorum, which only KRaft brokers do): "
                "set kafka_zk_hosts (zk_hosts, and zk_chroot) to Kafka's ZooKeeper")
        return kraft_state.parse_quorum(answer, self.fetch_timeout_ms)

    def brokers(self) -> list[dict[str, Any]]:
        answer = self.kafka.admin_call("the cluster description (DescribeCluster)", "describe_cluster")
        return kraft_state.parse_brokers(answer or {}, self.security_protocol)

    def registered_brokers(self) -> tuple[list[int], list[int]]:
        brokers = self.brokers()
        return ([b["id"] for b in brokers if not b["fenced"]], [b["id"] for b in brokers if b["fenced"]])

    def partition_states(self, topics: Optional[list[str]]) -> dict[str, dict[int, dict[str, Any]]]:
        """DescribeTopicPartitions page by page (with ELR) where the brokers have it, else one Metadata request."""
        if self.describes_partitions is not False:
            try:
                return self._paged_partition_states(topics)
            except UnsupportedByBrokers:
                self.describes_partitions = False
        found = self.kafka.admin_call("the topic metadata request", "describe_topics", topics)
        return kraft_state.parse_topics(found or [], with_elr=False)

    def _paged_partition_states(self, topics: Optional[list[str]]) -> dict[str, dict[int, dict[str, Any]]]:
        states: dict[str, dict[int, dict[str, Any]]] = {}
        cursor = None
        while True:
            # An empty topic list describes every topic.
            answer = self.kafka.admin_call("the partition description (DescribeTopicPartitions)",
                                           "describe_topic_partitions", topics or [],
                                           response_partition_limit=PARTITIONS_PER_PAGE, cursor=cursor)
            self.describes_partitions = True
            for topic, held in kraft_state.parse_topics(answer.get("topics") or [], with_elr=True).items():
                states.setdefault(topic, {}).update(held)
            cursor = answer.get("next_cursor")
            if cursor is None:
                return states

    def min_insync_replicas(self, topics: list[str], default: int) -> dict[str, int]:
        """One DescribeConfigs for every topic's min.insync.replicas."""
        if not topics:
            return {}
        admin = load_kafka().admin
        resources = [admin.ConfigResource(admin.ConfigResourceType.TOPIC, topic, ["min.insync.replicas"])
                     for topic in topics]
        described = self.kafka.admin_call("the topic config description (DescribeConfigs)", "describe_configs",
                                          resources, config_filter="all")
        return kraft_state.parse_min_insync_replicas(described, topics, default)

    def read_brokers_and_partitions(self, topics, default_min_insync_replicas):
        wanted = sorted(set(topics or []))
        brokers = self.brokers()
        states = self.partition_states(wanted or None)
        unknown = sorted(set(wanted) - set(states))
        if unknown:
            raise cluster_state.ClusterDataError(f"unknown topic(s) {', '.join(unknown)}: the brokers do not know them")
        min_isr = self.min_insync_replicas(sorted(states), default_min_insync_replicas)
        live = {b["id"] for b in brokers if not b["fenced"]}
        return brokers, None, kraft_state.judge_partitions(states, min_isr, live)


def _kraft_mismatch(runner, chroot: str) -> Optional[str]:
    """The one line for zk_hosts pointing at a ZooKeeper without Kafka while the brokers answer as KRaft."""
    try:
        KraftMetadata(runner.kafka()).quorum()
    except (KafkaClientError, cluster_state.ClusterDataError):
        return None
    return (f"the cluster runs in KRaft mode: the ZooKeeper at zk_hosts holds no Kafka brokers or topics under "
            f"chroot '{chroot or '/'}' while the brokers answer as a KRaft quorum; remove kafka_zk_hosts (zk_hosts) "
            "and set kafka_bootstrap_servers")


def open_metadata(runner, fetch_timeout_ms: int = quorum_gates.DEFAULT_FETCH_TIMEOUT_MS) -> ClusterMetadata:
    """The backend the options ask for (runner: connection.module_runner.ModuleRunner)."""
    params = runner.params
    if params.get("zk_hosts"):
        zk = runner.zookeeper()
        broker_ids, topic_names = zk.list_children(["/brokers/ids", "/brokers/topics"])
        if not broker_ids and not topic_names:
            # A ZooKeeper-mode cluster that ever ran has /brokers/topics, even with every broker stopped.
            mismatch = _kraft_mismatch(runner, zk.chroot) if params.get("kafka_bootstrap_servers") else None
            if mismatch:
                raise MetadataSourceError(mismatch)
            if topic_names is None:
                raise MetadataSourceError(
                    f"no /brokers/topics under chroot '{zk.chroot or '/'}': is zk_chroot Kafka's chroot? A KRaft "
                    "cluster keeps nothing in ZooKeeper: for one, remove kafka_zk_hosts (zk_hosts) and set "
                    "kafka_bootstrap_servers")
        return ZooKeeperMetadata(zk, fetch_timeout_ms)
    if params.get("kafka_bootstrap_servers"):
        return KraftMetadata(runner.kafka(), params.get("kafka_security_protocol") or "PLAINTEXT", fetch_timeout_ms)
    raise MetadataSourceError(NO_CLUSTER_GIVEN)
