# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The restart order filters only check what Ansible hands them; the decisions have their own tests."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kafka_ops.remediation.plugins.filter.restart_order import (
    FilterModule, node_gate, rolling_restart_decision)


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {"rolling_restart_decision", "node_gate"}


def test_rolling_restart_decision_passes_the_inventory_and_the_cluster():
    plan = rolling_restart_decision({"inventory": {"broker_hosts": ["kafka1"], "broker_ids": [1]},
                                     "cluster": {"controller_id": 1}})
    assert plan["order"] == ["kafka1"] and plan["error"] is None


@pytest.mark.parametrize("facts", [None, [], {"inventory": {}}, {"cluster": None}])
def test_rolling_restart_decision_needs_the_cluster(facts):
    with pytest.raises(AnsibleFilterError, match="expects {inventory, cluster}"):
        rolling_restart_decision(facts)


def test_node_gate_passes_its_arguments():
    assert node_gate({"healthy": True, "broker_ids": [2]}, "2", "broker", "") == {"ok": True, "reason": ""}


@pytest.mark.parametrize("cluster, role, match", [
    (None, "broker", "expects cluster_info's result"),
    ({}, "voter", "must be broker, controller or combined, got 'voter'"),
])
def test_node_gate_refuses_what_it_cannot_judge(cluster, role, match):
    with pytest.raises(AnsibleFilterError, match=match):
        node_gate(cluster, 1, role)
