# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Helpers for the skip_corrupt.yml lab tests: run the playbook and read the real state.

The scenarios the tests set up (a stuck group, its cleanup) are lab/scenarios.py's, shared with bench/."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import threading
from lab.layout import ansible_command

REPO = pathlib.Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "playbooks" / "skip_corrupt.yml"


def committed_offsets(lab, group: str) -> dict[tuple[str, int], int]:
    for entry in lab.status()["groups"]:
        if entry["group"] == group:
            return {(o["topic"], o["partition"]): o["offset"] for o in entry["offsets"]}
    return {}


def lab_processes(lab) -> dict[str, int]:
    return dict(lab.status()["processes"])


def stream_playbook(command: list[str], timeout: float, on_line=None, env: dict | None = None) -> tuple[int, str]:
    """Run an ansible-playbook command, handing each output line to on_line (a true answer stops the playbook).

    A watchdog kills the playbook at the timeout even when it prints nothing more: a playbook that hangs silently
    must fail its test, not stall the suite.
    """
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               **(env or {}))
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watchdog = threading.Timer(timeout, process.kill)
    watchdog.start()
    lines = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if on_line is not None and on_line(line):
                process.kill()
                break
        code = process.wait()
    finally:
        timed_out = not watchdog.is_alive()
        watchdog.cancel()
    if timed_out:
        raise AssertionError(f"ansible-playbook did not finish in {timeout:.0f} s:\n" + "".join(lines[-80:]))
    return code, "".join(lines)


def run_playbook(group: str, *args: str, extra: dict | None = None, timeout: float = 900,
                 on_line=None) -> tuple[int, str]:
    """Run skip_corrupt.yml against the lab inventory; returns (exit code, output)."""
    extra_vars = {"consumer_group": group, "stuck_interval": 4, **(extra or {})}
    command = [ansible_command("ansible-playbook"), str(PLAYBOOK), "-e", json.dumps(extra_vars), *args]
    return stream_playbook(command, timeout, on_line)


def recap(output: str) -> dict[str, dict[str, int]]:
    """Per host: ok, changed, failed, ... from the PLAY RECAP."""
    hosts = {}
    for host, counters in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.MULTILINE):
        hosts[host] = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", counters)}
    return hosts


def total_changed(output: str) -> int:
    return sum(counts.get("changed", 0) for counts in recap(output).values())


def latest_report(report_dir: pathlib.Path, group: str) -> dict:
    reports = sorted(report_dir.glob(f"skip_corrupt-{group}-*.json"), key=lambda p: p.stat().st_mtime)
    assert reports, f"no report for {group} in {report_dir}"
    return json.loads(reports[-1].read_text())
