# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure computations for cluster_info: parse Kafka's ZooKeeper JSON and judge partition health."""

from __future__ import annotations

import json
from typing import Any, Iterable, Optional


class ClusterDataError(Exception):
    """A Kafka znode that does not hold what Kafka writes there."""


# json.loads' own scanner without its per-call wrapper: a cluster read parses one small object per partition,
# where the wrapper costs more than the parsing.
_SCAN_JSON = json.JSONDecoder().scan_once


def _json(raw: bytes, path: str) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
        value, end = _SCAN_JSON(text, 0)
    except (UnicodeDecodeError, ValueError, StopIteration):
        pass
    else:
        if end == len(text) and isinstance(value, dict):
            return value
    # Anything else takes json.loads' way, which accepts surrounding whitespace and phrases the error.
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ClusterDataError(f"{path} does not hold JSON: {raw[:80]!r}")
    if not isinstance(value, dict):
        raise ClusterDataError(f"{path} does not hold a JSON object: {raw[:80]!r}")
    return value


def parse_broker(broker_id: int, raw: bytes) -> dict[str, Any]:
    """/brokers/ids/<id> -> {id, host, port, endpoints, rack, fenced}; ZooKeeper mode fences nobody."""
    info = _json(raw, f"/brokers/ids/{broker_id}")
    host = info.get("host")
    port = info.get("port")
    endpoints = list(info.get("endpoints") or [])
    if (not host or port in (None, -1)) and endpoints:
        # Brokers whose first listener is not PLAINTEXT register host null and port -1; use the first endpoint.
        address = endpoints[0].partition("://")[2]
        host, port_text = address.rsplit(":", 1) if ":" in address else (address, "")
        port = int(port_text) if port_text.isdigit() else port
    return dict(id=broker_id, host=host, port=port, endpoints=endpoints, rack=info.get("rack"), fenced=False)


def parse_controller(raw: Optional[bytes]) -> Optional[int]:
    """/controller -> broker id, or None when no controller is elected."""
    if raw is None:
        return None
    value = _json(raw, "/controller").get("brokerid")
    return int(value) if value is not None else None


def parse_assignment(topic: str, raw: bytes) -> dict[int, list[int]]:
    """/brokers/topics/<t> -> {partition: replicas}."""
    partitions = _json(raw, f"/brokers/topics/{topic}").get("partitions") or {}
    return {int(partition): [int(b) for b in replicas] for partition, replicas in partitions.items()}


def parse_partition_state(raw: Optional[bytes]) -> dict[str, Any]:
    """/brokers/topics/<t>/partitions/<p>/state -> {leader, isr, leader_epoch}; a missing node means offline."""
    if raw is None:
        return dict(leader=-1, isr=[], leader_epoch=None)
    state = _json(raw, "partition state")
    return dict(
        leader=int(state.get("leader", -1)),
        isr=[int(b) for b in state.get("isr") or []],
        leader_epoch=state.get("leader_epoch"),
    )


def parse_min_insync_replicas(raw: Optional[bytes], default: int) -> int:
    """/config/topics/<t> -> the topic's min.insync.replicas, else default."""
    if raw is None:
        return default
    value = (_json(raw, "topic config").get("config") or {}).get("min.insync.replicas")
    return int(value) if value is not None else default


def judge_partition(topic: str, partition: int, replicas: list[int], state: dict[str, Any], min_isr: int,
                    live_brokers: set[int]) -> dict[str, Any]:
    """One partition's health, in the shape cluster_info returns.

    eligible_leader_replicas (KIP-966) is a list where the brokers report it, None where they cannot (ZooKeeper
    mode, or the Metadata API).
    """
    leader = state["leader"]
    isr = state["isr"]
    offline = leader < 0 or leader not in live_brokers
    return dict(
        topic=topic,
        partition=partition,
        replicas=replicas,
        leader=leader if leader >= 0 else None,
        isr=isr,
        leader_epoch=state["leader_epoch"],
        eligible_leader_replicas=state.get("eligible_leader_replicas"),
        min_insync_replicas=min_isr,
        under_replicated=len(isr) < len(replicas),
        at_min_isr=len(isr) == min_isr,
        below_min_isr=len(isr) < min_isr,
        offline=offline,
    )


