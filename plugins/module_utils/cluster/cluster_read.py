# -*- coding: utf-8 -*-
# Copyright: contributors to kafka_ops.remediation
# Apache License 2.0 (see LICENSE)
"""One batched read of the cluster from ZooKeeper: brokers, controller, and every partition judged.

Shared by cluster_info (which reports it) and broker_wait (which polls it until its gates pass).
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import cluster_state


def registered_broker_ids(zk) -> list[int]:
    """Ids under /brokers/ids: the cheapest read, for waits that only care about registration."""
    names = zk.list_children(["/brokers/ids"])[0] or []
    return sorted(int(name) for name in names if name.isdigit())


def read_cluster(zk, topics: Optional[Iterable[str]] = None, default_min_insync_replicas: int = 1,
                 simulate_stopped_brokers: Iterable[int] = ()) -> dict[str, Any]:
    """cluster_state.summarise(...) plus brokers and partitions; raises ClusterDataError on foreign data."""
    brokers, controller_id, partitions = read_brokers_and_partitions(zk, topics, default_min_insync_replicas)
    result = cluster_state.summarise(brokers, controller_id, partitions, simulate_stopped_brokers)
    result.update(brokers=brokers, partitions=partitions)
    return result


def read_brokers_and_partitions(zk, topics: Optional[Iterable[str]] = None, default_min_insync_replicas: int = 1
                                ) -> tuple[list[dict[str, Any]], Optional[int], list[dict[str, Any]]]:
    """(registered brokers, controller id or None, every wanted partition judged) in three batched reads."""
    broker_names, topic_names = zk.list_children(["/brokers/ids", "/brokers/topics"])
    if topic_names is None:
        raise cluster_state.ClusterDataError(
            f"no /brokers/topics under chroot '{zk.chroot or '/'}': is zk_chroot Kafka's chroot?")
    broker_ids = sorted(int(name) for name in (broker_names or []) if name.isdigit())
    wanted = list(topics or []) or topic_names
    unknown = sorted(set(wanted) - set(topic_names))
    if unknown:
        raise cluster_state.ClusterDataError(f"unknown topic(s) {', '.join(unknown)}: not under /brokers/topics")
    wanted = sorted(set(wanted))

    paths = [f"/brokers/ids/{broker_id}" for broker_id in broker_ids] + ["/controller"]
    paths += [f"/brokers/topics/{topic}" for topic in wanted] + [f"/config/topics/{topic}" for topic in wanted]
    nodes = iter(zk.read_data(paths))
    brokers = [cluster_state.parse_broker(broker_id, raw)
               for broker_id, raw in zip(broker_ids, nodes) if raw is not None]
    controller_id = cluster_state.parse_controller(next(nodes))
    assignments = [next(nodes) for _topic in wanted]
    configs = [next(nodes) for _topic in wanted]

    layout = []
    for topic, assignment, config in zip(wanted, assignments, configs):
        if assignment is None:
            continue  # deleted between listing and reading
        min_isr = cluster_state.parse_min_insync_replicas(config, default_min_insync_replicas)
        for partition, replicas in sorted(cluster_state.parse_assignment(topic, assignment).items()):
            layout.append((topic, partition, replicas, min_isr))
    # Each batch of states is parsed as it arrives, while ZooKeeper still answers the next ones.
    states = zk.read_data([f"/brokers/topics/{t}/partitions/{p}/state" for t, p, _replicas, _min_isr in layout],
                          parse_partition_states)
    live = {broker["id"] for broker in brokers}
    partitions = [
        cluster_state.judge_partition(topic, partition, replicas, state, min_isr, live)
        for (topic, partition, replicas, min_isr), state in zip(layout, states)
    ]
    return brokers, controller_id, partitions


def parse_partition_states(raws: list[Optional[bytes]]) -> list[dict[str, Any]]:
    """cluster_state.parse_partition_state of each state node's data (None: no node)."""
    parse = cluster_state.parse_partition_state
    return [parse(raw) for raw in raws]
