# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""broker_wait: its stages in order (the waiter itself is tested in test_waiter.py), one-line failures naming the gate."""

import json
import socket

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import broker_gates
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.kafka_client import KafkaClientError
from ansible_collections.kafka_ops.remediation.plugins.modules import broker_wait

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.fake_cluster import FakeCluster
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.fake_zookeeper import FakeZooKeeper
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.module_harness import run_module

ZK = dict(zk_hosts="fake:2181", zk_chroot="/kafka")


def cluster(registered, state=None):
    """One topic 'orders' with partition 0 on brokers 1-3; state is its partition state node."""
    nodes = {"/brokers/topics/orders": json.dumps({"partitions": {"0": [1, 2, 3]}}).encode()}
    for broker in registered:
        nodes[f"/brokers/ids/{broker}"] = json.dumps(
            {"host": f"kafka{broker}", "port": 9092, "endpoints": [f"PLAINTEXT://kafka{broker}:9092"]}).encode()
    if state is not None:
        nodes["/brokers/topics/orders/partitions/0/state"] = json.dumps(state).encode()
    nodes["/controller"] = json.dumps({"brokerid": 1}).encode()
    zk = FakeZooKeeper(nodes)
    return zk


def test_port_open_sees_a_listening_socket_and_a_closed_one():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert broker_gates.port_open("127.0.0.1", port, 0.5)
    assert not broker_gates.port_open("127.0.0.1", port, 0.5)


def test_serving_passes_with_broker_registered_leader_and_isr():
    zk = cluster([1, 2, 3], {"leader": 1, "isr": [1, 2, 3], "leader_epoch": 3})
    result = run_module(broker_wait.main, dict(ZK, broker_id=2), zk)
    assert not result.get("failed"), result
    assert [stage["stage"] for stage in result["stages"]] == ["registered", "leaders", "in_sync"]
    assert result["failed_stage"] is None
    assert result["broker_ids"] == [1, 2, 3]
    assert result["controller_id"] == 1
    assert result["changed"] is False
    assert result["metadata_mode"] == "zookeeper" and result["quorum"] is None and result["fenced_broker_ids"] == []
    assert zk.closed


def test_serving_fails_at_the_registration_gate_naming_the_broker():
    zk = cluster([1, 3], {"leader": 1, "isr": [1, 3], "leader_epoch": 3})
    result = run_module(broker_wait.main, dict(ZK, broker_id=2, registration_timeout=0.2, poll_interval=0.1), zk)
    assert result["failed"]
    assert result["failed_stage"] == "registered"
    assert result["msg"] == ("broker 2 did not register in ZooKeeper (/brokers/ids/2) within 0.2 s; "
                             "registered now: [1, 3]")


def test_serving_fails_at_the_in_sync_gate_listing_the_partition():
    zk = cluster([1, 2, 3], {"leader": 1, "isr": [1, 3], "leader_epoch": 3})
    result = run_module(broker_wait.main, dict(ZK, broker_id=2, in_sync_timeout=0.1, poll_interval=0.05), zk)
    assert result["failed_stage"] == "in_sync"
    assert [stage["stage"] for stage in result["stages"]] == ["registered", "leaders"]
    assert result["unready"] == [{"topic": "orders", "partition": 0, "reason": "replicas [2] not in sync"}]
    assert "1 partition(s) still not fully in sync after 0.1 s (broker 2 is registered): orders/0" in result["msg"]


def test_serving_leader_gate_waits_for_a_live_leader():
    zk = cluster([2, 3], {"leader": 1, "isr": [1, 2], "leader_epoch": 3})
    result = run_module(broker_wait.main, dict(ZK, broker_id=2, leader_timeout=0.1, poll_interval=0.05), zk)
    assert result["failed_stage"] == "leaders"
    assert result["unready"] == [{"topic": "orders", "partition": 0, "reason": "leader 1 is not registered"}]


