"""broker_wait: its stages in order (the waiter itself is tested in test_waiter.py), one-line failures naming the gate."""

import json
import socket

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import broker_gates
from ansible_collections.kafka_ops.remediation.plugins.modules import broker_wait

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
