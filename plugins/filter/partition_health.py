# -*- coding: utf-8 -*-
# Copyright: contributors to kafka_ops.remediation
# Apache License 2.0 (see LICENSE)
"""The ``unready_partitions`` filter: the health gates of a broker start, given which brokers are up.

While brokers come back one by one after a full stop, "every partition has a leader and none is
under-replicated" cannot hold until the last one is up. These gates judge each partition against the
brokers that are registered now, so the same gate works after every single start and equals the plain
cluster health once every broker is back.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

GATES = ("leader", "in_sync", "all")


def _broker_ids(values: Any) -> set[int]:
    return {int(value) for value in values or []}


def unready_partitions(partitions: Any, live_broker_ids: Any, gate: str = "all") -> list[dict]:
    """Partitions that fail ``gate`` given the brokers in ``live_broker_ids``.

    ``leader``: a partition with a live in-sync replica must have a live leader (a partition whose
    in-sync replicas are all down cannot get one until one of them returns, without unclean election).
    ``in_sync``: a partition whose replicas are all live must have all of them in sync.
    """
    if gate not in GATES:
        raise AnsibleFilterError(f"unready_partitions gate {gate!r} is unknown: use one of {', '.join(GATES)}")
    if not isinstance(partitions, list):
        raise AnsibleFilterError("unready_partitions expects the partitions list returned by cluster_info")
    live = _broker_ids(live_broker_ids)
    unready = []
    for partition in partitions:
        replicas = _broker_ids(partition.get("replicas"))
        isr = _broker_ids(partition.get("isr"))
        leader = partition.get("leader")
        leader_is_live = leader is not None and int(leader) in live
        if gate in ("leader", "all") and isr & live and not leader_is_live:
            reason = "no leader" if leader in (None, -1) else f"leader {leader} is not registered"
            unready.append({"topic": partition["topic"], "partition": partition["partition"], "reason": reason})
        elif gate in ("in_sync", "all") and replicas and replicas <= live and not replicas <= isr:
            missing = sorted(replicas - isr)
            unready.append(
                {
                    "topic": partition["topic"],
                    "partition": partition["partition"],
                    "reason": f"replicas {missing} not in sync",
                }
            )
    return unready


class FilterModule:
    """Broker start health gates."""

    def filters(self) -> dict:
        return {"unready_partitions": unready_partitions}
