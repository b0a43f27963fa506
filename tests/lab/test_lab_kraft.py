# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The KRaft lab's pure parts: controller and broker configs, the mode file, the cluster id, the refusals and the
Admin API answers the lab reads instead of ZooKeeper."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from lab import cluster, consumer, kraft, layout, render
from lab.errors import LabError

ROOT = Path("/srv/lab")
VOTERS = "101@127.0.0.31:9093,102@127.0.0.32:9093,103@127.0.0.33:9093"


def parse_properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


@pytest.mark.parametrize(("node_id", "address", "host"), [
    (101, "127.0.0.31", "controller1"), (102, "127.0.0.32", "controller2"), (103, "127.0.0.33", "controller3")])
def test_controller_properties_make_a_dedicated_voter_on_its_own_host(node_id: int, address: str, host: str) -> None:
    props = parse_properties(render.controller_properties(ROOT, node_id))
    assert props["process.roles"] == "controller"
    assert props["node.id"] == str(node_id)
    assert props["controller.quorum.voters"] == VOTERS
    assert props["listeners"] == f"CONTROLLER://{address}:9093"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["log.dirs"] == f"/srv/lab/{host}/data"
    assert "advertised.listeners" not in props and "zookeeper.connect" not in props


@pytest.mark.parametrize("broker_id", [1, 2, 3])
def test_kraft_broker_properties_keep_the_zookeeper_labs_id_address_and_cluster_settings(broker_id: int) -> None:
    props = parse_properties(render.kraft_broker_properties(ROOT, broker_id))
    zk_props = parse_properties(render.server_properties(ROOT, broker_id))
    assert props["process.roles"] == "broker"
    assert props["node.id"] == zk_props["broker.id"] == str(broker_id)
    assert props["listeners"] == zk_props["listeners"] == f"PLAINTEXT://127.0.0.1{broker_id}:9092"
    assert props["controller.quorum.voters"] == VOTERS
    assert props["listener.security.protocol.map"] == "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
    # Apart from the ZooKeeper lab's log dir: a log dir is formatted for one cluster.
    assert props["log.dirs"] == f"/srv/lab/kafka{broker_id}/data-kraft"
    assert not any(key.startswith("zookeeper.") or key == "broker.id" for key in props)
    for key in ("default.replication.factor", "min.insync.replicas", "offsets.topic.replication.factor",
                "controlled.shutdown.enable", "log.segment.bytes", "unclean.leader.election.enable"):
        assert props[key] == zk_props[key]


def test_zookeeper_broker_properties_are_those_of_before_kraft_mode() -> None:
    assert sorted(parse_properties(render.server_properties(ROOT, 1))) == sorted([
        "broker.id", "listeners", "advertised.listeners", "log.dirs", "zookeeper.connect",
        "zookeeper.session.timeout.ms", "zookeeper.connection.timeout.ms", "num.partitions",
        "default.replication.factor", "min.insync.replicas", "offsets.topic.replication.factor",
        "offsets.topic.num.partitions", "transaction.state.log.replication.factor", "transaction.state.log.min.isr",
        "controlled.shutdown.enable", "controlled.shutdown.max.retries", "controlled.shutdown.retry.backoff.ms",
        "unclean.leader.election.enable", "group.initial.rebalance.delay.ms", "log.segment.bytes",
        "log.index.interval.bytes", "log.retention.hours", "num.network.threads", "num.io.threads",
        "num.replica.fetchers", "background.threads", "num.recovery.threads.per.data.dir"])
    assert parse_properties(render.server_properties(ROOT, 1))["log.dirs"] == "/srv/lab/kafka1/data"


def test_kraft_nodes_run_kafka_440_with_log4j2_and_small_heaps() -> None:
    controller = render.kraft_command(ROOT, "controller1", render.CONTROLLER_HEAP)
    broker = render.kraft_command(ROOT, "kafka1", render.BROKER_HEAP)
    assert controller[-2:] == ["kafka.Kafka", "/srv/lab/controller1/conf/server.properties"]
    assert "-Xmx128m" in controller and "-Xmx256m" in broker
    assert "-Dlog4j2.configurationFile=/srv/lab/kafka1/conf/log4j2.properties" in broker
    assert broker[broker.index("-cp") + 1].endswith("/kafka_ops_lab/kafka-4.4.0/*")
    zk_broker = render.broker_command(ROOT, 1)
    assert zk_broker[zk_broker.index("-cp") + 1].endswith("/kafka_ops_lab/kafka-3.9.1/*")
    assert "-Dlog4j.configuration=file:/srv/lab/kafka1/conf/log4j.properties" in zk_broker


