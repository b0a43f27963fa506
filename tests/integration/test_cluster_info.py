# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""cluster_info against the lab's real ZooKeeper and three brokers."""

from __future__ import annotations

import uuid

import pytest

from offsets_helpers import ZK_CHROOT, ZK_HOSTS, run_module

pytestmark = pytest.mark.lab
ZK = dict(zk_hosts=ZK_HOSTS, zk_chroot=ZK_CHROOT)


@pytest.fixture(scope="module")
def min_isr_topic(lab):
    topic = f"cluster-info-it-{uuid.uuid4().hex[:8]}"
    lab.create_topic(topic, partitions=4, replication=3, configs={"min.insync.replicas": "2"})
    return topic


def test_brokers_controller_and_partitions(lab, min_isr_topic):
    result = run_module("cluster_info", dict(ZK, topics=[min_isr_topic]))
    assert not result["failed"], result.get("msg")
    assert result["broker_ids"] == [1, 2, 3]
    assert {b["id"]: (b["host"], b["port"]) for b in result["brokers"]} == {
        broker_id: (host, 9092) for broker_id, host in lab.BROKERS.items()}
    assert result["controller_id"] in (1, 2, 3)
    assert [p["partition"] for p in result["partitions"]] == [0, 1, 2, 3]
    assert all(sorted(p["isr"]) == [1, 2, 3] and p["min_insync_replicas"] == 2 and p["leader"] in (1, 2, 3)
               for p in result["partitions"])
    assert result["healthy"] is True and result["summary"]["partitions"] == 4


def test_simulated_stops_against_min_insync_replicas(min_isr_topic):
    one = run_module("cluster_info", dict(ZK, topics=[min_isr_topic], simulate_stopped_brokers=[1], details=False))
    assert one["would_fall_below_min_isr"] == [] and one["partitions"] == []
    two = run_module("cluster_info", dict(ZK, topics=[min_isr_topic], simulate_stopped_brokers=[1, 2]))
    assert sorted(p["partition"] for p in two["would_fall_below_min_isr"]) == [0, 1, 2, 3]
    assert all(p["isr_after"] == [3] and p["min_insync_replicas"] == 2 for p in two["would_fall_below_min_isr"])


def test_default_min_insync_replicas_applies_without_override(lab):
    topic = f"cluster-info-it-{uuid.uuid4().hex[:8]}"
    lab.create_topic(topic, partitions=1, replication=3)
    plain = run_module("cluster_info", dict(ZK, topics=[topic]))
    assert plain["partitions"][0]["min_insync_replicas"] == 1
    strict = run_module("cluster_info", dict(ZK, topics=[topic], default_min_insync_replicas=3))
    assert strict["partitions"][0]["min_insync_replicas"] == 3 and strict["at_min_isr_partitions"] == [
        dict(topic=topic, partition=0)]


def test_unknown_topic_is_one_line_error():
    result = run_module("cluster_info", dict(ZK, topics=["no-such-topic-ever"]))
    assert result["failed"] and result["msg"] == "unknown topic(s) no-such-topic-ever: not under /brokers/topics"


def test_a_zookeeper_mode_cluster_given_only_by_bootstrap_servers_is_refused_in_one_line(lab):
    result = run_module("cluster_info", dict(kafka_bootstrap_servers=lab.BOOTSTRAP.split(","), details=False))
    assert result["failed"]
    assert result["msg"].startswith("the brokers run in ZooKeeper mode"), result["msg"]
    assert "set kafka_zk_hosts" in result["msg"] and "\n" not in result["msg"]


def test_zookeeper_mode_reads_say_their_mode_and_have_no_quorum(lab):
    result = run_module("cluster_info", dict(ZK, details=False, simulate_stopped_brokers=[1]))
    assert not result["failed"], result.get("msg")
    assert result["metadata_mode"] == "zookeeper" and result["quorum"] is None
    assert result["fenced_broker_ids"] == [] and result["quorum_would_lose_majority"] is False
