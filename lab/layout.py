# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Where everything of the lab lives: fixed addresses, the state root, the jar caches, the metadata mode."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
POM = REPO / "lab" / "maven" / "pom.xml"
KRAFT_POM = REPO / "lab" / "maven" / "kraft" / "pom.xml"

# Where the cluster keeps its metadata: ZooKeeper (Kafka 3.9.1, the default) or a KRaft quorum (Kafka 4.4.0, or
# 3.9.1 on request: the issue asks for KRaft clusters of 3.9 and of the newest 4.x).
ZOOKEEPER = "zookeeper"
KRAFT = "kraft"
METADATA_MODES = (ZOOKEEPER, KRAFT)
POMS = {ZOOKEEPER: POM, KRAFT: KRAFT_POM}
# The pom whose jars each mode may run, its own first (the default): 3.9.1 runs KRaft with the ZooKeeper lab's jars.
RUNNABLE_POMS = {ZOOKEEPER: (POM,), KRAFT: (KRAFT_POM, POM)}

ZK_ADDRESS = "127.0.0.10"
ZK_PORT = 2181
ZK_HOSTS = f"{ZK_ADDRESS}:{ZK_PORT}"
ZK_CHROOT = "/kafka"
KAFKA_PORT = 9092
SSH_PORT = 2222
BROKERS = {1: "127.0.0.11", 2: "127.0.0.12", 3: "127.0.0.13"}
BOOTSTRAP = ",".join(f"{address}:{KAFKA_PORT}" for address in BROKERS.values())
APP_HOST = "app1"
# Every lab host and its address, in start order.
HOSTS = {"zk1": ZK_ADDRESS, "kafka1": BROKERS[1], "kafka2": BROKERS[2], "kafka3": BROKERS[3], APP_HOST: "127.0.0.21"}
# KRaft mode: three dedicated controllers on hosts of their own; node ids apart from the brokers' 1-3.
CONTROLLER_PORT = 9093
CONTROLLERS = {101: "127.0.0.31", 102: "127.0.0.32", 103: "127.0.0.33"}
QUORUM_VOTERS = ",".join(f"{node_id}@{address}:{CONTROLLER_PORT}" for node_id, address in CONTROLLERS.items())
KRAFT_HOSTS = {
    **{f"controller{node_id - 100}": address for node_id, address in CONTROLLERS.items()},
    **{name: address for name, address in HOSTS.items() if name != "zk1"},
}
# Every host of either mode: each keeps its ssh host key across mode switches.
ALL_HOSTS = {**HOSTS, **KRAFT_HOSTS}
DEFAULT_LAB_ROOT = "/var/lib/kafka-ops-lab"
# Files in the lab root: the mode of the lab that runs (absent: ZooKeeper), its Kafka version (absent: the mode's
# default), and the KRaft cluster's id.
MODE_FILE = "metadata-mode"
KAFKA_FILE = "kafka-version"
CLUSTER_ID_FILE = "kraft-cluster-id"
# The Kafka version the KRaft nodes' storage was formatted with (absent: 4.4.0, the only one before the choice).
STORAGE_KAFKA_FILE = "kraft-storage-kafka"


def lab_root() -> Path:
    return Path(os.environ.get("KAFKA_OPS_LAB_ROOT", DEFAULT_LAB_ROOT))


def saved_mode(root: Path | None = None) -> str | None:
    """The metadata mode `lab up` wrote in the lab root; None when no lab was ever started there."""
    try:
        text = ((root or lab_root()) / MODE_FILE).read_text().strip()
    except OSError:
        return None
    return text if text in METADATA_MODES else None


def mode(root: Path | None = None) -> str:
    """The lab's metadata mode; a lab root without a mode file is a ZooKeeper lab (started before there were modes)."""
    return saved_mode(root) or ZOOKEEPER


def saved_kafka(root: Path | None = None) -> str | None:
    """The Kafka version `lab up` wrote in the lab root; None when it wrote none (a lab started before there was a
    choice runs its mode's default)."""
    try:
        text = ((root or lab_root()) / KAFKA_FILE).read_text().strip()
    except OSError:
        return None
    return text or None


def lab_kafka(root: Path | None = None) -> str:
    """The Kafka version of the lab (of the last `up`, else the default of its mode)."""
    return saved_kafka(root) or kafka_version(mode(root))


def save_mode(metadata: str, root: Path | None = None, kafka: str | None = None) -> None:
    """Remember the mode and its Kafka version (default: the mode's) for every later lab command."""
    root = root or lab_root()
    root.mkdir(parents=True, exist_ok=True)
    (root / MODE_FILE).write_text(metadata + "\n")
    (root / KAFKA_FILE).write_text(check_kafka(metadata, kafka) + "\n")


