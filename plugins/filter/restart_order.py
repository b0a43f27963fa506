# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ``rolling_restart_decision`` filter, rolling_restart.yml's one door to the restart order, and
``node_gate``, broker_service's health and restart gate of one node.

The decisions live in module_utils/cluster/restart_order.py, plain Python with its own unit tests; these
filters only check what Ansible hands them.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import restart_order


def rolling_restart_decision(facts: Any) -> dict:
    """The restart order from ``facts`` ({inventory, cluster}: the inventory's nodes and cluster_info's result)."""
    if not isinstance(facts, dict) or not isinstance(facts.get("cluster"), dict):
        raise AnsibleFilterError("rolling_restart_decision expects {inventory, cluster} with cluster_info's result")
    return restart_order.rolling_restart(facts.get("inventory") or {}, facts["cluster"])


def node_gate(cluster: Any, node_id: Any, wait_role: str, stop_safety: Any = False) -> dict:
    """{ok, reason}: whether the cluster is healthy around the node, and can spare it when stop_safety is true."""
    if not isinstance(cluster, dict):
        raise AnsibleFilterError("node_gate expects cluster_info's result")
    if wait_role not in ("broker", "controller", "combined"):
        raise AnsibleFilterError(f"node_gate: the node's role must be broker, controller or combined, got {wait_role!r}")
    return restart_order.node_gate(cluster, node_id, wait_role, bool(stop_safety))


class FilterModule:
    """Restart order and node gates."""

    def filters(self) -> dict:
        return {"rolling_restart_decision": rolling_restart_decision, "node_gate": node_gate}