def test_serving_probes_the_port_first():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    zk = cluster([1, 2, 3], {"leader": 1, "isr": [1, 2, 3], "leader_epoch": 3})
    result = run_module(broker_wait.main, dict(ZK, broker_id=2, host="127.0.0.1", port=free_port,
                                               port_timeout=0.2, poll_interval=0.1), zk)
    assert result["failed_stage"] == "port"
    assert result["stages"] == []
    assert result["msg"] == f"broker 2 did not open 127.0.0.1:{free_port} within 0.2 s"


def test_absent_passes_once_unregistered_and_fails_while_registered():
    gone = run_module(broker_wait.main, dict(ZK, broker_id=2, state="absent"),
                      cluster([1, 3], {"leader": 1, "isr": [1, 3], "leader_epoch": 3}))
    assert not gone.get("failed"), gone
    assert [stage["stage"] for stage in gone["stages"]] == ["unregistered"]
    still = run_module(broker_wait.main, dict(ZK, broker_id=2, state="absent", registration_timeout=0.1,
                                              poll_interval=0.05),
                       cluster([1, 2, 3], {"leader": 1, "isr": [1, 2, 3], "leader_epoch": 3}))
    assert still["failed_stage"] == "unregistered"
    assert still["msg"].startswith("/brokers/ids/2 still exists after 0.1 s")


def test_absent_waits_for_the_port_to_close():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        result = run_module(broker_wait.main, dict(ZK, broker_id=2, state="absent", host="127.0.0.1", port=port,
                                                   port_timeout=0.1, poll_interval=0.05),
                            cluster([1, 3], {"leader": 1, "isr": [1, 3], "leader_epoch": 3}))
    assert result["failed_stage"] == "port_closed"
    assert result["msg"] == f"broker 2 still accepts connections on 127.0.0.1:{port} after 0.1 s"


@pytest.mark.parametrize(("args", "message"), [
    (dict(poll_interval=0), "poll_interval must be above 0, got 0"),
    (dict(leader_timeout=-1, port_timeout=-2), "leader_timeout, port_timeout must not be negative"),
])
def test_bad_settings_are_one_line_errors(args, message):
    result = run_module(broker_wait.main, dict(ZK, broker_id=2, **args), cluster([1, 2, 3]))
    assert result["failed"]
    assert result["msg"] == message


# KRaft: the same gates through the Admin API, and the controller gates ----------------------------------------
NOW = 1_760_000_000_000
KRAFT = dict(kafka_bootstrap_servers=["k1:9092"], poll_interval=0.02)
REAL_PORT_OPEN = broker_gates.port_open


@pytest.fixture(autouse=True)
def bootstrap_broker_listens(monkeypatch):
    """The fake cluster's bootstrap broker k1 listens, unless a test stops it (KRaft gates probe it)."""
    listening = {"k1": True}

    def port_open(host, port, timeout):
        return listening[host] if host in listening else REAL_PORT_OPEN(host, port, timeout)

    monkeypatch.setattr(broker_gates, "port_open", port_open)
    return listening


def kraft(isr=(1, 2, 3), down=(), voters=None, **kwargs):
    fake = FakeCluster({("orders", 0): dict(replicas=[1, 2, 3], isr=list(isr), leader=1)}, brokers=[1, 2, 3],
                       elr={}, voters=voters or {1: (10, NOW), 2: (10, NOW - 10), 3: (10, NOW - 20)}, **kwargs)
    fake.down = set(down)
    return fake


def test_kraft_serving_broker_passes_the_same_stages():
    result = run_module(broker_wait.main, dict(KRAFT, broker_id=2), None, kafka=kraft())
    assert not result.get("failed"), result
    assert [stage["stage"] for stage in result["stages"]] == ["registered", "leaders", "in_sync"]
    assert result["metadata_mode"] == "kraft" and result["controller_id"] == 1 and result["quorum"]["leader_id"] == 1
    assert result["broker_ids"] == [1, 2, 3] and result["fenced_broker_ids"] == []


def test_kraft_a_fenced_broker_is_not_registered():
    result = run_module(broker_wait.main, dict(KRAFT, broker_id=2, registration_timeout=0.05), None,
                        kafka=kraft(down=[2]))
    assert result["failed_stage"] == "registered"
    assert result["msg"] == ("broker 2 was not registered and unfenced (DescribeCluster) within 0.05 s; registered "
                             "now: [1, 3], fenced: [2]")
    assert result["fenced_broker_ids"] == [2]