def forget_mode(root: Path | None = None) -> None:
    """Back to the default (ZooKeeper, 3.9.1) once a lab is fully down, so tools run without a lab (the scanner's
    DumpLogSegments comparison, the benchmarks) keep the 3.9.1 jars they were written for."""
    ((root or lab_root()) / MODE_FILE).unlink(missing_ok=True)
    ((root or lab_root()) / KAFKA_FILE).unlink(missing_ok=True)


def check_mode(metadata: str) -> str:
    if metadata not in METADATA_MODES:
        raise ValueError(f"metadata mode must be one of {', '.join(METADATA_MODES)}, not {metadata!r}")
    return metadata


def hosts(metadata: str) -> dict[str, str]:
    """The lab hosts of a mode and their addresses, in start order."""
    return KRAFT_HOSTS if check_mode(metadata) == KRAFT else HOSTS


def pom_version(pom: Path) -> str:
    """The Kafka version a pom pins, so the poms stay the only place that names one."""
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom.read_text())
    if not match:
        raise RuntimeError(f"{pom} has no <kafka.version> property")
    return match.group(1).strip()


def kafka_version(metadata: str = ZOOKEEPER) -> str:
    """The default Kafka version of a mode: the one pinned in the mode's own pom."""
    return pom_version(POMS[check_mode(metadata)])


def kafka_versions(metadata: str) -> tuple[str, ...]:
    """The Kafka versions a mode can run, its default first: ZooKeeper 3.9.1 only, KRaft 4.4.0 and 3.9.1."""
    return tuple(pom_version(pom) for pom in RUNNABLE_POMS[check_mode(metadata)])


def check_kafka(metadata: str, kafka: str | None = None) -> str:
    """The Kafka version to run a mode with: `kafka`, or the mode's default when None; refuses one it cannot run."""
    versions = kafka_versions(metadata)
    if kafka is None:
        return versions[0]
    if kafka not in versions:
        raise ValueError(f"the {metadata} lab runs Kafka {' or '.join(versions)}, not {kafka!r}")
    return kafka


def uses_log4j2(kafka: str) -> bool:
    """Kafka 4.x logs through Log4j 2; 3.x through Log4j 1 (reload4j), with a properties file of another syntax."""
    return int(kafka.split(".", 1)[0]) >= 4


def jar_cache(metadata: str | None = None, kafka: str | None = None) -> Path:
    """The jar cache of a Kafka version (default: the mode's default version; without a mode either, the lab's
    version); one per Kafka version."""
    version = kafka or (kafka_version(metadata) if metadata else lab_kafka())
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "kafka_ops_lab" / f"kafka-{version}"


def broker_host(broker_id: int) -> str:
    return f"kafka{broker_id}"


def controller_host(node_id: int) -> str:
    return f"controller{node_id - 100}"


def cluster_id_file(root: Path | None = None) -> Path:
    return (root or lab_root()) / CLUSTER_ID_FILE


def storage_kafka_file(root: Path | None = None) -> Path:
    return (root or lab_root()) / STORAGE_KAFKA_FILE


def host_dir(host: str, root: Path | None = None) -> Path:
    return (root or lab_root()) / host


def broker_log_dir(broker_id: int, root: Path | None = None, metadata: str | None = None) -> Path:
    """A broker's log dir in a mode (default: the lab's current one). KRaft brokers keep theirs apart: a log dir
    is formatted for one cluster (meta.properties), and the ZooKeeper lab's topics stay for when it comes back."""
    name = "data-kraft" if (metadata or mode(root)) == KRAFT else "data"
    return host_dir(broker_host(broker_id), root) / name


def controller_log_dir(node_id: int, root: Path | None = None) -> Path:
    return host_dir(controller_host(node_id), root) / "data"


def controller_log_file(node_id: int, root: Path | None = None) -> Path:
    return host_dir(controller_host(node_id), root) / "logs" / "server.log"


def broker_log_file(broker_id: int, root: Path | None = None) -> Path:
    return host_dir(broker_host(broker_id), root) / "logs" / "server.log"


def lab_key(root: Path | None = None) -> Path:
    return (root or lab_root()) / "ssh" / "id_ed25519"


def venv_python() -> str:
    """The interpreter that has kafka-python and kazoo: the repository's venv, else the current one."""
    candidate = REPO / ".venv" / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


def ansible_command(name: str) -> str:
    """An Ansible command (ansible, ansible-playbook, ...) of the environment running this Python.

    Each supported ansible-core line has its own environment (.venv, .venv-2.20, ...): a test run from one of them
    drives that ansible-core.
    """
    return str(Path(sys.executable).with_name(name))


def java_binary() -> str | None:
    return shutil.which("java")
