# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The waits around a broker or controller stop and start, as stages polled in order, each bounded by its own timeout.

One module call walks every stage with one metadata session and sub-second polls, instead of one task (and one
module start-up) per gate and per retry. The stages run on the collection's one waiter
(module_utils/cluster/waiter.py) and read the cluster only through metadata_backend's interface, so one set of
gates serves ZooKeeper-mode and KRaft clusters; the controller gates exist only in KRaft mode.
"""

from __future__ import annotations

import socket
from typing import Any, Callable, Iterable, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import cluster_state, quorum_gates
from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster.metadata_backend import (
    KRAFT, ClusterMetadata, MetadataSourceError)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster.waiter import Stage
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.kafka_client import KafkaClientError

SHOWN_UNREADY = 10
ROLES = ("broker", "controller", "combined")
# Said wherever a KRaft broker's stop may be slow: F21 of the design (KafkaBroker.shutdown's deadline).
CONTROLLED_SHUTDOWN = ("in KRaft the active controller must approve a broker's controlled shutdown, which the broker "
                       "waits for up to 5 minutes; check that the controller quorum has a leader (cluster_info)")


def port_open(host: str, port: int, timeout: float) -> bool:
    """A TCP connect succeeds: a broker binds its listener before it registers and keeps it until it stops."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def split_address(server: str) -> tuple[str, int]:
    """host:port (or [v6]:port) of a bootstrap server."""
    host, _sep, port = server.rpartition(":")
    return host.strip("[]"), int(port)


def describe(unready: list[dict[str, Any]]) -> str:
    shown = ", ".join(f"{p['topic']}/{p['partition']} ({p['reason']})" for p in unready[:SHOWN_UNREADY])
    more = f" (and {len(unready) - SHOWN_UNREADY} more)" if len(unready) > SHOWN_UNREADY else ""
    return shown + more


def controller_unready(quorum: Optional[dict[str, Any]], node_id: int, gate: str) -> Optional[str]:
    """Why node_id fails a controller gate ("voter", "quorum_leader", "caught_up", "not_leader"), None once it passes."""
    if quorum is None:
        return "the controller quorum could not be read"
    voters = {voter["node_id"]: voter for voter in quorum["voters"]}
    if gate == "not_leader":
        return f"leader epoch {quorum['leader_epoch']}" if quorum["leader_id"] == node_id else None
    if gate == "voter":
        return None if node_id in voters else f"not among the voters {sorted(voters)}"
    if gate == "quorum_leader":
        return None if quorum["leader_id"] is not None else f"no leader among the voters {sorted(voters)}"
    voter = voters.get(node_id)
    if voter is None:
        return f"not among the voters {sorted(voters)}"
    if voter["caught_up"]:
        return None
    leader = quorum_gates.leader_of(quorum)
    if leader is None:
        return "the quorum has no leader"
    return (f"last caught up at {voter['last_caught_up_timestamp']}, the leader {leader['node_id']} at "
            f"{leader['last_caught_up_timestamp']}; {voter['lag']} record(s) behind")


