# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

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


def read_brokers_and_partitions(zk, topics: Optional[Iterable[str]] = None, default_min_insync_replicas: int = 1,
                                states: Optional[StateParser] = None
                                ) -> tuple[list[dict[str, Any]], Optional[int], list[dict[str, Any]]]:
    """(registered brokers, controller id or None, every wanted partition judged) in three batched reads.

    states: the StateParser of the previous read of the same wait, so that unchanged states are not parsed again.
    """
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
    parser = states or StateParser()
    parser.start_read()
    parsed = zk.read_data([f"/brokers/topics/{t}/partitions/{p}/state" for t, p, _replicas, _min_isr in layout],
                          parser.parse)
    live = {broker["id"] for broker in brokers}
    partitions = [
        cluster_state.judge_partition(topic, partition, replicas, state, min_isr, live)
        for (topic, partition, replicas, min_isr), state in zip(layout, parsed)
    ]
    return brokers, controller_id, partitions


class StateParser:
    """cluster_state.parse_partition_state for batches of state nodes' data (None: no node), remembering the
    previous read's answers by their exact bytes.

    A wait polls the same states again and again, and most do not change between two polls: bytes equal to a
    previous read's parse to the same state, so only changed states are parsed again, and every poll still sees
    every change. Only the previous read is kept. The parsed states are shared between reads: nothing may
    change them.
    """

    def __init__(self) -> None:
        self.previous: dict[bytes, dict[str, Any]] = {}
        self.current: dict[bytes, dict[str, Any]] = {}

    def start_read(self) -> None:
        self.previous, self.current = self.current, {}

    def parse(self, raws: list[Optional[bytes]]) -> list[dict[str, Any]]:
        previous, current, parse = self.previous, self.current, cluster_state.parse_partition_state
        states = []
        for raw in raws:
            if raw is None:
                states.append(parse(None))
                continue
            state = previous.get(raw)
            if state is None:
                state = parse(raw)
            current[raw] = state
            states.append(state)
        return states
