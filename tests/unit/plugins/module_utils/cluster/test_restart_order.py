# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The restart order of a cluster in ZooKeeper mode and on KRaft, and the gate of one node: every branch."""

from __future__ import annotations

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import restart_order
from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster.restart_order import RestartOrderError

ZK = {"broker_hosts": ["kafka1", "kafka2", "kafka3"], "broker_ids": [1, 2, 3]}
SPLIT = {**ZK, "controller_hosts": ["ctl1", "ctl2", "ctl3"], "controller_ids": [11, 12, 13],
         "controller_roles": ["controller"] * 3}
COMBINED = {**ZK, "broker_roles": ["broker,controller"] * 3}
# Combined nodes listed in both groups, beside a broker-only node.
MIXED = {"broker_hosts": ["kafka1", "kafka2", "kafka4"], "broker_ids": [1, 2, 4],
         "broker_roles": ["broker,controller", "controller,broker", "broker"],
         "controller_hosts": ["kafka1", "kafka2"], "controller_ids": [1, 2],
         "controller_roles": ["broker,controller", "controller,broker"]}


def nodes(inventory):
    return restart_order.read_nodes(inventory)


# The inventory -----------------------------------------------------------------------------------------------

def test_a_zookeeper_inventory_needs_nothing_new():
    assert [(n["host"], n["node_id"], n["broker"], n["controller"], n["wait_role"]) for n in nodes(ZK)] == [
        ("kafka1", 1, True, False, "broker"), ("kafka2", 2, True, False, "broker"), ("kafka3", 3, True, False, "broker")]


def test_brokers_come_first_then_the_controllers_not_listed_yet():
    assert [n["host"] for n in nodes(SPLIT)] == ["kafka1", "kafka2", "kafka3", "ctl1", "ctl2", "ctl3"]
    assert [n["wait_role"] for n in nodes(SPLIT)][-1] == "controller"


def test_a_combined_node_in_both_groups_is_one_node():
    found = nodes(MIXED)
    assert [(n["host"], n["wait_role"]) for n in found] == [
        ("kafka1", "combined"), ("kafka2", "combined"), ("kafka4", "broker")]


@pytest.mark.parametrize("inventory, match", [
    ({"broker_hosts": ["kafka1"], "broker_ids": [None]}, "broker host kafka1 needs broker_service_id"),
    ({"broker_hosts": ["kafka1"], "broker_ids": [True]}, "broker host kafka1 needs broker_service_id"),
    ({"broker_hosts": ["kafka1"], "broker_ids": []}, "1 broker hosts but 0 broker ids"),
    ({**ZK, "broker_roles": ["broker"]}, "3 broker hosts but 1 broker roles"),
    ({"broker_hosts": ["kafka1"], "broker_ids": [1], "broker_roles": ["zookeeper"]},
     "kafka_process_roles='zookeeper': use broker, controller or broker,controller"),
    ({"broker_hosts": ["kafka1"], "broker_ids": [1], "broker_roles": ["controller"]},
     "kafka1 is in kafka_brokers but kafka_process_roles says controller only: move it to kafka_controllers"),
    ({"controller_hosts": ["ctl1"], "controller_ids": [11]}, "controller host ctl1 needs kafka_process_roles"),
    ({"controller_hosts": ["ctl1"], "controller_ids": [11], "controller_roles": ["broker"]},
     "ctl1 is in kafka_controllers but kafka_process_roles='broker' has no controller"),
    ({"controller_hosts": ["ctl1"], "controller_ids": [11], "controller_roles": ["broker,controller"]},
     "ctl1 is a combined broker,controller node: list it in kafka_brokers too"),
    ({**ZK, "broker_ids": [1, 2, 2]}, "hosts kafka2 and kafka3 both have broker_service_id 2"),
])
def test_an_unusable_inventory_names_the_host_and_what_to_set(inventory, match):
    with pytest.raises(RestartOrderError, match=match):
        nodes(inventory)


@pytest.mark.parametrize("inventory, cluster, mode", [
    (ZK, {}, "zookeeper"), (SPLIT, {}, "kraft"), (ZK, {"metadata_mode": "zookeeper"}, "zookeeper"),
    (COMBINED, {"metadata_mode": "kraft"}, "kraft"),
])
def test_the_metadata_mode_is_the_clusters_or_the_inventorys(inventory, cluster, mode):
    assert restart_order.metadata_mode(nodes(inventory), cluster) == mode


