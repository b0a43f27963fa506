# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`lab fetch`: Apache Kafka's jars from Maven into caches outside the repository, one per Kafka version: 3.9.1 for
the ZooKeeper lab (and the KRaft lab with --kafka 3.9.1), 4.4.0 for the KRaft lab."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from lab import layout
from lab.errors import LabError

# Written after a complete copy, so an interrupted fetch is redone rather than half-used.
COMPLETE_MARKER = ".complete"


def jars_cached(cache: Path | None = None, metadata: str | None = None) -> bool:
    cache = cache or layout.jar_cache(metadata)
    return (cache / COMPLETE_MARKER).exists() and any(cache.glob("kafka_2.13-*.jar"))


def fetch_all(force: bool = False) -> list[Path]:
    """Both labs' jars, so one `make jars` prepares a fresh machine for either mode."""
    return [fetch(force, metadata) for metadata in layout.METADATA_MODES]


def fetch(force: bool = False, metadata: str = layout.ZOOKEEPER) -> Path:
    cache = layout.jar_cache(metadata)
    version = layout.kafka_version(metadata)
    if jars_cached(cache) and not force:
        return cache
    mvn = shutil.which("mvn")
    if not mvn:
        raise LabError("mvn not found: install Maven (apt-get install maven, or bash lab/install-debian-packages.sh)")
    if not layout.java_binary():
        raise LabError("java not found: install Java 17 (apt-get install openjdk-17-jre-headless)")
    cache.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=cache.name + ".", dir=cache.parent))
    try:
        result = subprocess.run(
            [mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(layout.POMS[metadata]), "dependency:copy-dependencies",
             f"-DoutputDirectory={staging}", "-DincludeScope=runtime"],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
            raise LabError(
                f"mvn could not resolve Kafka {version}'s jars (is the Maven repository reachable?); "
                f"the jar cache {cache} is empty: {_last_error_line(result.stdout + result.stderr)}"
            )
        (staging / COMPLETE_MARKER).write_text(f"kafka {version}\n")
        if cache.exists():
            shutil.rmtree(cache)
        staging.rename(cache)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return cache


def _last_error_line(output: str) -> str:
    output = re.sub(r"\x1b\[[0-9;]*m", "", output)  # Maven colours its messages even in batch mode
    errors = [line.strip() for line in output.splitlines() if "ERROR" in line and line.strip() != "[ERROR]"]
    text = errors[0] if errors else (output.strip().splitlines() or ["no output"])[-1]
    return text[:300]