def test_kraft_in_sync_gate_judges_against_unfenced_brokers():
    result = run_module(broker_wait.main, dict(KRAFT, broker_id=2, in_sync_timeout=0.05), None,
                        kafka=kraft(isr=[1, 3]))
    assert result["failed_stage"] == "in_sync"
    assert result["unready"] == [{"topic": "orders", "partition": 0, "reason": "replicas [2] not in sync"}]


def test_kraft_serving_controller_passes_voter_leader_and_caught_up():
    result = run_module(broker_wait.main, dict(KRAFT, broker_id=3, role="controller"), None, kafka=kraft())
    assert not result.get("failed"), result
    assert [stage["stage"] for stage in result["stages"]] == ["voter", "quorum_leader", "caught_up"]
    assert result["controller_id"] == 1 and "summary" not in result


def test_kraft_controller_that_lags_fails_at_caught_up_naming_the_gap():
    voters = {1: (120, NOW), 2: (120, NOW), 3: (90, NOW - 9000)}
    result = run_module(broker_wait.main, dict(KRAFT, broker_id=3, role="controller", in_sync_timeout=0.05), None,
                        kafka=kraft(voters=voters))
    assert result["failed_stage"] == "caught_up"
    assert result["msg"] == (f"controller 3 has not caught up with the quorum leader after 0.05 s: last caught up at "
                             f"{NOW - 9000}, the leader 1 at {NOW}; 30 record(s) behind")
    assert result["unready"][0]["node_id"] == 3


@pytest.mark.parametrize(("fake", "stage", "message"), [
    (kraft(voters={1: (1, NOW), 2: (1, NOW)}), "voter",
     "controller 3 is not a voter of the controller quorum after 0.05 s: not among the voters [1, 2]"),
    (kraft(quorum_leader=-1), "quorum_leader",
     "controller 3 sees no quorum leader after 0.05 s: no leader among the voters [1, 2, 3]"),
])
def test_kraft_controller_gates_fail_in_one_line(fake, stage, message):
    result = run_module(broker_wait.main, dict(KRAFT, broker_id=3, role="controller", registration_timeout=0.05,
                                               leader_timeout=0.05), None, kafka=fake)
    assert result["failed_stage"] == stage and result["msg"] == message


def test_kraft_combined_waits_for_the_controller_then_the_broker():
    result = run_module(broker_wait.main, dict(KRAFT, broker_id=2, role="combined"), None, kafka=kraft())
    assert [stage["stage"] for stage in result["stages"]] == [
        "voter", "quorum_leader", "caught_up", "registered", "leaders", "in_sync"]


def test_kraft_absent_broker_waits_to_leave_the_unfenced_and_names_the_controlled_shutdown():
    gone = run_module(broker_wait.main, dict(KRAFT, broker_id=2, state="absent"), None, kafka=kraft(down=[2]))
    assert [stage["stage"] for stage in gone["stages"]] == ["unregistered"]
    still = run_module(broker_wait.main, dict(KRAFT, broker_id=2, state="absent", registration_timeout=0.05), None,
                       kafka=kraft())
    assert still["failed_stage"] == "unregistered"
    assert still["msg"] == ("broker 2 is still registered and unfenced after 0.05 s: in KRaft the active controller "
                            "must approve a broker's controlled shutdown, which the broker waits for up to 5 minutes; "
                            "check that the controller quorum has a leader (cluster_info)")


def test_kraft_absent_controller_waits_until_it_no_longer_leads():
    moved = run_module(broker_wait.main, dict(KRAFT, broker_id=1, state="absent", role="combined"), None,
                       kafka=kraft(down=[1], quorum_leader=2))
    assert [stage["stage"] for stage in moved["stages"]] == ["unregistered", "not_leader"]
    leading = run_module(broker_wait.main, dict(KRAFT, broker_id=1, state="absent", role="controller",
                                                leader_timeout=0.05), None, kafka=kraft())
    assert leading["failed_stage"] == "not_leader"
    assert leading["msg"] == "controller 1 is still the controller quorum leader after 0.05 s (leader epoch 7)"