def test_storage_format_is_idempotent_and_uses_the_one_cluster_id() -> None:
    command = render.storage_format_command(ROOT, "kafka2", "MkU3OEVBNTcwNTJENDM2Qk")
    assert command[command.index("kafka.tools.StorageTool") + 1:] == [
        "format", "-t", "MkU3OEVBNTcwNTJENDM2Qk", "-c", "/srv/lab/kafka2/conf/server.properties", "-g"]


def test_log4j2_properties_write_the_hosts_server_log() -> None:
    props = parse_properties(render.log4j2_properties(ROOT / "kafka1" / "logs" / "server.log"))
    assert props["appender.file.fileName"] == "/srv/lab/kafka1/logs/server.log"
    assert props["rootLogger.appenderRef.file.ref"] == props["appender.file.name"]
    tools = parse_properties(render.tools_log4j2_properties())
    assert tools["appender.stderr.target"] == "SYSTEM_ERR" and tools["rootLogger.level"] == "warn"


@pytest.mark.parametrize(("raw", "expected"), [
    (bytes(16), "AAAAAAAAAAAAAAAAAAAAAA"),
    (bytes([0xfb]) + bytes(15), None),  # "-w...": Kafka never hands out an id a command line takes for an option
])
def test_cluster_id_is_kafkas_uuid_text(raw: bytes, expected: str | None) -> None:
    assert render.new_cluster_id(raw) == expected


def test_a_random_cluster_id_round_trips() -> None:
    raw = bytes(range(16))
    text = render.new_cluster_id(raw)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", text) and base64.urlsafe_b64decode(text + "==") == raw


def test_the_mode_file_is_remembered_and_forgotten(tmp_path: Path) -> None:
    assert layout.saved_mode(tmp_path) is None and layout.mode(tmp_path) == layout.ZOOKEEPER
    layout.save_mode(layout.KRAFT, tmp_path)
    assert layout.mode(tmp_path) == layout.KRAFT
    assert layout.broker_log_dir(2, tmp_path) == tmp_path / "kafka2" / "data-kraft"
    layout.forget_mode(tmp_path)
    assert layout.mode(tmp_path) == layout.ZOOKEEPER
    assert layout.broker_log_dir(2, tmp_path) == tmp_path / "kafka2" / "data"


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="zookeeper, kraft"):
        layout.hosts("combined")


def test_kraft_hosts_are_the_controllers_brokers_and_app_host_without_zookeeper() -> None:
    assert layout.hosts(layout.KRAFT) == {
        "controller1": "127.0.0.31", "controller2": "127.0.0.32", "controller3": "127.0.0.33",
        "kafka1": "127.0.0.11", "kafka2": "127.0.0.12", "kafka3": "127.0.0.13", "app1": "127.0.0.21"}
    assert layout.hosts(layout.ZOOKEEPER) == layout.HOSTS


@pytest.mark.parametrize(("wanted", "running_mode", "running", "refusal"), [
    ("kraft", "zookeeper", {"zk1": 10}, "a zookeeper lab is up (zk1): run python -m lab down first, then "
                                        "python -m lab up --metadata kraft"),
    ("zookeeper", "kraft", {"controller1": 11, "kafka1": 12}, "a kraft lab is up (controller1, kafka1): run "
                                                              "python -m lab down first, then python -m lab up"),
    ("kraft", "kraft", {"controller1": 11}, None),
    ("kraft", "zookeeper", {}, None),
])
def test_up_refuses_while_the_other_mode_runs(wanted: str, running_mode: str, running: dict[str, int],
                                              refusal: str | None) -> None:
    assert cluster.mode_conflict(wanted, running_mode, running) == refusal


def test_controllers_stop_followers_first_and_the_quorum_leader_last() -> None:
    assert cluster.controller_stop_order(101) == [102, 103, 101]
    assert cluster.controller_stop_order(-1) == [101, 102, 103]