def would_fall_below_min_isr(partitions: Iterable[dict[str, Any]], stopped: Iterable[int]) -> list[dict[str, Any]]:
    """Partitions whose ISR would shrink below min.insync.replicas if the given brokers stopped."""
    stopped_ids = set(stopped)
    if not stopped_ids:
        return []
    found = []
    for item in partitions:
        isr_after = [broker for broker in item["isr"] if broker not in stopped_ids]
        if len(isr_after) < item["min_insync_replicas"]:
            found.append(dict(topic=item["topic"], partition=item["partition"], isr_after=isr_after,
                              min_insync_replicas=item["min_insync_replicas"]))
    return found


def summarise(brokers: list[dict[str, Any]], controller_id: Optional[int], partitions: list[dict[str, Any]],
              stopped: Iterable[int] = ()) -> dict[str, Any]:
    """Everything cluster_info returns apart from brokers/partitions themselves.

    broker_ids are the registered brokers that are not fenced (KRaft), the live set every gate judges against;
    fenced_broker_ids the others.
    """
    def names(flag: str) -> list[dict[str, Any]]:
        return [dict(topic=p["topic"], partition=p["partition"]) for p in partitions if p[flag]]

    under = names("under_replicated")
    offline = names("offline")
    at_min = names("at_min_isr")
    below_min = names("below_min_isr")
    live = sorted(b["id"] for b in brokers if not b.get("fenced"))
    fenced = sorted(b["id"] for b in brokers if b.get("fenced"))
    return dict(
        broker_ids=live,
        fenced_broker_ids=fenced,
        controller_id=controller_id,
        under_replicated_partitions=under,
        offline_partitions=offline,
        at_min_isr_partitions=at_min,
        below_min_isr_partitions=below_min,
        would_fall_below_min_isr=would_fall_below_min_isr(partitions, stopped),
        summary=dict(
            brokers=len(live),
            fenced_brokers=len(fenced),
            controller_id=controller_id,
            topics=len({p["topic"] for p in partitions}),
            partitions=len(partitions),
            under_replicated=len(under),
            offline=len(offline),
            at_min_isr=len(at_min),
            below_min_isr=len(below_min),
        ),
        healthy=not under and not offline,
    )


START_GATES = ("leader", "in_sync", "all")


def unready_partitions(partitions: Iterable[dict[str, Any]], live_broker_ids: Iterable[Any],
                       gate: str = "all") -> list[dict[str, Any]]:
    """Partitions that fail a broker-start gate, judged against the brokers registered now.

    While brokers come back one by one after a full stop, "every partition has a leader and none is
    under-replicated" cannot hold until the last one is up, so each partition is judged against the live set:
    ``leader``: a partition with a live in-sync replica must have a live leader (one whose in-sync replicas are
    all down cannot get one until one of them returns, short of an unclean election);
    ``in_sync``: a partition whose replicas are all live must have all of them in sync.
    Once every broker is back this equals the plain cluster health.
    """
    if gate not in START_GATES:
        raise ValueError(f"gate {gate!r} is unknown: use one of {', '.join(START_GATES)}")
    live = {int(value) for value in live_broker_ids or []}
    unready = []
    for partition in partitions:
        replicas = {int(b) for b in partition.get("replicas") or []}
        isr = {int(b) for b in partition.get("isr") or []}
        leader = partition.get("leader")
        if gate in ("leader", "all") and isr & live and not (leader is not None and int(leader) in live):
            reason = "no leader" if leader in (None, -1) else f"leader {leader} is not registered"
            unready.append(dict(topic=partition["topic"], partition=partition["partition"], reason=reason))
        elif gate in ("in_sync", "all") and replicas and replicas <= live and not replicas <= isr:
            unready.append(dict(topic=partition["topic"], partition=partition["partition"],
                                reason=f"replicas {sorted(replicas - isr)} not in sync"))
    return unready
