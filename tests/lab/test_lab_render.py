# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lab's configuration renderers: what the brokers, ZooKeeper and sshd are told."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lab import layout, render

ROOT = Path("/srv/lab")


def parse_properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


@pytest.mark.parametrize("broker_id", [1, 2, 3])
def test_server_properties_bind_each_broker_to_its_own_address_and_log_dir(broker_id: int) -> None:
    props = parse_properties(render.server_properties(ROOT, broker_id))
    assert props["broker.id"] == str(broker_id)
    assert props["listeners"] == f"PLAINTEXT://127.0.0.1{broker_id}:9092"
    assert props["log.dirs"] == f"/srv/lab/kafka{broker_id}/data"
    assert props["zookeeper.connect"] == "127.0.0.10:2181/kafka"


@pytest.mark.parametrize(("key", "value"), [
    ("default.replication.factor", "3"),
    ("min.insync.replicas", "2"),
    ("num.partitions", "3"),
    ("offsets.topic.replication.factor", "3"),
    ("controlled.shutdown.enable", "true"),
    ("zookeeper.session.timeout.ms", "6000"),
])
def test_server_properties_carry_the_lab_cluster_settings(key: str, value: str) -> None:
    assert parse_properties(render.server_properties(ROOT, 1))[key] == value


def test_zoo_cfg_listens_on_the_zookeeper_address_only() -> None:
    props = parse_properties(render.zoo_cfg(ROOT))
    assert (props["clientPortAddress"], props["clientPort"]) == ("127.0.0.10", "2181")
    assert props["dataDir"] == "/srv/lab/zk1/data"
    assert props["admin.enableServer"] == "false"


@pytest.mark.parametrize("host", list(layout.ALL_HOSTS))
def test_sshd_config_binds_the_host_address_and_allows_key_only_root_logins(host: str) -> None:
    lines = render.sshd_config(ROOT, host).splitlines()
    assert f"ListenAddress {layout.ALL_HOSTS[host]}:2222" in lines
    assert f"PidFile /srv/lab/{host}/run/sshd.pid" in lines
    assert "AuthorizedKeysFile /srv/lab/ssh/authorized_keys" in lines
    assert "PermitRootLogin prohibit-password" in lines
    assert "PasswordAuthentication no" in lines
    assert "Subsystem sftp internal-sftp" in lines
    # Remote commands must not pay for the interactive shell setup in this machine's ~/.bashrc.
    assert "SetEnv SHLVL=1" in lines


def test_broker_command_uses_a_small_heap_and_the_jar_cache() -> None:
    command = render.broker_command(ROOT, 2)
    assert "-Xmx256m" in command and "-Xms256m" in command
    assert command[-2:] == ["kafka.Kafka", "/srv/lab/kafka2/conf/server.properties"]
    assert command[command.index("-cp") + 1] == f"{layout.jar_cache(layout.ZOOKEEPER)}/*"


@pytest.fixture
def fake_service(tmp_path: Path) -> dict[str, Path]:
    """Scripts for a harmless long-running command, written the way the lab writes the broker's."""
    directory = tmp_path / "svc"
    (directory / "run").mkdir(parents=True)
    marker_file = tmp_path / "marker.conf"
    marker_file.write_text("")
    # The marker file name is the last argument, as the broker's server.properties is.
    command = ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done", str(marker_file)]
    scripts = render.service_scripts("svc", "svc test", directory, command, stop_timeout=10)
    paths = {}
    for action, text in scripts.items():
        path = directory / f"svc-{action}.sh"
        path.write_text(text)
        path.chmod(0o755)
        paths[action] = path
    yield paths
    subprocess.run([str(paths["stop"])], check=False, capture_output=True)


def test_service_scripts_start_once_report_status_and_stop(fake_service: dict[str, Path]) -> None:
    def run(action: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(fake_service[action])], capture_output=True, text=True, timeout=30, check=False)

    assert run("status").returncode == 3
    first = run("start")
    assert first.returncode == 0 and "started" in first.stdout
    assert run("status").returncode == 0
    again = run("start")
    assert again.returncode == 0 and "already running" in again.stdout
    stopped = run("stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert run("status").returncode == 3
    assert "not running" in run("stop").stdout


def test_kill_script_kills_a_service_that_ignores_sigterm(tmp_path: Path) -> None:
    directory = tmp_path / "stubborn"
    marker = tmp_path / "stubborn.conf"
    command = ["/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.1; done", str(marker)]
    paths = {}
    for action, text in render.service_scripts("svc", "stubborn", directory, command, stop_timeout=1).items():
        paths[action] = directory / f"svc-{action}.sh"
        paths[action].parent.mkdir(parents=True, exist_ok=True)
        paths[action].write_text(text)
        paths[action].chmod(0o755)
    try:
        assert subprocess.run([str(paths["start"])], capture_output=True, check=False).returncode == 0
        stop = subprocess.run([str(paths["stop"])], capture_output=True, text=True, check=False)
        assert stop.returncode == 1 and "still running after 1s" in stop.stderr
        assert subprocess.run([str(paths["status"])], check=False).returncode == 0
        kill = subprocess.run([str(paths["kill"])], capture_output=True, text=True, check=False)
        assert kill.returncode == 0 and "killed" in kill.stdout
        assert subprocess.run([str(paths["status"])], capture_output=True, check=False).returncode == 3
    finally:
        subprocess.run([str(paths["kill"])], capture_output=True, check=False)


def test_consumer_scripts_refuse_a_group_name_with_a_slash(tmp_path: Path) -> None:
    scripts = render.service_scripts("consumer", "consumer", tmp_path, ["/bin/true"], 5, per_group=True)
    path = tmp_path / "consumer-start.sh"
    path.write_text(scripts["start"])
    path.chmod(0o755)
    result = subprocess.run([str(path), "../etc"], capture_output=True, text=True, check=False)
    assert result.returncode == 2 and "invalid consumer group name" in result.stderr
