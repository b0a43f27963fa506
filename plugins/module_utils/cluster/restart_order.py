# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""In which order the nodes of a cluster stop, start and restart, in ZooKeeper mode and on KRaft.

Pure functions of the inventory (which hosts are brokers, controllers or both, and their node ids) and of what
cluster_info read (the metadata mode, the active controller, the quorum). ``rolling_restart`` is
rolling_restart.yml's one decision; ``full_stop`` and ``rolling`` serve skip_corrupt.yml's decision
(``triage.decide``); ``node_gate`` is broker_service's health and restart gate.

Why this order (Strimzi's KafkaRoller and Kafka's own shutdown path):
- ZooKeeper mode: the broker that is the active controller goes last, so that the controllership moves once.
- KRaft: controllers first, the quorum leader (the active controller) last among them, so that leadership of
  the metadata quorum moves once; then the brokers. A combined node is rolled with the controllers, and the
  one that leads the quorum goes last overall.
- A KRaft broker's controlled shutdown waits for the active controller's approval (up to 5 minutes), so a full
  stop stops every broker before any controller, and starts every controller (a quorum needs a majority to
  elect a leader) before any broker.
"""

from __future__ import annotations

from typing import Any, Optional

ZOOKEEPER = "zookeeper"
KRAFT = "kraft"
PROCESS_ROLES = {"broker": ("broker",), "controller": ("controller",), "broker,controller": ("broker", "controller"),
                 "controller,broker": ("broker", "controller")}
# The broker_wait role of a node, by its process roles.
WAIT_ROLES = {("broker",): "broker", ("controller",): "controller", ("broker", "controller"): "combined"}
# A KRaft broker waits this long for the controller's approval of its controlled shutdown (KafkaBroker.shutdown).
CONTROLLED_SHUTDOWN_APPROVAL_SECONDS = 300
SHOWN = 10


class RestartOrderError(ValueError):
    """An inventory the order cannot be decided from; the text is the one-line message."""


def _aligned(inventory: dict, label: str, field: str) -> list:
    """The inventory's list of each host's ``field`` (ids or roles) for the ``label`` (broker, controller) hosts."""
    hosts, values = inventory.get(f"{label}_hosts") or [], inventory.get(f"{label}_{field}s")
    if values is None:
        return [None] * len(hosts)
    if len(values) != len(hosts):
        raise RestartOrderError(f"the inventory gives {len(hosts)} {label} hosts but {len(values)} {label} {field}s")
    return list(values)


def _node(host: str, node_id: Any, roles: Any, label: str, default_roles: Optional[str]) -> dict:
    try:
        if isinstance(node_id, bool):
            raise ValueError(node_id)
        number = int(node_id)
    except (TypeError, ValueError):
        raise RestartOrderError(f"{label} host {host} needs broker_service_id (its broker.id or node.id) in the "
                                f"inventory, got {node_id!r}") from None
    roles = roles if roles not in (None, "") else default_roles
    if roles is None:
        raise RestartOrderError(f"{label} host {host} needs kafka_process_roles (controller, or broker,controller "
                                "for a combined node) in the inventory")
    parsed = PROCESS_ROLES.get(str(roles))
    if parsed is None:
        raise RestartOrderError(f"host {host} has kafka_process_roles={roles!r}: use broker, controller or "
                                "broker,controller")
    return dict(host=str(host), node_id=number, broker="broker" in parsed, controller="controller" in parsed,
                wait_role=WAIT_ROLES[parsed])


def read_nodes(inventory: dict) -> list[dict]:
    """Every node once, brokers (group kafka_brokers) then the controllers not already listed (kafka_controllers),
    each in inventory order: {host, node_id, broker, controller, wait_role}.

    ``inventory``: broker_hosts, broker_ids, broker_roles, controller_hosts, controller_ids, controller_roles
    (the hosts of each group, their broker_service_id and kafka_process_roles; roles missing for a broker host
    mean broker, as every ZooKeeper-mode inventory has it).
    """
    nodes: dict[str, dict] = {}
    for host, node_id, roles in zip(inventory.get("broker_hosts") or [], _aligned(inventory, "broker", "id"),
                                    _aligned(inventory, "broker", "role")):
        node = _node(host, node_id, roles, "broker", "broker")
        if not node["broker"]:
            raise RestartOrderError(f"host {host} is in kafka_brokers but kafka_process_roles says controller only: "
                                    "move it to kafka_controllers")
        nodes[node["host"]] = node
    for host, node_id, roles in zip(inventory.get("controller_hosts") or [], _aligned(inventory, "controller", "id"),
                                    _aligned(inventory, "controller", "role")):
        node = _node(host, node_id, roles, "controller", None)
        if not node["controller"]:
            raise RestartOrderError(f"host {host} is in kafka_controllers but kafka_process_roles={roles!r} has no "
                                    "controller: set controller (or broker,controller for a combined node)")
        if node["broker"] and node["host"] not in nodes:
            raise RestartOrderError(f"host {host} is a combined broker,controller node: list it in kafka_brokers too, "
                                    "so that its replicas are scanned and its broker is gated")
        nodes.setdefault(node["host"], node)
    by_id: dict[int, str] = {}
    for node in nodes.values():
        other = by_id.setdefault(node["node_id"], node["host"])
        if other != node["host"]:
            raise RestartOrderError(f"hosts {other} and {node['host']} both have broker_service_id {node['node_id']}: "
                                    "each node needs its own id")
    return list(nodes.values())


def metadata_mode(nodes: list[dict], cluster: dict) -> str:
    """zookeeper or kraft: what cluster_info says, checked against the inventory (a KRaft inventory names its
    controllers, a ZooKeeper-mode one has none)."""
    controllers = [node["host"] for node in nodes if node["controller"]]
    mode = cluster.get("metadata_mode") or (KRAFT if controllers else ZOOKEEPER)
    if mode == KRAFT and not controllers:
        raise RestartOrderError("the cluster runs KRaft but the inventory names no controller: list the controllers "
                                "in kafka_controllers with kafka_process_roles=controller, or set "
                                "kafka_process_roles=broker,controller on combined nodes")
    if mode == ZOOKEEPER and controllers:
        raise RestartOrderError(f"the cluster runs in ZooKeeper mode but the inventory names KRaft controllers "
                                f"({_shown(controllers)}): drop kafka_process_roles and kafka_controllers")
    if mode not in (ZOOKEEPER, KRAFT):
        raise RestartOrderError(f"unknown metadata mode {mode!r}: expected zookeeper or kraft")
    return mode


def _shown(hosts: list[str]) -> str:
    more = f" and {len(hosts) - SHOWN} more" if len(hosts) > SHOWN else ""
    return ", ".join(hosts[:SHOWN]) + more


def _active(nodes: list[dict], mode: str, controller_id: Any) -> Optional[dict]:
    """The node of the active controller: a broker in ZooKeeper mode, a controller (the quorum leader) on KRaft."""
    if controller_id is None:
        return None
    for node in nodes:
        if node["node_id"] == int(controller_id) and (node["controller"] or mode == ZOOKEEPER):
            return node
    return None


def rolling(nodes: list[dict], mode: str, controller_id: Any, brokers_only: bool = False) -> dict:
    """The phases of a rolling restart, each a list of hosts in order: ``controllers`` (KRaft controllers that do
    not lead the quorum, dedicated or combined), ``active_controller`` (the quorum leader when it is a dedicated
    controller), ``brokers`` (broker-only nodes; in ZooKeeper mode every broker but the controller), ``last``
    (the combined node that leads the quorum, or the ZooKeeper-mode controller), and ``order``, all of them.

    ``brokers_only`` leaves dedicated controllers out: they hold no partition, so a restart of the brokers
    after an offset change (skip_corrupt.yml's rolling) has no reason to touch them.
    """
    active = _active(nodes, mode, controller_id)
    chosen = [node for node in nodes if node["broker"] or not brokers_only]
    phases: dict[str, list[str]] = dict(controllers=[], active_controller=[], brokers=[], last=[])
    for node in chosen:
        if node is active:
            continue
        phases["controllers" if node["controller"] else "brokers"].append(node["host"])
    if active is not None and active in chosen:
        phases["last" if active["broker"] else "active_controller"].append(active["host"])
    phases["order"] = phases["controllers"] + phases["active_controller"] + phases["brokers"] + phases["last"]
    return phases


def full_stop(nodes: list[dict], mode: str, controller_id: Any, allow_slow: bool = False) -> dict:
    """A full stop and start of the cluster: ``stop`` (every node one at a time, in order), ``start_together``
    (started at once, then waited for together), ``start_then`` (one at a time, in order), and ``refusal`` (one
    line, or None).

    ZooKeeper mode: brokers stop one by one, the controller last; it starts first (it holds the newest data),
    then the others in reverse stop order. KRaft: brokers stop first in inventory order (each needs the active
    controller to approve its controlled shutdown), then controllers, followers first, the quorum leader last;
    every controller starts at once (a lone voter cannot elect a leader), then the brokers in reverse stop
    order. With combined nodes the last brokers to stop have no quorum left to approve them, each waiting out
    the 5-minute approval: refused unless ``allow_slow``.
    """
    active = _active(nodes, mode, controller_id)
    if mode == ZOOKEEPER:
        stop = [node["host"] for node in nodes if node is not active] + ([active["host"]] if active else [])
        return dict(stop=stop, start_together=stop[-1:], start_then=list(reversed(stop[:-1])), refusal=None)
    brokers = [node["host"] for node in nodes if node["broker"] and not node["controller"]]
    controllers = [node["host"] for node in nodes if node["controller"] and node is not active]
    controllers += [active["host"]] if active else []
    combined = [node["host"] for node in nodes if node["broker"] and node["controller"]]
    refusal = None
    if combined and not allow_slow:
        refusal = (f"broker_restart=full_stop on KRaft with combined broker,controller nodes ({_shown(combined)}) is "
                   f"slow: once the quorum stops, each remaining broker waits {CONTROLLED_SHUTDOWN_APPROVAL_SECONDS // 60} "
                   "minutes for a controlled-shutdown approval nobody can give; rerun with broker_restart=rolling or "
                   "none, or with -e allow_slow_full_stop=true to accept the wait. Nothing was changed.")
    return dict(stop=brokers + controllers, start_together=list(controllers), start_then=list(reversed(brokers)),
                refusal=refusal)


ROLLING_RESTART_GROUPS = (("controllers", "rolling_restart_controllers"),
                          ("active_controller", "rolling_restart_active_controller"),
                          ("brokers", "rolling_restart_brokers"), ("last", "rolling_restart_last"))


def rolling_restart(inventory: dict, cluster: dict) -> dict:
    """rolling_restart.yml's decision: every node once, in the order of ``rolling``, as {metadata_mode,
    controller_id, order, host_groups [{name, groups}], message}; an inventory that cannot be used gives
    ``error`` (one line) and no host groups."""
    try:
        nodes = read_nodes(inventory)
        if not nodes:
            raise RestartOrderError("the inventory has no kafka_brokers or kafka_controllers hosts: list every node "
                                    "with its broker_service_id")
        mode = metadata_mode(nodes, cluster)
    except RestartOrderError as error:
        return dict(error=f"Nothing was restarted: {error}.", metadata_mode=None, controller_id=None, order=[],
                    host_groups=[], message="")
    controller_id = cluster.get("controller_id")
    phases = rolling(nodes, mode, controller_id)
    groups = [dict(name=host, groups=group) for phase, group in ROLLING_RESTART_GROUPS for host in phases[phase]]
    active = (phases["active_controller"] + phases["last"])[-1:]
    last = f", {active[0]} (the active controller, node {controller_id}) last" if active else ""
    what = "controllers first, then brokers" if mode == KRAFT else "one broker at a time"
    return dict(error=None, metadata_mode=mode, controller_id=controller_id, order=phases["order"], host_groups=groups,
                message=f"Restarting {len(phases['order'])} node(s) of a {mode} cluster, {what}{last}: "
                        + " -> ".join(phases["order"]) + ".")


# The health and restart gate of one node ----------------------------------------------------------------------

def _pairs(partitions: Any) -> list:
    return [[entry.get("topic"), entry.get("partition")] for entry in (partitions or [])[:SHOWN]]


def node_gate(cluster: dict, node_id: Any, wait_role: str, stop_safety: bool = False) -> dict:
    """Whether the cluster is healthy around this node, and with ``stop_safety`` whether it can spare it now:
    {ok, reason}. cluster_info's result; ``wait_role`` broker, controller or combined (both gates).

    A broker needs to be registered (unfenced) with a healthy cluster, and with stop_safety that stopping it
    keeps every partition at or above min.insync.replicas. A controller needs to be a voter of a quorum that has
    a leader, and with stop_safety that the majority of the other voters are caught up (cluster_info's
    quorum_stop_check, for simulate_stopped_controllers).
    """
    node = int(node_id)
    problems: list[str] = []
    if not cluster.get("healthy", False):
        problems.append(f"under-replicated {_pairs(cluster.get('under_replicated_partitions'))}; "
                        f"offline {_pairs(cluster.get('offline_partitions'))}")
    if wait_role in ("broker", "combined"):
        registered = sorted(int(b) for b in cluster.get("broker_ids") or [])
        if node not in registered:
            problems.append(f"broker {node} is not registered (registered brokers {registered})")
        below = cluster.get("would_fall_below_min_isr") or []
        if stop_safety and below:
            problems.append(f"stopping it would put these below min.insync.replicas: {_pairs(below)}")
    if wait_role in ("controller", "combined"):
        quorum = cluster.get("quorum") or {}
        voters = sorted(int(voter["node_id"]) for voter in quorum.get("voters") or [])
        if node not in voters:
            problems.append(f"node {node} is not a voter of the metadata quorum (voters {voters})")
        if quorum.get("leader_id") in (None, -1):
            problems.append("the metadata quorum has no leader")
        majority = cluster.get("quorum_stop_check") or {}
        if stop_safety and not majority.get("ok", False):
            problems.append("stopping it would leave too few caught-up voters: "
                            + str(majority.get("reason") or "cluster_info did not say why"))
    return dict(ok=not problems, reason="; ".join(problems))
