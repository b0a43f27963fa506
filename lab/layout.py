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

# Where the cluster keeps its metadata: ZooKeeper (Kafka 3.9.1, the default) or a KRaft quorum (Kafka 4.4.0).
ZOOKEEPER = "zookeeper"
KRAFT = "kraft"
METADATA_MODES = (ZOOKEEPER, KRAFT)
POMS = {ZOOKEEPER: POM, KRAFT: KRAFT_POM}

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
# Files in the lab root: the mode of the lab that runs (absent: ZooKeeper), and the KRaft cluster's id.
MODE_FILE = "metadata-mode"
CLUSTER_ID_FILE = "kraft-cluster-id"


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


def save_mode(metadata: str, root: Path | None = None) -> None:
    path = (root or lab_root()) / MODE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(metadata + "\n")


def forget_mode(root: Path | None = None) -> None:
    """Back to the default (ZooKeeper) once a lab is fully down, so tools run without a lab (the scanner's
    DumpLogSegments comparison, the benchmarks) keep the 3.9.1 jars they were written for."""
    ((root or lab_root()) / MODE_FILE).unlink(missing_ok=True)


def check_mode(metadata: str) -> str:
    if metadata not in METADATA_MODES:
        raise ValueError(f"metadata mode must be one of {', '.join(METADATA_MODES)}, not {metadata!r}")
    return metadata


def hosts(metadata: str) -> dict[str, str]:
    """The lab hosts of a mode and their addresses, in start order."""
    return KRAFT_HOSTS if check_mode(metadata) == KRAFT else HOSTS


def kafka_version(metadata: str = ZOOKEEPER) -> str:
    """The Kafka version pinned in the mode's pom, so the pom stays the only place that names it."""
    pom = POMS[check_mode(metadata)]
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom.read_text())
    if not match:
        raise RuntimeError(f"{pom} has no <kafka.version> property")
    return match.group(1).strip()


def jar_cache(metadata: str | None = None) -> Path:
    """The jar cache of a mode (default: the lab's current mode); one per Kafka version."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "kafka_ops_lab" / f"kafka-{kafka_version(metadata or mode())}"


def broker_host(broker_id: int) -> str:
    return f"kafka{broker_id}"


def controller_host(node_id: int) -> str:
    return f"controller{node_id - 100}"


def cluster_id_file(root: Path | None = None) -> Path:
    return (root or lab_root()) / CLUSTER_ID_FILE


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


def java_binary() -> str | None:
    return shutil.which("java")