@pytest.mark.parametrize("inventory, cluster, match", [
    (ZK, {"metadata_mode": "kraft"}, "runs KRaft but the inventory names no controller"),
    (SPLIT, {"metadata_mode": "zookeeper"}, r"ZooKeeper mode but the inventory names KRaft controllers \(ctl1, ctl2"),
    (SPLIT, {"metadata_mode": "raft"}, "unknown metadata mode 'raft'"),
])
def test_a_mode_the_inventory_does_not_fit_is_refused(inventory, cluster, match):
    with pytest.raises(RestartOrderError, match=match):
        restart_order.metadata_mode(nodes(inventory), cluster)


# Rolling restarts ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("inventory, mode, leader, expected", [
    (ZK, "zookeeper", 2, dict(controllers=[], active_controller=[], brokers=["kafka1", "kafka3"], last=["kafka2"])),
    (ZK, "zookeeper", None, dict(controllers=[], active_controller=[], brokers=["kafka1", "kafka2", "kafka3"],
                                 last=[])),
    (SPLIT, "kraft", 12, dict(controllers=["ctl1", "ctl3"], active_controller=["ctl2"],
                              brokers=["kafka1", "kafka2", "kafka3"], last=[])),
    # A broker id that happens to equal the leader's is no controller on KRaft.
    (SPLIT, "kraft", 2, dict(controllers=["ctl1", "ctl2", "ctl3"], active_controller=[],
                             brokers=["kafka1", "kafka2", "kafka3"], last=[])),
    (COMBINED, "kraft", 1, dict(controllers=["kafka2", "kafka3"], active_controller=[], brokers=[], last=["kafka1"])),
    (MIXED, "kraft", 2, dict(controllers=["kafka1"], active_controller=[], brokers=["kafka4"], last=["kafka2"])),
])
def test_rolling_restarts_controllers_first_and_the_active_controller_last(inventory, mode, leader, expected):
    phases = restart_order.rolling(nodes(inventory), mode, leader)
    assert {key: phases[key] for key in expected} == expected
    assert phases["order"] == sum((expected[k] for k in ("controllers", "active_controller", "brokers", "last")), [])


@pytest.mark.parametrize("inventory, leader, order", [
    (SPLIT, 12, ["kafka1", "kafka2", "kafka3"]),
    (MIXED, 2, ["kafka1", "kafka4", "kafka2"]),
])
def test_a_restart_of_the_brokers_leaves_dedicated_controllers_alone(inventory, leader, order):
    assert restart_order.rolling(nodes(inventory), "kraft", leader, brokers_only=True)["order"] == order


def test_rolling_restart_gives_host_groups_and_a_message():
    plan = restart_order.rolling_restart(SPLIT, {"metadata_mode": "kraft", "controller_id": 12})
    assert plan["error"] is None and plan["metadata_mode"] == "kraft"
    assert plan["order"] == ["ctl1", "ctl3", "ctl2", "kafka1", "kafka2", "kafka3"]
    assert [(g["name"], g["groups"]) for g in plan["host_groups"]][1:4] == [
        ("ctl3", "rolling_restart_controllers"), ("ctl2", "rolling_restart_active_controller"),
        ("kafka1", "rolling_restart_brokers")]
    assert plan["message"] == ("Restarting 6 node(s) of a kraft cluster, controllers first, then brokers, ctl2 (the "
                               "active controller, node 12) last: ctl1 -> ctl3 -> ctl2 -> kafka1 -> kafka2 -> kafka3.")


def test_rolling_restart_in_zookeeper_mode_is_as_before():
    plan = restart_order.rolling_restart(ZK, {"controller_id": 1})
    assert [(g["name"], g["groups"]) for g in plan["host_groups"]] == [
        ("kafka2", "rolling_restart_brokers"), ("kafka3", "rolling_restart_brokers"), ("kafka1", "rolling_restart_last")]
    assert plan["message"].startswith("Restarting 3 node(s) of a zookeeper cluster, one broker at a time, kafka1")


def test_rolling_restart_without_an_elected_controller_says_nothing_of_one():
    plan = restart_order.rolling_restart(ZK, {"controller_id": None})
    assert "last" not in plan["message"] and plan["order"] == ["kafka1", "kafka2", "kafka3"]


@pytest.mark.parametrize("inventory, cluster, match", [
    ({}, {}, "Nothing was restarted: the inventory has no kafka_brokers or kafka_controllers hosts"),
    ({"broker_hosts": ["kafka1"]}, {}, "Nothing was restarted: broker host kafka1 needs broker_service_id"),
    (ZK, {"metadata_mode": "kraft"}, "names no controller"),
])
def test_rolling_restart_refuses_an_unusable_inventory_in_one_line(inventory, cluster, match):
    plan = restart_order.rolling_restart(inventory, cluster)
    assert match in plan["error"] and plan["host_groups"] == [] and plan["order"] == []


