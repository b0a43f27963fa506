"""Where everything of the lab lives: fixed addresses, the state root, the jar cache."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
POM = REPO / "lab" / "maven" / "pom.xml"

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
DEFAULT_LAB_ROOT = "/var/lib/kafka-ops-lab"


def lab_root() -> Path:
    return Path(os.environ.get("KAFKA_OPS_LAB_ROOT", DEFAULT_LAB_ROOT))


def kafka_version() -> str:
    """The Kafka version pinned in the pom, so the pom stays the only place that names it."""
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    if not match:
        raise RuntimeError(f"{POM} has no <kafka.version> property")
    return match.group(1).strip()


def jar_cache() -> Path:
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "kafka_ops_lab" / f"kafka-{kafka_version()}"


def broker_host(broker_id: int) -> str:
    return f"kafka{broker_id}"


def host_dir(host: str, root: Path | None = None) -> Path:
    return (root or lab_root()) / host


def broker_log_dir(broker_id: int, root: Path | None = None) -> Path:
    return host_dir(broker_host(broker_id), root) / "data"


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
