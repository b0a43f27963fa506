# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lab's one-line errors for a machine that lacks something, checked through the real CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lab import processes

REPO = Path(__file__).resolve().parents[2]


def run_lab(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture(name="bare_env")
def bare_env_fixture(tmp_path: Path) -> dict[str, str]:
    """No java and no mvn on PATH, an empty jar cache and a lab root of its own."""
    return dict(os.environ, PATH=str(tmp_path / "empty-bin"), XDG_CACHE_HOME=str(tmp_path / "cache"),
                KAFKA_OPS_LAB_ROOT=str(tmp_path / "lab"))


def test_up_without_java_says_so_in_one_line(bare_env: dict[str, str]) -> None:
    result = run_lab("up", env=bare_env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "lab up: java not found: install Java 17 (apt-get install openjdk-17-jre-headless)"]


def test_fetch_without_maven_says_so_in_one_line(bare_env: dict[str, str]) -> None:
    result = run_lab("fetch", env=bare_env)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "mvn not found" in result.stderr


def test_up_without_cached_jars_points_at_fetch(tmp_path: Path, bare_env: dict[str, str]) -> None:
    java = Path("/usr/bin/java")
    if not java.exists():
        pytest.skip("needs /usr/bin/java")
    (tmp_path / "empty-bin").mkdir()
    (tmp_path / "empty-bin" / "java").symlink_to(java)
    result = run_lab("up", env=bare_env)
    assert result.returncode == 1
    line = result.stderr.strip()
    assert "\n" not in line and "run python -m lab fetch" in line and str(tmp_path / "cache") in line


def test_fetch_with_maven_unreachable_and_an_empty_cache_names_the_cache(tmp_path: Path) -> None:
    if not Path("/usr/bin/mvn").exists():
        pytest.skip("needs mvn")
    home = tmp_path / "home"
    (home / ".m2").mkdir(parents=True)
    # Every repository is mirrored to a closed local port: Maven cannot reach anything.
    (home / ".m2" / "settings.xml").write_text(
        "<settings><localRepository>" + str(home / "repo") + "</localRepository><mirrors><mirror><id>nowhere</id>"
        "<mirrorOf>*</mirrorOf><url>http://127.0.0.1:9/</url></mirror></mirrors></settings>")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), MAVEN_OPTS=f"-Duser.home={home}")
    result = run_lab("fetch", env=env)
    assert result.returncode == 1
    line = result.stderr.strip()
    assert "\n" not in line
    assert "Maven repository reachable" in line and f"{tmp_path / 'cache'}/kafka_ops_lab/kafka-" in line
    assert not (tmp_path / "cache" / "kafka_ops_lab" / "kafka-3.9.1").exists()


def test_port_is_free_sees_a_listener() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert not processes.port_is_free("127.0.0.1", port)
        assert processes.port_answers("127.0.0.1", port)
    assert processes.port_is_free("127.0.0.1", port)
