"""skip_corrupt.yml against the lab: its full_stop total time versus stopping and starting the three brokers
by hand with the same gates (same run, alternating), and the start-to-verified-flow time with
broker_restart=none. Prints medians. Takes the lab lock (unless a parent holds it).

The hand baseline runs while the stuck group's topic exists, right before the playbook on that group: a lab
without topics restarts faster than any cluster the playbook meets, as no partition needs a leader or an
in-sync replica and the last broker has no leadership to hand over.

Targets (issue 5): full_stop <= 1.25 x hand + 20 s; none <= 30 s.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kazoo.client import KazooClient  # noqa: E402

from lab import api as lab  # noqa: E402
from lab.lock import lab_lock  # noqa: E402

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


def stuck_group() -> str:
    group = f"bench-{uuid.uuid4().hex[:8]}"
    lab.produce(group, 150, partitions=3)
    lab.corrupt(group, 1, 20, "all")
    lab.consumer_start(group, group)
    deadline = time.monotonic() + 60
    while not any(p["stuck"] for p in lab.consumer_status(group)["partitions"]):
        if time.monotonic() > deadline:
            raise RuntimeError(f"consumer {group} did not get stuck")
        time.sleep(0.5)
    return group


def playbook(group: str, broker_restart: str, report_dir: Path) -> float:
    extra = {"consumer_group": group, "broker_restart": broker_restart, "report_dir": str(report_dir), **PLAYBOOK_VARS}
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    began = time.monotonic()
    result = subprocess.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), str(REPO / "playbooks" / "skip_corrupt.yml"),
                             "-e", json.dumps(extra)], cwd=REPO, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - began
    if result.returncode != 0:
        raise RuntimeError(f"skip_corrupt.yml failed for {group}:\n{result.stdout[-3000:]}")
    return elapsed


def phase_seconds(group: str, report_dir: Path) -> dict[str, float]:
    """The phase durations the run's own JSON report gives, to show where the time goes."""
    reports = sorted(report_dir.glob(f"skip_corrupt-{group}-*.json"))
    if not reports:
        return {}
    return {entry["phase"]: entry["seconds"] for entry in json.loads(reports[-1].read_text())["phases"]}


def median_phases(runs: list[dict[str, float]]) -> str:
    names = list(runs[0]) if runs else []
    return ", ".join(f"{name} {statistics.median(run.get(name, 0.0) for run in runs):.1f}" for name in names)


def cleanup(group: str) -> None:
    lab.consumer_stop(group)
    lab.delete_topic(group)
    (Path.home() / ".ansible" / "kafka_ops_remediation" / "runs" / f"skip_corrupt-{group}.json").unlink(missing_ok=True)


def main() -> None:
    report_dir = Path(os.environ.get("TMPDIR", "/tmp")) / "bench_playbook_reports"
    hand, full_stop, none = [], [], []
    full_stop_phases, none_phases = [], []
    with lab_lock():
        if not lab.is_up():
            lab.up()
        for _run in range(RUNS):
            group = stuck_group()
            try:
                # By hand on the very cluster the playbook then works on: the same partitions to gate, and the
                # same last-broker shutdown (the controller cannot move the leadership of the group's topic).
                hand.append(hand_restart())
                full_stop.append(playbook(group, "full_stop", report_dir))
                full_stop_phases.append(phase_seconds(group, report_dir))
            finally:
                cleanup(group)
            group = stuck_group()
            try:
                none.append(playbook(group, "none", report_dir))
                none_phases.append(phase_seconds(group, report_dir))
            finally:
                cleanup(group)
    hand_median, full_median, none_median = (statistics.median(v) for v in (hand, full_stop, none))
    print(f"bench_playbook: {RUNS} runs, medians")
    print(f"  hand stop/start of 3 brokers with the same gates: {hand_median:6.1f} s  {[round(v, 1) for v in hand]}")
    print(f"  skip_corrupt.yml broker_restart=full_stop:        {full_median:6.1f} s  {[round(v, 1) for v in full_stop]}"
          f"  (limit 1.25 x hand + 20 = {1.25 * hand_median + 20:.1f} s: "
          f"{'ok' if full_median <= 1.25 * hand_median + 20 else 'OVER'})")
    print(f"  skip_corrupt.yml broker_restart=none:             {none_median:6.1f} s  {[round(v, 1) for v in none]}"
          f"  (limit 30 s: {'ok' if none_median <= 30 else 'OVER'})")
    print(f"  full_stop phases (s, medians): {median_phases(full_stop_phases)}")
    print(f"  none phases (s, medians): {median_phases(none_phases)}")


if __name__ == "__main__":
    main()
