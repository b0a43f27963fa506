# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The KRaft lab on Kafka 3.9.1 (`up --metadata kraft --kafka 3.9.1`): which versions each mode runs, the version
remembered in the lab root, and the jars, logging config and tool names that follow from it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lab import cli, cluster, layout, render, topics
from lab.errors import LabError

ROOT = Path("/srv/lab")


def parse_properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


@pytest.mark.parametrize(("metadata", "kafka", "expected"), [
    ("kraft", None, "4.4.0"),
    ("kraft", "4.4.0", "4.4.0"),
    ("kraft", "3.9.1", "3.9.1"),
    ("zookeeper", None, "3.9.1"),
    ("zookeeper", "3.9.1", "3.9.1"),
])
def test_each_mode_runs_its_own_version_by_default_and_kraft_also_391(
        metadata: str, kafka: str | None, expected: str) -> None:
    assert layout.check_kafka(metadata, kafka) == expected


@pytest.mark.parametrize(("metadata", "kafka", "refusal"), [
    ("zookeeper", "4.4.0", "the zookeeper lab runs Kafka 3.9.1, not '4.4.0'"),
    ("kraft", "3.8.0", "the kraft lab runs Kafka 4.4.0 or 3.9.1, not '3.8.0'"),
])
def test_a_version_the_mode_cannot_run_is_refused(metadata: str, kafka: str, refusal: str) -> None:
    with pytest.raises(ValueError) as refused:
        layout.check_kafka(metadata, kafka)
    assert str(refused.value) == refusal


