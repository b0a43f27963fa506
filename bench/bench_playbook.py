# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""skip_corrupt.yml against the lab: its full_stop total time versus stopping and starting the three brokers
by hand with the same gates (same run, alternating), and the start-to-verified-flow time with
broker_restart=none. Prints medians, and the module runs and raw commands each run cost. Takes the lab lock
(unless a parent holds it).

With BENCH_BASELINE=<another checkout> (for example a `git worktree` of the commit before a change, with the
same .venv linked in and `make collection` run there), that checkout's playbook runs too, alternating with
this one on freshly stuck groups, so a change is measured against its baseline in the same run.

The hand baseline runs while the stuck group's topic exists, right before the playbook on that group: a lab
without topics restarts faster than any cluster the playbook meets, as no partition needs a leader or an
in-sync replica and the last broker has no leadership to hand over.

Targets (issue 5): full_stop <= 1.25 x hand + 20 s; none <= 30 s. Goals (issue 10): none within 8 s,
full_stop within 8 s of the hand stop and start.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kazoo.client import KazooClient  # noqa: E402

from lab import api as lab  # noqa: E402
from lab.lock import lab_lock  # noqa: E402
from lab.scenarios import cleanup, make_stuck_group, unique_name  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
POLL = 0.5
# The lab's consumer commits every second, so a short interval is enough to see it does not move.
PLAYBOOK_VARS = {"stuck_interval": 3}


def zk() -> KazooClient:
    client = KazooClient(hosts=lab.ZK_HOSTS + lab.ZK_CHROOT, timeout=10)
    client.start(timeout=10)
    return client