class BrokerGates:
    """Builds the stages for one node; remembers the last full cluster read and quorum for the result."""

    def __init__(self, metadata: ClusterMetadata, broker_id: int, host: Optional[str], port: int,
                 connect_timeout: float, controller_port: int = 9093, bootstrap_servers: Iterable[str] = ()) -> None:
        self.metadata = metadata
        self.kraft = metadata.mode == KRAFT
        self.broker_id = broker_id
        self.host = host
        self.port = port
        self.controller_port = controller_port
        self.connect_timeout = connect_timeout
        self.last_read: Optional[dict[str, Any]] = None
        self.last_quorum: Optional[dict[str, Any]] = None
        self.broker_ids: list[int] = []
        self.fenced_broker_ids: list[int] = []
        self.last_error: Optional[str] = None
        self.bootstrap = [split_address(server) for server in bootstrap_servers]
        # Gates passed without the cluster's word, because no broker was left to ask (see _nobody_to_ask).
        self.unverified: list[str] = []

    def _attempt(self, read: Callable[[], Any]) -> tuple[bool, Any]:
        """(True, answer), or in KRaft mode (False, None) with last_error set when the brokers cannot answer now:
        during restarts DescribeQuorum and friends fail for a while, which a wait rides out. ZooKeeper errors and a
        cluster in the other metadata mode end the wait at once."""
        try:
            answer = read()
        except MetadataSourceError:
            raise
        except (KafkaClientError, cluster_state.ClusterDataError) as error:
            if not self.kraft:
                raise
            self.last_error = str(error)
            return False, None
        self.last_error = None
        return True, answer

    def _nobody_to_ask(self, gate: str) -> bool:
        """On KRaft only brokers answer the Admin API (kafka-python cannot talk to a controller). When no broker
        listens, during a full stop after the last broker stopped and before the first starts again, a stop gate
        has nothing left to serve and a controller's start gate cannot be read: both pass on the port alone, and
        the brokers' own start gates prove the quorum later. Noted in ``unverified``."""
        if not self.kraft or not self.bootstrap:
            return False
        if any(port_open(host, port, self.connect_timeout) for host, port in self.bootstrap):
            return False
        if gate not in self.unverified:
            self.unverified.append(gate)
        return True

    def _seen_error(self) -> str:
        return f"; last error: {self.last_error}" if self.last_error else ""

    def _registered(self) -> bool:
        ok, answer = self._attempt(self.metadata.registered_brokers)
        if ok:
            self.broker_ids, self.fenced_broker_ids = answer
        return ok and self.broker_id in self.broker_ids

    def _check(self, gate: str) -> tuple[bool, list[dict[str, Any]]]:
        ok, answer = self._attempt(self.metadata.read)
        if not ok:
            return False, []
        self.last_read = answer
        self.last_quorum = answer["quorum"]
        self.broker_ids, self.fenced_broker_ids = answer["broker_ids"], answer["fenced_broker_ids"]
        unready = cluster_state.unready_partitions(answer["partitions"], self.broker_ids, gate)
        return not unready, unready

    def _quorum_gate(self, gate: str) -> tuple[bool, list[dict[str, Any]]]:
        if self._nobody_to_ask(gate):
            return True, []
        ok, quorum = self._attempt(self.metadata.quorum)
        if ok:
            self.last_quorum = quorum
        reason = controller_unready(quorum if ok else None, self.broker_id, gate)
        return reason is None, [] if reason is None else [dict(node_id=self.broker_id, reason=reason)]

    def _port(self, port: int) -> bool:
        return port_open(self.host, port, self.connect_timeout)

    def _port_stage(self, name: str, port: int, timeout: float, who: str, opening: bool, suffix: str = "") -> Stage:
        """The port gate of a start (the port opens) or of a stop (it closes), for a broker or a controller."""
        if opening:
            return Stage(name, timeout, lambda: (self._port(port), []),
                         lambda _u: f"{who} did not open {self.host}:{port} within {timeout:g} s")
        return Stage(name, timeout, lambda: (not self._port(port), []),
                     lambda _u: f"{who} still accepts connections on {self.host}:{port} after {timeout:g} s{suffix}")

    def serving(self, timeouts: dict[str, float], role: str = "broker") -> list[Stage]:
        """The start gates of the role: a combined node's controller gates first, as its broker needs the quorum."""
        stages = self._controller_serving(timeouts) if role in ("controller", "combined") else []
        return stages + (self._broker_serving(timeouts) if role in ("broker", "combined") else [])

    def absent(self, timeouts: dict[str, float], role: str = "broker") -> list[Stage]:
        """The stop gates of the role: a combined node stops its broker first, then its controller."""
        stages = self._broker_absent(timeouts) if role in ("broker", "combined") else []
        return stages + (self._controller_absent(timeouts) if role in ("controller", "combined") else [])

    def _broker_serving(self, timeouts: dict[str, float]) -> list[Stage]:
        """Port open, registered (and not fenced), a live leader wherever a live in-sync replica exists, in sync
        where all replicas are up."""
        who = f"broker {self.broker_id}"
        stages = []
        if self.host:
            stages.append(self._port_stage("port", self.port, timeouts["port"], who, opening=True))
        stages.append(Stage("registered", timeouts["registration"], lambda: (self._registered(), []),
                            lambda _u: self._not_registered(timeouts["registration"])))
        for gate, name, what, key in (("leader", "leaders", "without a live leader", "leader"),
                                      ("in_sync", "in_sync", "not fully in sync", "in_sync")):
            stages.append(Stage(
                name, timeouts[key], lambda gate=gate: self._check(gate),
                lambda unready, what=what, key=key: (
                    f"{len(unready)} partition(s) still {what} after {timeouts[key]:g} s ({who} is registered): "
                    f"{describe(unready)}{self._seen_error()}")))
        return stages

    def _broker_absent(self, timeouts: dict[str, float]) -> list[Stage]:
        """Port closed (when a host is given) and the broker gone from the registered (unfenced) brokers."""
        who = f"broker {self.broker_id}"
        slow = f" ({CONTROLLED_SHUTDOWN})" if self.kraft else ""
        stages = []
        if self.host:
            stages.append(self._port_stage("port_closed", self.port, timeouts["port"], who, opening=False, suffix=slow))
        stages.append(Stage("unregistered", timeouts["registration"], lambda: (self._gone(), []),
                            lambda _u: self._still_registered(timeouts["registration"])))
        return stages

    def _not_registered(self, timeout: float) -> str:
        if self.kraft:
            return (f"broker {self.broker_id} was not registered and unfenced (DescribeCluster) within {timeout:g} s; "
                    f"registered now: {self.broker_ids}, fenced: {self.fenced_broker_ids}{self._seen_error()}")
        return (f"broker {self.broker_id} did not register in ZooKeeper (/brokers/ids/{self.broker_id}) within "
                f"{timeout:g} s; registered now: {self.broker_ids}")

    def _still_registered(self, timeout: float) -> str:
        if self.kraft:
            return (f"broker {self.broker_id} is still registered and unfenced after {timeout:g} s: "
                    f"{CONTROLLED_SHUTDOWN}{self._seen_error()}")
        return (f"/brokers/ids/{self.broker_id} still exists after {timeout:g} s: broker {self.broker_id} or an "
                "earlier ZooKeeper session of it is still registered")

    def _gone(self) -> bool:
        if self._nobody_to_ask("unregistered"):
            self.broker_ids = []
            return True
        ok, answer = self._attempt(self.metadata.registered_brokers)
        if ok:
            self.broker_ids, self.fenced_broker_ids = answer
        return ok and self.broker_id not in self.broker_ids

    def _controller_serving(self, timeouts: dict[str, float]) -> list[Stage]:
        """Controller port open, the node a voter, the quorum led, and this voter caught up with the leader."""
        who = f"controller {self.broker_id}"
        stages = []
        if self.host:
            stages.append(self._port_stage("controller_port", self.controller_port, timeouts["port"], who,
                                           opening=True))
        for gate, key, what in (("voter", "registration", "is not a voter of the controller quorum"),
                                ("quorum_leader", "leader", "sees no quorum leader"),
                                ("caught_up", "in_sync", "has not caught up with the quorum leader")):
            stages.append(Stage(
                gate, timeouts[key], lambda gate=gate: self._quorum_gate(gate),
                lambda unready, key=key, what=what: (
                    f"{who} {what} after {timeouts[key]:g} s: "
                    f"{unready[0]['reason'] if unready else 'no answer'}{self._seen_error()}")))
        return stages

    def _controller_absent(self, timeouts: dict[str, float]) -> list[Stage]:
        """Controller port closed and the node no longer the quorum leader."""
        who = f"controller {self.broker_id}"
        stages = []
        if self.host:
            stages.append(self._port_stage("controller_port_closed", self.controller_port, timeouts["port"], who,
                                           opening=False))
        stages.append(Stage(
            "not_leader", timeouts["leader"], lambda: self._quorum_gate("not_leader"),
            lambda unready: (f"{who} is still the controller quorum leader after {timeouts['leader']:g} s "
                             f"({unready[0]['reason'] if unready else 'no answer'}){self._seen_error()}")))
        return stages