class FlakyQuorum(FakeCluster):
    """DescribeQuorum fails the first `failures` times, as while the quorum elects a leader after a restart."""

    failures = 2

    def describe_metadata_quorum(self):
        if self.failures:
            self.failures -= 1
            raise KafkaClientError("brokers did not answer the quorum description (DescribeQuorum) within 1 s")
        return super().describe_metadata_quorum()


def test_kraft_gates_ride_out_brokers_that_cannot_answer_yet_and_say_the_last_error():
    flaky = FlakyQuorum({}, brokers=[1, 2, 3], elr={}, voters={1: (1, NOW), 2: (1, NOW), 3: (1, NOW)})
    passed = run_module(broker_wait.main, dict(KRAFT, broker_id=3, role="controller"), None, kafka=flaky)
    assert not passed.get("failed"), passed
    never = FlakyQuorum({}, brokers=[1, 2, 3], elr={}, voters={1: (1, NOW)})
    never.failures = 10 ** 6
    failed = run_module(broker_wait.main, dict(KRAFT, broker_id=3, role="controller", registration_timeout=0.05),
                        None, kafka=never)
    assert failed["msg"] == ("controller 3 is not a voter of the controller quorum after 0.05 s: the controller quorum "
                             "could not be read; last error: brokers did not answer the quorum description "
                             "(DescribeQuorum) within 1 s")


def test_controller_roles_need_kraft():
    result = run_module(broker_wait.main, dict(ZK, broker_id=2, role="controller"), cluster([1, 2, 3]))
    assert result["msg"] == ("role=controller needs a KRaft cluster, but this one keeps its metadata in ZooKeeper: use "
                             "role=broker")


class Unreachable(FakeCluster):
    """Every Admin API call fails, as with no broker left running."""

    def describe_metadata_quorum(self):
        raise KafkaClientError("could not reach any Kafka broker at k1:9092 within 30 s")

    def describe_cluster(self):
        raise KafkaClientError("could not reach any Kafka broker at k1:9092 within 30 s")


def test_kraft_with_no_broker_listening_stop_and_controller_start_gates_pass_unverified(bootstrap_broker_listens):
    bootstrap_broker_listens["k1"] = False
    nobody = Unreachable({}, brokers=[], elr={}, voters={1: (1, NOW)})
    stopped = run_module(broker_wait.main, dict(KRAFT, broker_id=3, state="absent"), None, kafka=nobody)
    assert not stopped.get("failed") and stopped["unverified"] == ["unregistered"], stopped
    controller = run_module(broker_wait.main, dict(KRAFT, broker_id=101, state="absent", role="controller"), None,
                            kafka=nobody)
    assert not controller.get("failed") and controller["unverified"] == ["not_leader"], controller
    started = run_module(broker_wait.main, dict(KRAFT, broker_id=101, role="controller"), None, kafka=nobody)
    assert not started.get("failed") and started["unverified"] == ["voter", "quorum_leader", "caught_up"], started


def test_kraft_a_listening_broker_that_cannot_answer_yet_is_waited_for_not_skipped():
    never = Unreachable({}, brokers=[], elr={}, voters={1: (1, NOW)})
    result = run_module(broker_wait.main, dict(KRAFT, broker_id=3, state="absent", registration_timeout=0.05), None,
                        kafka=never)
    assert result["failed_stage"] == "unregistered" and result["unverified"] == []


def test_zookeeper_mode_never_passes_a_gate_unverified():
    result = run_module(broker_wait.main, dict(ZK, broker_id=2, state="absent", registration_timeout=0.05),
                        cluster([1, 2, 3]))
    assert result["failed_stage"] == "unregistered" and result["unverified"] == []


def test_a_dedicated_controller_is_probed_on_its_one_port_a_combined_node_on_9093():
    assert broker_wait.controller_port(dict(controller_port=None, port=9094, role="controller")) == 9094
    assert broker_wait.controller_port(dict(controller_port=None, port=9092, role="combined")) == 9093
    assert broker_wait.controller_port(dict(controller_port=19093, port=9092, role="combined")) == 19093
