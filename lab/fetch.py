"""`lab fetch`: Apache Kafka's jars from Maven into a cache outside the repository."""

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


def jars_cached(cache: Path | None = None) -> bool:
    cache = cache or layout.jar_cache()
    return (cache / COMPLETE_MARKER).exists() and any(cache.glob("kafka_2.13-*.jar"))


def fetch(force: bool = False) -> Path:
    cache = layout.jar_cache()
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
            [mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(layout.POM), "dependency:copy-dependencies",
             f"-DoutputDirectory={staging}", "-DincludeScope=runtime"],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
            raise LabError(
                f"mvn could not resolve Kafka {layout.kafka_version()}'s jars (is the Maven repository reachable?); "
                f"the jar cache {cache} is empty: {_last_error_line(result.stdout + result.stderr)}"
            )
        (staging / COMPLETE_MARKER).write_text(f"kafka {layout.kafka_version()}\n")
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