def test_up_refuses_zookeeper_on_kafka_4_in_one_line_before_touching_anything(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KAFKA_OPS_LAB_ROOT", str(tmp_path / "lab"))
    with pytest.raises(LabError, match=r"^the zookeeper lab runs Kafka 3\.9\.1, not '4\.4\.0'$"):
        cluster.up(layout.ZOOKEEPER, "4.4.0")
    assert not (tmp_path / "lab").exists()


def test_the_version_is_remembered_with_the_mode_and_forgotten_with_it(tmp_path: Path) -> None:
    assert layout.lab_kafka(tmp_path) == "3.9.1"
    layout.save_mode(layout.KRAFT, tmp_path, kafka="3.9.1")
    assert (layout.mode(tmp_path), layout.lab_kafka(tmp_path)) == ("kraft", "3.9.1")
    layout.save_mode(layout.KRAFT, tmp_path)
    assert layout.lab_kafka(tmp_path) == "4.4.0"
    layout.forget_mode(tmp_path)
    assert (layout.mode(tmp_path), layout.lab_kafka(tmp_path)) == ("zookeeper", "3.9.1")
    assert not (tmp_path / layout.KAFKA_FILE).exists()


def test_a_kraft_lab_root_from_before_the_choice_runs_440(tmp_path: Path) -> None:
    (tmp_path / layout.MODE_FILE).write_text("kraft\n")
    assert layout.saved_kafka(tmp_path) is None and layout.lab_kafka(tmp_path) == "4.4.0"


def test_the_jar_cache_follows_the_labs_version(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KAFKA_OPS_LAB_ROOT", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", "/cache")
    layout.save_mode(layout.KRAFT, tmp_path, kafka="3.9.1")
    assert layout.jar_cache() == Path("/cache/kafka_ops_lab/kafka-3.9.1")
    assert layout.jar_cache(layout.KRAFT) == Path("/cache/kafka_ops_lab/kafka-4.4.0")
    assert layout.jar_cache(kafka="4.4.0") == Path("/cache/kafka_ops_lab/kafka-4.4.0")


@pytest.mark.parametrize(("kafka", "jars", "logging"), [
    ("3.9.1", "kafka-3.9.1", "-Dlog4j.configuration=file:/srv/lab/controller2/conf/log4j.properties"),
    ("4.4.0", "kafka-4.4.0", "-Dlog4j2.configurationFile=/srv/lab/controller2/conf/log4j2.properties"),
])
def test_a_kraft_node_runs_the_jars_and_logging_of_its_version(kafka: str, jars: str, logging: str) -> None:
    command = render.kraft_command(ROOT, "controller2", render.CONTROLLER_HEAP, kafka)
    assert command[command.index("-cp") + 1].endswith(f"/kafka_ops_lab/{jars}/*")
    assert logging in command
    assert command[-2:] == ["kafka.Kafka", "/srv/lab/controller2/conf/server.properties"]


@pytest.mark.parametrize(("kafka", "tools_config"), [
    ("3.9.1", "-Dlog4j.configuration=file:/srv/lab/tools-log4j.properties"),
    ("4.4.0", "-Dlog4j2.configurationFile=/srv/lab/tools-log4j2.properties"),
])
def test_storage_format_runs_the_versions_storage_tool(kafka: str, tools_config: str) -> None:
    command = render.storage_format_command(ROOT, "kafka1", "MkU3OEVBNTcwNTJENDM2Qk", kafka)
    assert tools_config in command
    assert command[command.index("-cp") + 1].endswith(f"/kafka_ops_lab/kafka-{kafka}/*")
    assert command[command.index("kafka.tools.StorageTool") + 1:][:3] == ["format", "-t", "MkU3OEVBNTcwNTJENDM2Qk"]


def test_a_391_node_logs_through_log4j_1_properties() -> None:
    log_file = ROOT / "kafka1" / "logs" / "server.log"
    assert render.log_config_name("3.9.1") == "log4j.properties"
    props = parse_properties(render.log_config(log_file, "3.9.1"))
    assert props["log4j.appender.file.File"] == "/srv/lab/kafka1/logs/server.log"
    assert render.log_config(log_file, "4.4.0") == render.log4j2_properties(log_file)


def test_generate_kraft_writes_each_nodes_config_and_scripts_for_391(tmp_path: Path) -> None:
    cluster._generate_kraft(tmp_path, "3.9.1")  # pylint: disable=protected-access
    for host in ("controller1", "controller3", "kafka2"):
        conf = tmp_path / host / "conf"
        assert (conf / "log4j.properties").exists() and not (conf / "log4j2.properties").exists()
        start = (tmp_path / host / "bin" / "kafka-start.sh").read_text()
        assert "/kafka_ops_lab/kafka-3.9.1/*" in start and f"file:{conf / 'log4j.properties'}" in start


@pytest.mark.parametrize(("wanted_kafka", "running_mode", "running_kafka", "refusal"), [
    ("3.9.1", "kraft", "4.4.0", "a kraft lab of Kafka 4.4.0 is up (controller1, kafka1): run python -m lab down "
                                "first, then python -m lab up --metadata kraft --kafka 3.9.1"),
    (None, "kraft", "3.9.1", "a kraft lab of Kafka 3.9.1 is up (controller1, kafka1): run python -m lab down "
                             "first, then python -m lab up --metadata kraft"),
    ("3.9.1", "zookeeper", None, "a zookeeper lab is up (controller1, kafka1): run python -m lab down first, then "
                                 "python -m lab up --metadata kraft --kafka 3.9.1"),
    ("3.9.1", "kraft", "3.9.1", None),
    (None, "kraft", None, None),
])
def test_up_refuses_while_a_lab_of_another_version_runs(wanted_kafka: str | None, running_mode: str,
                                                        running_kafka: str | None, refusal: str | None) -> None:
    running = {"controller1": 11, "kafka1": 12}
    assert cluster.mode_conflict("kraft", running_mode, running, wanted_kafka, running_kafka) == refusal


@pytest.mark.parametrize(("kafka", "main_class", "tools_config"), [
    ("3.9.1", "kafka.tools.DumpLogSegments", "tools-log4j.properties"),
    ("4.4.0", "org.apache.kafka.tools.DumpLogSegments", "tools-log4j2.properties"),
])
def test_tools_run_from_the_labs_version(tmp_path: Path, monkeypatch, kafka: str, main_class: str,
                                         tools_config: str) -> None:
    monkeypatch.setenv("KAFKA_OPS_LAB_ROOT", str(tmp_path))
    layout.save_mode(layout.KRAFT, tmp_path, kafka=kafka)
    ran = []
    monkeypatch.setattr(layout, "java_binary", lambda: "/usr/bin/java")
    monkeypatch.setattr(subprocess, "run", lambda command, **kwargs: ran.append(command))
    topics.run_tool("kafka.tools.DumpLogSegments", "--files", "00.log")
    command = ran[0]
    assert command[command.index("-cp") + 1].endswith(f"/kafka_ops_lab/kafka-{kafka}/*")
    assert command[-3:] == [main_class, "--files", "00.log"]
    assert any(part.endswith(str(tmp_path / tools_config)) for part in command)
    assert (tmp_path / tools_config).exists()


@pytest.mark.parametrize(("argv", "expected"), [
    (["up", "--metadata", "kraft", "--kafka", "3.9.1"], ("kraft", "3.9.1")),
    (["up", "--metadata", "kraft"], ("kraft", None)),
    (["up"], ("zookeeper", None)),
])
def test_the_up_command_takes_a_kafka_version(argv: list[str], expected: tuple) -> None:
    args = cli._parser().parse_args(argv)  # pylint: disable=protected-access
    assert (args.metadata, args.kafka) == expected


def test_the_up_command_refuses_an_unknown_version(capsys) -> None:
    with pytest.raises(SystemExit):
        cli._parser().parse_args(["up", "--metadata", "kraft", "--kafka", "3.8.0"])  # pylint: disable=protected-access
    assert "invalid choice: '3.8.0'" in capsys.readouterr().err


def format_node(root: Path, node_id: int, cluster_id: str = "AAAAAAAAAAAAAAAAAAAAAw") -> Path:
    log_dir = layout.controller_log_dir(node_id, root)
    log_dir.mkdir(parents=True)
    (log_dir / "meta.properties").write_text(f"cluster.id={cluster_id}\nnode.id={node_id}\n")
    return log_dir


@pytest.mark.parametrize(("written", "formatted", "expected"), [
    (None, False, None),
    (None, True, "4.4.0"),  # formatted before the lab wrote the version down: 4.4.0 was the only KRaft version
    ("3.9.1", True, "3.9.1"),
])
def test_the_storage_knows_which_version_formatted_it(tmp_path: Path, written: str | None, formatted: bool,
                                                      expected: str | None) -> None:
    if written:
        layout.storage_kafka_file(tmp_path).write_text(written + "\n")
    if formatted:
        format_node(tmp_path, 101)
    assert cluster.storage_kafka(tmp_path) == expected


@pytest.mark.parametrize(("previous", "kafka"), [("4.4.0", "3.9.1"), ("3.9.1", "4.4.0")])
def test_storage_of_another_version_is_removed_before_formatting(tmp_path: Path, previous: str, kafka: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # The services' pid files are looked up under the lab root: this one, not a lab that may run on the machine.
    monkeypatch.setenv("KAFKA_OPS_LAB_ROOT", str(tmp_path))
    layout.storage_kafka_file(tmp_path).write_text(previous + "\n")
    layout.cluster_id_file(tmp_path).write_text("AAAAAAAAAAAAAAAAAAAAAw\n")
    log_dirs = [format_node(tmp_path, 101), format_node(tmp_path, 103)]
    assert cluster.reset_storage_of_other_version(tmp_path, kafka) == log_dirs
    assert not any(log_dir.exists() for log_dir in log_dirs)
    assert not layout.cluster_id_file(tmp_path).exists() and cluster.storage_kafka(tmp_path) is None


def test_storage_of_the_same_version_is_kept(tmp_path: Path) -> None:
    layout.storage_kafka_file(tmp_path).write_text("3.9.1\n")
    log_dir = format_node(tmp_path, 102)
    assert cluster.reset_storage_of_other_version(tmp_path, "3.9.1") == []
    assert (log_dir / "meta.properties").exists()
