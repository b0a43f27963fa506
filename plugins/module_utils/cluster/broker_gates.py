# -*- coding: utf-8 -*-
# Copyright: contributors to kafka_ops.remediation
# Apache License 2.0 (see LICENSE)
"""The waits around a broker stop and start, as stages polled in order, each bounded by its own timeout.

One module call walks every stage with one ZooKeeper session and sub-second polls, instead of one task
(and one module start-up) per gate and per retry. The stages run on the collection's one waiter
(module_utils/cluster/waiter.py).
"""

from __future__ import annotations

import socket
from typing import Any, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import cluster_read, cluster_state
from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster.waiter import Stage

SHOWN_UNREADY = 10


def port_open(host: str, port: int, timeout: float) -> bool:
    """A TCP connect succeeds: a broker binds its listener before it registers and keeps it until it stops."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def describe(unready: list[dict[str, Any]]) -> str:
    shown = ", ".join(f"{p['topic']}/{p['partition']} ({p['reason']})" for p in unready[:SHOWN_UNREADY])
    more = f" (and {len(unready) - SHOWN_UNREADY} more)" if len(unready) > SHOWN_UNREADY else ""
    return shown + more


class BrokerGates:
    """Builds the stages for one broker; remembers the last full cluster read for the result."""

    def __init__(self, zk, broker_id: int, host: Optional[str], port: int, connect_timeout: float) -> None:
        self.zk = zk
        self.broker_id = broker_id
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.last_read: Optional[dict[str, Any]] = None
        self.broker_ids: list[int] = []

    def _registered(self) -> bool:
        self.broker_ids = cluster_read.registered_broker_ids(self.zk)
        return self.broker_id in self.broker_ids

    def _unready(self, gate: str) -> list[dict[str, Any]]:
        self.last_read = cluster_read.read_cluster(self.zk)
        self.broker_ids = self.last_read["broker_ids"]
        return cluster_state.unready_partitions(self.last_read["partitions"], self.broker_ids, gate)

    def _port(self) -> bool:
        return port_open(self.host, self.port, self.connect_timeout)

    def serving(self, timeouts: dict[str, float]) -> list[Stage]:
        """Port open, registered, a live leader wherever a live in-sync replica exists, in sync where all are up."""
        who = f"broker {self.broker_id}"
        stages = []
        if self.host:
            stages.append(Stage("port", timeouts["port"], lambda: (self._port(), []),
                                lambda _u: f"{who} did not open {self.host}:{self.port} within {timeouts['port']:g} s"))
        stages.append(Stage(
            "registered", timeouts["registration"], lambda: (self._registered(), []),
            lambda _u: (f"{who} did not register in ZooKeeper (/brokers/ids/{self.broker_id}) within "
                        f"{timeouts['registration']:g} s; registered now: {self.broker_ids}")))
        for gate, name, what, key in (("leader", "leaders", "without a live leader", "leader"),
                                      ("in_sync", "in_sync", "not fully in sync", "in_sync")):
            stages.append(Stage(
                name, timeouts[key], lambda gate=gate: self._check(gate),
                lambda unready, what=what, key=key: (
                    f"{len(unready)} partition(s) still {what} after {timeouts[key]:g} s ({who} is registered): "
                    f"{describe(unready)}")))
        return stages

    def absent(self, timeouts: dict[str, float]) -> list[Stage]:
        """Port closed (when a host is given) and /brokers/ids/<id> gone."""
        who = f"broker {self.broker_id}"
        stages = []
        if self.host:
            stages.append(Stage("port_closed", timeouts["port"], lambda: (not self._port(), []),
                                lambda _u: f"{who} still accepts connections on {self.host}:{self.port} after "
                                           f"{timeouts['port']:g} s"))
        stages.append(Stage(
            "unregistered", timeouts["registration"], lambda: (not self._registered(), []),
            lambda _u: (f"/brokers/ids/{self.broker_id} still exists after {timeouts['registration']:g} s: {who} "
                        "or an earlier ZooKeeper session of it is still registered")))
        return stages

    def _check(self, gate: str) -> tuple[bool, list[dict[str, Any]]]:
        unready = self._unready(gate)
        return not unready, unready
