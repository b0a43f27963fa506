"""Helpers for the skip_corrupt.yml lab tests: set up a stuck group, run the playbook, read the real state."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import time
import uuid

REPO = pathlib.Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "playbooks" / "skip_corrupt.yml"
JOURNALS = pathlib.Path.home() / ".ansible" / "kafka_ops_remediation" / "runs"


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_stuck_group(lab, name: str, count: int = 150, offset: int = 20) -> dict:
    """A topic of `count` records over 3 partitions, the record at `offset` of partition 1 damaged on every
    replica, and a consumer group stuck on it."""
    lab.produce(name, count, partitions=3)
    broken = lab.corrupt(name, 1, offset, "all")
    lab.consumer_start(name, name)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(p["stuck"] for p in lab.consumer_status(name)["partitions"]):
            return broken
        time.sleep(0.5)
    raise AssertionError(f"consumer {name} did not get stuck: {lab.consumer_status(name)}")


def committed_offsets(lab, group: str) -> dict[tuple[str, int], int]:
    for entry in lab.status()["groups"]:
        if entry["group"] == group:
            return {(o["topic"], o["partition"]): o["offset"] for o in entry["offsets"]}
    return {}


def lab_processes(lab) -> dict[str, int]:
    return dict(lab.status()["processes"])


def run_playbook(group: str, *args: str, extra: dict | None = None, timeout: float = 900,
                 on_line=None) -> tuple[int, str]:
    """Run skip_corrupt.yml against the lab inventory; returns (exit code, output)."""
    extra_vars = {"consumer_group": group, "stuck_interval": 4, **(extra or {})}
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    command = [str(REPO / ".venv" / "bin" / "ansible-playbook"), str(PLAYBOOK), "-e", json.dumps(extra_vars), *args]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if on_line is not None:
            on_line(line)
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("ansible-playbook did not finish in time:\n" + "".join(lines[-80:]))
    return process.wait(), "".join(lines)


def recap(output: str) -> dict[str, dict[str, int]]:
    """Per host: ok, changed, failed, ... from the PLAY RECAP."""
    hosts = {}
    for host, counters in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.MULTILINE):
        hosts[host] = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", counters)}
    return hosts


def total_changed(output: str) -> int:
    return sum(counts.get("changed", 0) for counts in recap(output).values())


def journal(group: str) -> dict | None:
    path = JOURNALS / f"skip_corrupt-{group}.json"
    return json.loads(path.read_text()) if path.exists() else None


def remove_journal(group: str) -> None:
    (JOURNALS / f"skip_corrupt-{group}.json").unlink(missing_ok=True)


def latest_report(report_dir: pathlib.Path, group: str) -> dict:
    reports = sorted(report_dir.glob(f"skip_corrupt-{group}-*.json"), key=lambda p: p.stat().st_mtime)
    assert reports, f"no report for {group} in {report_dir}"
    return json.loads(reports[-1].read_text())


def cleanup(lab, group: str) -> None:
    """Leave the lab as the tests found it: consumer stopped, topic and group gone, brokers up and in sync."""
    try:
        lab.consumer_stop(group)
    finally:
        lab.start_brokers()
        remove_journal(group)
        lab.delete_topic(group)
        lab.delete_group(group)