# Full stops ---------------------------------------------------------------------------------------------------

def test_a_zookeeper_full_stop_stops_the_controller_last_and_starts_it_first():
    assert restart_order.full_stop(nodes(ZK), "zookeeper", 2) == dict(
        stop=["kafka1", "kafka3", "kafka2"], start_together=["kafka2"], start_then=["kafka3", "kafka1"], refusal=None)


def test_a_zookeeper_full_stop_without_a_controller_keeps_inventory_order():
    assert restart_order.full_stop(nodes(ZK), "zookeeper", None)["stop"] == ["kafka1", "kafka2", "kafka3"]


def test_a_kraft_full_stop_stops_brokers_before_controllers_and_starts_the_controllers_together_first():
    assert restart_order.full_stop(nodes(SPLIT), "kraft", 11) == dict(
        stop=["kafka1", "kafka2", "kafka3", "ctl2", "ctl3", "ctl1"], start_together=["ctl2", "ctl3", "ctl1"],
        start_then=["kafka3", "kafka2", "kafka1"], refusal=None)


def test_a_kraft_full_stop_without_a_quorum_leader_keeps_inventory_order():
    assert restart_order.full_stop(nodes(SPLIT), "kraft", None)["stop"][3:] == ["ctl1", "ctl2", "ctl3"]


@pytest.mark.parametrize("allow", [False, True])
def test_a_kraft_full_stop_with_combined_nodes_is_refused_unless_allowed(allow):
    plan = restart_order.full_stop(nodes(MIXED), "kraft", 1, allow_slow=allow)
    assert plan["stop"] == ["kafka4", "kafka2", "kafka1"] and plan["start_then"] == ["kafka4"]
    assert (plan["refusal"] is None) is allow
    if not allow:
        assert plan["refusal"].startswith("broker_restart=full_stop on KRaft with combined broker,controller nodes "
                                          "(kafka1, kafka2) is slow: once the quorum stops, each remaining broker "
                                          "waits 5 minutes")


# The gate of one node -----------------------------------------------------------------------------------------

HEALTHY = {"healthy": True, "broker_ids": [1, 2, 3], "would_fall_below_min_isr": [],
           "quorum": {"leader_id": 1, "voters": [{"node_id": 1}, {"node_id": 2}, {"node_id": 3}]},
           "quorum_stop_check": {"ok": True, "reason": ""}}


@pytest.mark.parametrize("role", ["broker", "controller", "combined"])
def test_a_healthy_cluster_passes_every_gate(role):
    assert restart_order.node_gate(HEALTHY, 2, role, stop_safety=True) == {"ok": True, "reason": ""}


@pytest.mark.parametrize("cluster, node, role, safety, reason", [
    ({**HEALTHY, "healthy": False, "under_replicated_partitions": [{"topic": "t", "partition": 0}]}, 2, "broker",
     False, "under-replicated [['t', 0]]; offline []"),
    ({**HEALTHY, "broker_ids": [1, 3]}, 2, "broker", False, "broker 2 is not registered (registered brokers [1, 3])"),
    ({**HEALTHY, "would_fall_below_min_isr": [{"topic": "t", "partition": 1}]}, 2, "broker", True,
     "stopping it would put these below min.insync.replicas: [['t', 1]]"),
    ({**HEALTHY, "quorum": {"leader_id": -1, "voters": [{"node_id": 1}]}}, 2, "controller", False,
     "node 2 is not a voter of the metadata quorum (voters [1]); the metadata quorum has no leader"),
    ({**HEALTHY, "quorum_stop_check": {"ok": False, "reason": "voter 3 lags"}}, 2, "controller", True,
     "stopping it would leave too few caught-up voters: voter 3 lags"),
    ({**HEALTHY, "quorum_stop_check": None}, 2, "combined", True,
     "stopping it would leave too few caught-up voters: cluster_info did not say why"),
    ({"healthy": True, "broker_ids": [1, 2], "quorum": None}, 2, "controller", False,
     "node 2 is not a voter of the metadata quorum (voters []); the metadata quorum has no leader"),
])
def test_each_gate_says_what_fails(cluster, node, role, safety, reason):
    assert restart_order.node_gate(cluster, node, role, stop_safety=safety) == {"ok": False, "reason": reason}


def test_without_stop_safety_a_node_the_cluster_cannot_spare_passes():
    cluster = {**HEALTHY, "would_fall_below_min_isr": [{"topic": "t", "partition": 1}],
               "quorum_stop_check": {"ok": False, "reason": "x"}}
    assert restart_order.node_gate(cluster, 2, "combined")["ok"]
