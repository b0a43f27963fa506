# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""repair_replicas.yml against the lab: a partition of about 200 MB with one batch damaged on its leader only,
from start to verified, against the time Kafka takes to add one replica of the same partition by a plain
reassignment, measured in the same run on the same partition just before the damage.

Each run makes a fresh one-partition topic (replication factor 3, 64 MiB segments) and fills it with Kafka's
own producer (ProducerPerformance from the lab's jars). The baseline removes one follower by a reassignment,
then times adding it back (AlterPartitionReassignments until the reassignment is gone and the follower is in
the ISR). Then the batch in the middle of the log is damaged on the leader and the playbook is timed, twice:
with the broker hosts' modules run by a Python that has a C CRC-32C (this venv's, as Debian's python3-crc32c
would give), and by the lab's stdlib-only /usr/bin/python3, whose pure-Python CRC-32C reads ~20 MB/s per core.

Target (issue 13): repair <= 2 x baseline + 15 s. Prints medians of BENCH_RUNS runs (default 3) and the
playbook's phase times. Takes the lab lock (unless a parent holds it). BENCH_REPAIR_MB sets the size.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kafka import KafkaAdminClient, TopicPartition  # noqa: E402
from kafka.errors import KafkaError  # noqa: E402

from lab import api as lab  # noqa: E402
from lab.lock import lab_lock  # noqa: E402
from lab.scenarios import unique_name  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
MEGABYTES = int(os.environ.get("BENCH_REPAIR_MB", "200"))
RECORD_SIZE = 1000
POLL = 0.1
PRODUCER = "org.apache.kafka.tools.ProducerPerformance"


def admin() -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=lab.BOOTSTRAP, request_timeout_ms=30000)


def state(client: KafkaAdminClient, topic: str) -> dict:
    (entry,) = client.describe_topics([topic])[0]["partitions"]
    return dict(replicas=entry["replica_nodes"], isr=sorted(entry["isr_nodes"]), leader=entry["leader_id"])


def reassign(client: KafkaAdminClient, topic: str, replicas: list[int], timeout: float = 900) -> float:
    """Seconds from the AlterPartitionReassignments call until the partition has exactly `replicas`, every one
    in the ISR, and no reassignment running."""
    partition = TopicPartition(topic, 0)
    began = time.monotonic()
    client.alter_partition_reassignments({partition: replicas})
    while True:
        now = state(client, topic)
        if (now["replicas"] == replicas and sorted(now["isr"]) == sorted(replicas)
                and not client.list_partition_reassignments([partition])):
            return time.monotonic() - began
        if time.monotonic() - began > timeout:
            raise RuntimeError(f"reassignment of {topic}-0 to {replicas} did not finish: {now}")
        time.sleep(POLL)


def elect_preferred(topic: str, timeout: float = 90) -> None:
    """Wait until the preferred replica leads with a full ISR, electing it; a fresh client each time, as the
    brokers may just have restarted."""
    deadline = time.monotonic() + timeout
    now: dict = {}
    while True:
        client = admin()
        try:
            now = state(client, topic)
            if now["leader"] == now["replicas"][0] and len(now["isr"]) == len(now["replicas"]):
                return
            client.elect_leaders(0, {topic: [0]}, raise_errors=False)
        except KafkaError:
            pass
        finally:
            client.close()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{topic}-0 did not settle on its preferred leader: {now}")
        time.sleep(0.5)


def fill(topic: str) -> int:
    """Create the topic and produce MEGABYTES of records with Kafka's own producer; returns the record count."""
    lab.create_topic(topic, partitions=1, replication=3, configs={"segment.bytes": str(64 * 1024 * 1024)})
    count = MEGABYTES * 1024 * 1024 // RECORD_SIZE
    result = lab.run_tool(PRODUCER, "--topic", topic, "--num-records", str(count), "--record-size", str(RECORD_SIZE),
                          "--throughput", "-1", "--producer-props", f"bootstrap.servers={lab.BOOTSTRAP}", "acks=all",
                          "batch.size=262144", "linger.ms=20")
    if result.returncode != 0:
        raise RuntimeError(f"ProducerPerformance failed: {result.stderr[-2000:]}")
    return count


VARIANTS = {"c_crc32c": {"ansible_python_interpreter": sys.executable}, "stdlib": {}}


def playbook(topic: str, report_dir: Path, variables: dict) -> float:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    began = time.monotonic()
    result = subprocess.run([str(REPO / ".venv" / "bin" / "ansible-playbook"),
                             str(REPO / "playbooks" / "repair_replicas.yml"),
                             "-e", json.dumps({"topic": topic, "report_dir": str(report_dir), **variables})],
                            cwd=REPO, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - began
    if result.returncode != 0:
        raise RuntimeError(f"repair_replicas.yml failed on {topic}:\n{result.stdout[-4000:]}{result.stderr[-2000:]}")
    return elapsed


def phase_seconds(topic: str, report_dir: Path) -> dict[str, float]:
    reports = sorted(report_dir.glob(f"repair_replicas-*{topic}*.json"))
    if not reports:
        return {}
    return {entry["phase"]: entry["seconds"] for entry in json.loads(reports[-1].read_text()).get("phases", [])}


def one_run(report_dir: Path) -> tuple[float, dict[str, float], dict[str, dict]]:
    topic = unique_name("bench-repair")
    count = fill(topic)
    try:
        elect_preferred(topic)
        client = admin()
        try:
            replicas = state(client, topic)["replicas"]
            follower = replicas[-1]
            reassign(client, topic, [b for b in replicas if b != follower])
            baseline = reassign(client, topic, replicas)
        finally:
            client.close()
        repairs, phases = {}, {}
        for name, variables in VARIANTS.items():
            elect_preferred(topic)
            lab.corrupt_many([(topic, 0, count // 2, [replicas[0]])])
            elect_preferred(topic)
            repairs[name] = playbook(topic, report_dir / name, variables)
            phases[name] = phase_seconds(topic, report_dir / name)
        return baseline, repairs, phases
    finally:
        lab.delete_topic(topic)


def main() -> int:
    report_dir = Path(os.environ.get("TMPDIR", "/tmp")) / "bench_repair_reports"
    report_dir.mkdir(parents=True, exist_ok=True)
    runs = []
    with lab_lock():
        if not lab.is_up():
            lab.up()
        for _run in range(RUNS):
            runs.append(one_run(report_dir))
    baselines = [run[0] for run in runs]
    base = statistics.median(baselines)
    limit = 2 * base + 15
    print(f"bench_repair: {RUNS} runs, {MEGABYTES} MB partition, leader-only damage, medians")
    print(f"  baseline (add one replica by reassignment): {base:6.1f} s  {[round(v, 1) for v in baselines]}")
    for variant in VARIANTS:
        repairs = [run[1][variant] for run in runs]
        repair = statistics.median(repairs)
        print(f"  repair_replicas.yml, brokers' CRC-32C {variant:8s}: {repair:6.1f} s  {[round(v, 1) for v in repairs]}"
              f"; / baseline = {repair / base:.2f}; limit 2 x baseline + 15 = {limit:.1f} s: "
              f"{'ok' if repair <= limit else 'OVER'}")
        names = list(runs[0][2][variant])
        print("    phases (s, medians): " + ", ".join(
            f"{name} {statistics.median(run[2][variant].get(name, 0.0) for run in runs):.1f}" for name in names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