def wait(predicate, what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(POLL)


def registered(client: KazooClient) -> set[int]:
    return {int(b) for b in client.get_children("/brokers/ids")}


def partitions(client: KazooClient) -> list[dict]:
    found = []
    for topic in client.get_children("/brokers/topics"):
        assignment = json.loads(client.get(f"/brokers/topics/{topic}")[0])["partitions"]
        for number, replicas in assignment.items():
            state_path = f"/brokers/topics/{topic}/partitions/{number}/state"
            state = json.loads(client.get(state_path)[0]) if client.exists(state_path) else {}
            found.append({"replicas": replicas, "leader": state.get("leader", -1), "isr": state.get("isr", [])})
    return found


def gates_pass(client: KazooClient) -> bool:
    """The role's start gates: a live leader where a live in-sync replica exists; in sync where all replicas live."""
    live = registered(client)
    for entry in partitions(client):
        if set(entry["isr"]) & live and entry["leader"] not in live:
            return False
        if set(entry["replicas"]) <= live and not set(entry["replicas"]) <= set(entry["isr"]):
            return False
    return True


def port_open(address: str, port: int = 9092) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((address, port)) == 0


def script(broker: int, action: str) -> list[str]:
    return [str(lab.LAB_ROOT / f"kafka{broker}" / "bin" / f"kafka-{action}.sh")]


def hand_restart() -> float:
    """Stop the brokers one by one, controller last, then start them in reverse order, each with the gates."""
    client = zk()
    try:
        controller = json.loads(client.get("/controller")[0])["brokerid"]
        order = [b for b in sorted(lab.BROKERS) if b != controller] + [controller]
        began = time.monotonic()
        for broker in order:
            subprocess.run(script(broker, "stop") + ["600"], check=True, capture_output=True)
            wait(lambda: subprocess.run(script(broker, "status"), capture_output=True, check=False).returncode != 0, "exit")
            wait(lambda: not port_open(lab.BROKERS[broker]), "port closed")
            wait(lambda: broker not in registered(client), "deregistration")
        for broker in reversed(order):
            subprocess.run(script(broker, "start"), check=True, capture_output=True)
            wait(lambda: port_open(lab.BROKERS[broker]), "port")
            wait(lambda: broker in registered(client), "registration")
            wait(lambda: gates_pass(client), "leaders and in-sync replicas")
        return time.monotonic() - began
    finally:
        client.stop()
        client.close()


def playbook(repo: Path, group: str, broker_restart: str, report_dir: Path) -> tuple[float, dict]:
    """Seconds the run took, and what it started: {module_runs, raw, modules: {action: count}}."""
    extra = {"consumer_group": group, "broker_restart": broker_restart, "report_dir": str(report_dir), **PLAYBOOK_VARS}
    counts_file = report_dir / f"starts-{group}.json"
    env = dict(os.environ, ANSIBLE_CONFIG=str(repo / "ansible.cfg"), MODULE_STARTS_FILE=str(counts_file),
               ANSIBLE_CALLBACK_PLUGINS=str(REPO / "bench" / "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="module_starts")
    began = time.monotonic()
    result = subprocess.run([str(repo / ".venv" / "bin" / "ansible-playbook"), str(repo / "playbooks" / "skip_corrupt.yml"),
                             "-e", json.dumps(extra)], cwd=repo, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - began
    if result.returncode != 0:
        raise RuntimeError(f"skip_corrupt.yml of {repo} failed for {group}:\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    counts = json.loads(counts_file.read_text()) if counts_file.exists() else {}
    return elapsed, counts


def phase_seconds(group: str, report_dir: Path) -> dict[str, float]:
    """The phase durations the run's own JSON report gives, to show where the time goes."""
    reports = sorted(report_dir.glob(f"skip_corrupt-{group}-*.json"))
    if not reports:
        return {}
    return {entry["phase"]: entry["seconds"] for entry in json.loads(reports[-1].read_text())["phases"]}


def median_phases(runs: list[dict[str, float]]) -> str:
    names = list(runs[0]) if runs else []
    return ", ".join(f"{name} {statistics.median(run.get(name, 0.0) for run in runs):.1f}" for name in names)


def measure(repo: Path, broker_restart: str, report_dir: Path, hand: list | None = None) -> tuple[float, dict, dict]:
    """One playbook run on a freshly stuck group (with the hand restart first on that cluster, when asked)."""
    group = unique_name("bench")
    make_stuck_group(group)
    try:
        if hand is not None:
            # By hand on the very cluster the playbook then works on: the same partitions to gate, and the
            # same last-broker shutdown (the controller cannot move the leadership of the group's topic).
            hand.append(hand_restart())
        elapsed, counts = playbook(repo, group, broker_restart, report_dir)
        return elapsed, counts, phase_seconds(group, report_dir)
    finally:
        cleanup(group)


def summary(name: str, runs: list[tuple[float, dict, dict]]) -> str:
    seconds = [run[0] for run in runs]
    starts = [run[1].get("module_runs", 0) for run in runs]
    raws = [run[1].get("raw", 0) for run in runs]
    return (f"{name}: {statistics.median(seconds):6.1f} s  {[round(v, 1) for v in seconds]}; "
            f"module runs {statistics.median(starts):g}, raw commands {statistics.median(raws):g}")


def main() -> None:
    report_dir = Path(os.environ.get("TMPDIR", "/tmp")) / "bench_playbook_reports"
    report_dir.mkdir(parents=True, exist_ok=True)
    baseline = Path(os.environ["BENCH_BASELINE"]).resolve() if os.environ.get("BENCH_BASELINE") else None
    repos = {"this": REPO, **({"baseline": baseline} if baseline else {})}
    hand: list[float] = []
    runs: dict[tuple[str, str], list] = {(name, mode): [] for name in repos for mode in ("full_stop", "none")}
    with lab_lock():
        if not lab.is_up():
            lab.up()
        for _run in range(RUNS):
            for name, repo in repos.items():
                runs[(name, "full_stop")].append(measure(repo, "full_stop", report_dir, hand if name == "this" else None))
                runs[(name, "none")].append(measure(repo, "none", report_dir))
    hand_median = statistics.median(hand)
    full_median = statistics.median(run[0] for run in runs[("this", "full_stop")])
    none_median = statistics.median(run[0] for run in runs[("this", "none")])
    print(f"bench_playbook: {RUNS} runs, medians")
    print(f"  hand stop/start of 3 brokers with the same gates: {hand_median:6.1f} s  {[round(v, 1) for v in hand]}")
    for (name, mode), measured in runs.items():
        print("  " + summary(f"{name:8s} broker_restart={mode:9s}", measured))
    print(f"  full_stop - hand: {full_median - hand_median:+.1f} s (goal <= 8 s; limit 1.25 x hand + 20 = "
          f"{1.25 * hand_median + 20:.1f} s: {'ok' if full_median <= 1.25 * hand_median + 20 else 'OVER'})")
    print(f"  none: {none_median:.1f} s (goal <= 8 s; limit 30 s: {'ok' if none_median <= 30 else 'OVER'})")
    if baseline:
        for mode in ("full_stop", "none"):
            base = statistics.median(run[0] for run in runs[("baseline", mode)])
            this = statistics.median(run[0] for run in runs[("this", mode)])
            print(f"  {mode}: this / baseline = {this / base:.2f} ({this:.1f} s / {base:.1f} s)")
    for (name, mode), measured in runs.items():
        print(f"  {name} {mode} phases (s, medians): {median_phases([run[2] for run in measured])}")
        modules = measured[-1][1].get("modules", {})
        print(f"  {name} {mode} module runs of the last run by action: "
              + ", ".join(f"{action} {count}" for action, count in sorted(modules.items())))
        slowest = measured[-1][1].get("tasks", [])[:8]
        print(f"  {name} {mode} slowest tasks of the last run (s): "
              + "; ".join(f"{task} {seconds:.2f}" for task, seconds in slowest))


if __name__ == "__main__":
    main()