def test_the_legacy_consumer_is_refused_on_kraft_in_one_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KAFKA_OPS_LAB_ROOT", str(tmp_path))
    layout.save_mode(layout.KRAFT, tmp_path)
    with pytest.raises(LabError) as refused:
        consumer.configure("billing", "orders")
    assert str(refused.value) == ("the legacy consumer keeps its offsets in the cluster's ZooKeeper, which a KRaft lab "
                                  "does not have: configure group billing with --kind modern")
    assert consumer.configure("billing", "orders", kind="modern").exists()


def test_formatted_cluster_id_reads_meta_properties(tmp_path: Path) -> None:
    assert cluster.formatted_cluster_id(tmp_path) is None
    (tmp_path / "meta.properties").write_text("#\nnode.id=101\nversion=1\ncluster.id=AAAAAAAAAAAAAAAAAAAAAw\n")
    assert cluster.formatted_cluster_id(tmp_path) == "AAAAAAAAAAAAAAAAAAAAAw"


def test_a_log_dir_of_another_cluster_is_refused(tmp_path: Path) -> None:
    layout.cluster_id_file(tmp_path).write_text("AAAAAAAAAAAAAAAAAAAAAw\n")
    log_dir = layout.controller_log_dir(101, tmp_path)
    log_dir.mkdir(parents=True)
    (log_dir / "meta.properties").write_text("cluster.id=BBBBBBBBBBBBBBBBBBBBBw\n")
    with pytest.raises(LabError, match="is formatted for cluster BBBBBBBBBBBBBBBBBBBBBw, not the lab's"):
        cluster.format_storage(tmp_path)


def test_unfenced_brokers_leave_out_fenced_ones() -> None:
    answer = {"brokers": [{"broker_id": 2, "is_fenced": False}, {"broker_id": 1, "is_fenced": True},
                          {"broker_id": 3}]}
    assert kraft.unfenced_brokers(answer) == [2, 3]


def test_quorum_summary_reads_the_metadata_partition() -> None:
    answer = {"topics": [{"topic_name": "__cluster_metadata", "partitions": [{
        "partition_index": 0, "leader_id": 102, "leader_epoch": 4, "high_watermark": 77,
        "current_voters": [{"replica_id": 103}, {"replica_id": 101}, {"replica_id": 102}],
        "observers": [{"replica_id": 2}, {"replica_id": 1}]}]}]}
    assert kraft.quorum_summary(answer) == {"leader_id": 102, "leader_epoch": 4, "high_watermark": 77,
                                            "voters": [101, 102, 103], "observers": [1, 2]}
    assert kraft.quorum_summary({"topics": []})["leader_id"] == -1


def test_partitions_of_describe_topics_skips_unknown_topics() -> None:
    answer = [{"name": "orders", "error_code": 0, "partitions": [
        {"partition_index": 1, "leader_id": 2, "replica_nodes": [2, 3, 1], "isr_nodes": [2, 3]},
        {"partition_index": 0, "leader_id": 1, "replica_nodes": [1, 2, 3], "isr_nodes": [1, 2, 3]}]},
        {"name": "missing", "error_code": 3, "partitions": []}]
    assert kraft.partitions_of(answer) == [
        {"topic": "orders", "partition": 0, "replicas": [1, 2, 3], "leader": 1, "isr": [1, 2, 3]},
        {"topic": "orders", "partition": 1, "replicas": [2, 3, 1], "leader": 2, "isr": [2, 3]}]


@pytest.mark.skipif(not (layout.jar_cache(layout.KRAFT) / ".complete").exists(), reason="needs make jars")
def test_the_kraft_jars_have_one_slf4j_api_and_the_log4j_binding_for_its_major_version() -> None:
    names = [path.name for path in layout.jar_cache(layout.KRAFT).glob("*.jar")]
    apis = [name for name in names if name.startswith("slf4j-api-")]
    assert apis == ["slf4j-api-1.7.36.jar"], "Kafka 4.4.0's POMs ask for slf4j-api 1.7.36"
    # slf4j 1.7 finds its binding through org.slf4j.impl: Log4j's slf4j 1.x binding, not log4j-slf4j2-impl.
    assert [name for name in names if name.startswith("log4j-slf4j")] == ["log4j-slf4j-impl-2.26.1.jar"]
    assert "kafka_2.13-4.4.0.jar" in names and "kafka-tools-4.4.0.jar" in names
