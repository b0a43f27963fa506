# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark one broker-gate evaluation (the cluster read broker_wait and cluster_info make, then the gates' judging)
on both metadata backends.

(a) ZooKeeper backend: 100,000 partition states in a ZooKeeper without Kafka brokers. The bench starts its own
    ZooKeeper (Kafka's jars from the lab's cache, ZooKeeperServerMain on ZK_HOSTS with a 1 GiB heap and a throw-away
    data dir), so the lab's ZooKeeper (128 MiB heap) is neither needed nor loaded. It logs at INFO to a file, as the
    lab's and any deployed ZooKeeper do: without a log4j configuration log4j 1 logs at DEBUG into no appender, and
    formatting ZooKeeper's debug lines took 80% of the server's time per read (1.0 s of CPU per 100,000 reads
    against 0.2 s), which measured the bench's server and not the collection's read. It writes /brokers/ids/1-3
    (registrations), /brokers/topics/<t> (assignment JSON, RF 3), /brokers/topics/<t>/partitions/<p>/state
    (one in a hundred with a replica out of the ISR, so the in-sync gate has something to report) and
    /config/topics/<t> for half the topics. One evaluation is ZooKeeperMetadata.read() (cluster_read's three
    batched reads) plus cluster_state.unready_partitions, through the collection's own ZooKeeper client, connected
    beforehand, on a fresh ZooKeeperMetadata each run (a module call's first evaluation, nothing remembered); a
    later poll of broker_wait (the same ZooKeeperMetadata, which parses only states that changed) is timed apart.
    It runs in a fresh child process, so that the peak RSS (getrusage ru_maxrss) is this evaluation's and not the
    setup's; the child also reports tracemalloc's peak of one more evaluation.
    Targets: <= 1 s (median of the first evaluations) and <= 300 MB peak RSS.
    Baseline, in the same run: one get per partition state (kazoo, synchronous, the same connection kind), for
    BASELINE_STATES states spread over every topic, scaled linearly to 100,000; it neither reads the assignments nor
    judges anything, which favours it.
(b) Admin API backend: >= 5,000 partitions on the lab's brokers (bootstrap 127.0.0.11-13:9092): 100 topics of 50
    partitions, replication factor 1 (as bench_kafka_offsets, so as not to overload the lab's brokers). One
    evaluation is KraftMetadata's read (DescribeCluster, DescribeTopicPartitions or Metadata, one DescribeConfigs)
    plus unready_partitions, on a client connected beforehand ("warm"); "cold" also creates and connects the client.
    On a KRaft lab it is the whole read() including DescribeQuorum; on a ZooKeeper-mode lab (DescribeQuorum
    unsupported) it is the same read without the quorum, and the output says so. Target: <= 1 s (warm median).
    Baseline, in the same run: the same questions asked topic by topic (one Metadata and one DescribeConfigs request
    per topic, no DescribeQuorum and no eligible leader replicas, which favours it), on the same connected client.
    Evaluation and baseline alternate over ADMIN_RUNS rounds, so that the load of the shared lab hits both alike.

Prints medians of RUNS runs and each speed-up as a ratio against its baseline; a missed target is reported (FAIL)
with the figures. Needs the lab up (python -m lab up) for (b); `--only zookeeper` or `--only admin` runs one part.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".ansible" / "collections"))
sys.path.insert(0, str(REPO))

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import (  # noqa: E402
    cluster_state, metadata_backend)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection import kafka_client  # noqa: E402
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.zookeeper import ZooKeeper  # noqa: E402
from lab import layout  # noqa: E402
from lab.scenarios import unique_name  # noqa: E402

RUNS = 5
ADMIN_RUNS = 9
BUDGET_SECONDS = 1.0
BUDGET_RSS_MB = 300
# (a)
ZK_HOSTS = "127.0.0.10:2191"
ZK_HEAP = "-Xmx1g"
# INFO to a file, as the lab's ZooKeeper logs (lab/render.py); Kafka's zookeeper.properties turns the admin server off.
ZK_LOG4J = """log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File={log_file}
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
"""
ZK_TOPICS = 100
ZK_PARTITIONS_PER_TOPIC = 1000
BASELINE_STATES = 10_000
CREATE_BATCH = 5000
# (b)
ADMIN_TOPICS = 100
ADMIN_PARTITIONS_PER_TOPIC = 50
TOPIC_READY_SECONDS = 120
# The brokers keep creating logs and writing checkpoints for a while after every partition has a leader; timed
# during that, the lab's two cores are measured, not the read.
SETTLE_SECONDS = 20


def runs(times: list[float]) -> str:
    return ", ".join(f"{t:.3f}" for t in times)


# (a) ZooKeeper backend -------------------------------------------------------------------------------------------
def start_zookeeper(data_dir: str) -> subprocess.Popen:
    host, port = ZK_HOSTS.split(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        pass
    else:
        # The bench's own ZooKeeper would fail to bind, and the bench would measure that other one.
        raise RuntimeError(f"something already listens on {ZK_HOSTS}: stop it or run the bench in a network namespace "
                           "of its own")
    log = open(os.path.join(data_dir, "zookeeper.out"), "wb")  # pylint: disable=consider-using-with
    log4j = Path(data_dir) / "log4j.properties"
    log4j.write_text(ZK_LOG4J.format(log_file=Path(data_dir) / "zookeeper.log"))
    process = subprocess.Popen(  # pylint: disable=consider-using-with
        [layout.java_binary() or "/usr/bin/java", *ZK_HEAP.split(), f"-Dzookeeper.clientPortAddress={host}",
         f"-Dlog4j.configuration=file:{log4j}", "-Dzookeeper.admin.enableServer=false",
         "-cp", f"{layout.jar_cache()}/*", "org.apache.zookeeper.server.ZooKeeperServerMain", port,
         os.path.join(data_dir, "data")], stdout=log, stderr=subprocess.STDOUT)
    from kazoo.client import KazooClient  # pylint: disable=import-outside-toplevel
    deadline = time.monotonic() + 60
    while True:
        client = KazooClient(hosts=ZK_HOSTS, timeout=2)
        try:
            client.start(timeout=2)
            client.stop()
            client.close()
            return process
        except Exception:  # pylint: disable=broad-except
            client.close()
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bench's ZooKeeper did not start; see {data_dir}/zookeeper.out")
            time.sleep(0.5)


def state_path(chroot: str, topic: str, partition: int) -> str:
    return f"{chroot}/brokers/topics/{topic}/partitions/{partition}/state"


def populate(chroot: str) -> list[str]:
    """The znodes Kafka writes for ZK_TOPICS x ZK_PARTITIONS_PER_TOPIC partitions; returns the state paths."""
    from kazoo.client import KazooClient  # pylint: disable=import-outside-toplevel
    client = KazooClient(hosts=ZK_HOSTS, timeout=30)
    client.start(timeout=30)
    topics = [f"topic-{number:03d}" for number in range(ZK_TOPICS)]
    parents = [chroot, f"{chroot}/brokers", f"{chroot}/brokers/ids", f"{chroot}/brokers/topics", f"{chroot}/config",
               f"{chroot}/config/topics"]
    nodes = [(path, b"") for path in parents]
    nodes += [(f"{chroot}/brokers/ids/{b}", json.dumps({"host": f"kafka{b}", "port": 9092, "endpoints": [
        f"PLAINTEXT://kafka{b}:9092"]}).encode()) for b in (1, 2, 3)]
    states = []
    for index, topic in enumerate(topics):
        assignment = {str(p): [1 + (p + r) % 3 for r in range(3)] for p in range(ZK_PARTITIONS_PER_TOPIC)}
        nodes.append((f"{chroot}/brokers/topics/{topic}", json.dumps({"version": 2, "partitions": assignment}).encode()))
        nodes.append((f"{chroot}/brokers/topics/{topic}/partitions", b""))
        if index % 2:
            nodes.append((f"{chroot}/config/topics/{topic}", b'{"version":1,"config":{"min.insync.replicas":"2"}}'))
    for topic in topics:
        nodes += [(f"{chroot}/brokers/topics/{topic}/partitions/{p}", b"") for p in range(ZK_PARTITIONS_PER_TOPIC)]
    for topic in topics:
        for p in range(ZK_PARTITIONS_PER_TOPIC):
            replicas = [1 + (p + r) % 3 for r in range(3)]
            isr = replicas[:2] if p % 100 == 7 else replicas
            states.append(state_path(chroot, topic, p))
            nodes.append((states[-1], json.dumps({"controller_epoch": 1, "leader": replicas[0], "version": 1,
                                                  "leader_epoch": 3, "isr": isr}).encode()))
    # Parents come before children in the list, and each batch is waited for before the next one.
    for start in range(0, len(nodes), CREATE_BATCH):
        pending = [client.create_async(path, data) for path, data in nodes[start:start + CREATE_BATCH]]
        for result in pending:
            result.get(timeout=60)
    client.stop()
    client.close()
    return states


def process_cpu(pid: int) -> float:
    """CPU seconds (user and system, every thread) another process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def zookeeper_child(chroot: str, server_pid: int) -> None:
    """One process: RUNS evaluations, then one under tracemalloc; prints JSON."""
    params = dict(zk_hosts=ZK_HOSTS, zk_chroot=chroot, zk_timeout=30.0, zk_retries=3)
    zk = ZooKeeper(params)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times, cpu, server_cpu, unready = [], [], [], 0
    for _run in range(RUNS):
        # A fresh ZooKeeperMetadata each run: the first evaluation of a module call, with nothing remembered.
        metadata = metadata_backend.ZooKeeperMetadata(zk)
        began, began_cpu, began_server = time.monotonic(), time.process_time(), process_cpu(server_pid)
        read = metadata.read()
        unready = len(cluster_state.unready_partitions(read["partitions"], read["broker_ids"]))
        times.append(time.monotonic() - began)
        cpu.append(time.process_time() - began_cpu)
        server_cpu.append(process_cpu(server_pid) - began_server)
        partitions = len(read["partitions"])
        del read
    # broker_wait's later polls: one ZooKeeperMetadata, which remembers the previous read's states.
    metadata = metadata_backend.ZooKeeperMetadata(zk)
    metadata.read()
    polls = []
    for _run in range(RUNS):
        began = time.monotonic()
        read = metadata.read()
        cluster_state.unready_partitions(read["partitions"], read["broker_ids"])
        polls.append(time.monotonic() - began)
        del read
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    metadata = metadata_backend.ZooKeeperMetadata(zk)
    read = metadata.read()
    cluster_state.unready_partitions(read["partitions"], read["broker_ids"])
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    zk.close()
    print(json.dumps(dict(times=times, cpu=cpu, server_cpu=server_cpu, polls=polls, partitions=partitions, unready=unready, rss_before_kb=rss_before,
                          maxrss_kb=maxrss, traced_peak=traced_peak)))


def zookeeper_baseline(states: list[str]) -> float:
    """Seconds for one synchronous get per partition state, BASELINE_STATES of them, scaled to every state."""
    from kazoo.client import KazooClient  # pylint: disable=import-outside-toplevel
    client = KazooClient(hosts=ZK_HOSTS, timeout=30)
    client.start(timeout=30)
    sample = states[::max(1, len(states) // BASELINE_STATES)][:BASELINE_STATES]
    began = time.monotonic()
    for path in sample:
        client.get(path)
    elapsed = time.monotonic() - began
    client.stop()
    client.close()
    return elapsed * len(states) / len(sample)


def bench_zookeeper() -> bool:
    data_dir = tempfile.mkdtemp(prefix="bench-cluster-gates-zk-")
    process = start_zookeeper(data_dir)
    try:
        chroot = "/" + unique_name("bench-cluster-gates")
        began = time.monotonic()
        states = populate(chroot)
        print(f"(a) ZooKeeper backend: wrote {len(states):,} partition states ({ZK_TOPICS} topics, RF 3) and their "
              f"parents to a fresh ZooKeeper at {ZK_HOSTS} in {time.monotonic() - began:.1f} s")
        child = subprocess.run([sys.executable, __file__, "--zookeeper-child", chroot, str(process.pid)], check=True,
                               capture_output=True, text=True)
        measured = json.loads(child.stdout.strip().splitlines()[-1])
        baselines = [zookeeper_baseline(states) for _run in range(3)]
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)
    median = statistics.median(measured["times"])
    baseline = statistics.median(baselines)
    rss_mb = measured["maxrss_kb"] / 1024
    ok = median <= BUDGET_SECONDS and rss_mb <= BUDGET_RSS_MB
    print(f"  one evaluation (read() + unready_partitions) over {measured['partitions']:,} partitions, "
          f"{measured['unready']} unready: median {median:.3f} s (runs {runs(measured['times'])}); target <= "
          f"{BUDGET_SECONDS:g} s: {'holds' if median <= BUDGET_SECONDS else 'MISSED'}")
    print(f"  a later poll of the same wait (unchanged states are not parsed again): median "
          f"{statistics.median(measured['polls']):.3f} s (runs {runs(measured['polls'])})")
    print(f"  CPU time of the evaluating process (its own threads, kazoo's reader included; not ZooKeeper's): median "
          f"{statistics.median(measured['cpu']):.3f} s (runs {runs(measured['cpu'])}); load average while measuring "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  CPU time of the bench's ZooKeeper per evaluation (every thread): median "
          f"{statistics.median(measured['server_cpu']):.3f} s (runs {runs(measured['server_cpu'])})")
    print(f"  peak RSS of the evaluating process {rss_mb:.0f} MB (before the first evaluation "
          f"{measured['rss_before_kb'] / 1024:.0f} MB: interpreter and imports); target <= {BUDGET_RSS_MB} MB: "
          f"{'holds' if rss_mb <= BUDGET_RSS_MB else 'MISSED'}; tracemalloc peak of one evaluation "
          f"{measured['traced_peak'] / 2 ** 20:.0f} MiB")
    print(f"  baseline, one get per partition state ({BASELINE_STATES:,} timed, scaled to {len(states):,}): median "
          f"{baseline:.3f} s (runs {runs(baselines)}); evaluation is {baseline / median:.1f}x faster")
    return ok


# (b) Admin API backend -------------------------------------------------------------------------------------------
def create_topics(prefix: str) -> list[str]:
    from kafka.admin import KafkaAdminClient, NewTopic  # pylint: disable=import-outside-toplevel
    names = [f"{prefix}-{number:03d}" for number in range(ADMIN_TOPICS)]
    admin = KafkaAdminClient(bootstrap_servers=layout.BOOTSTRAP.split(","), request_timeout_ms=60000)
    try:
        admin.create_topics([NewTopic(name, ADMIN_PARTITIONS_PER_TOPIC, 1) for name in names])
        deadline = time.monotonic() + TOPIC_READY_SECONDS
        while True:
            described = admin.describe_topics(names)
            ready = [t for t in described if not t["error_code"] and len(t["partitions"]) == ADMIN_PARTITIONS_PER_TOPIC
                     and all(p["leader_id"] >= 0 for p in t["partitions"])]
            if len(ready) == len(names):
                return names
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(ready)} of {len(names)} topics got leaders within {TOPIC_READY_SECONDS} s")
            time.sleep(1)
    finally:
        admin.close()


def delete_topics(names: list[str]) -> None:
    from kafka.admin import KafkaAdminClient  # pylint: disable=import-outside-toplevel
    admin = KafkaAdminClient(bootstrap_servers=layout.BOOTSTRAP.split(","), request_timeout_ms=60000)
    try:
        admin.delete_topics(names)
    finally:
        admin.close()


def evaluate(metadata: metadata_backend.KraftMetadata, kraft: bool) -> tuple[int, int]:
    """One gate evaluation; (partitions, unready)."""
    if kraft:
        read = metadata.read()
        partitions, live = read["partitions"], read["broker_ids"]
    else:
        brokers, _controller, partitions = metadata.read_brokers_and_partitions(None, 1)
        live = [b["id"] for b in brokers if not b["fenced"]]
    return len(partitions), len(cluster_state.unready_partitions(partitions, live))


def bench_admin() -> bool:
    params = dict(kafka_request_timeout=30.0)
    servers = layout.BOOTSTRAP.split(",")
    began = time.monotonic()
    names = create_topics(unique_name("bench-gates"))
    try:
        print(f"(b) Admin API backend: created {ADMIN_TOPICS} topics x {ADMIN_PARTITIONS_PER_TOPIC} partitions (RF 1) "
              f"on {layout.BOOTSTRAP} in {time.monotonic() - began:.1f} s; letting the brokers settle "
              f"{SETTLE_SECONDS} s")
        time.sleep(SETTLE_SECONDS)
        client = kafka_client.KafkaBrokers(params, servers)
        metadata = metadata_backend.KraftMetadata(client)
        try:
            metadata.quorum()
            kraft = True
        except metadata_backend.MetadataSourceError:
            kraft = False
        print("  the lab runs in " + ("KRaft mode: the whole read(), DescribeQuorum included" if kraft else
                                      "ZooKeeper mode (no KRaft lab here yet): DescribeCluster, Metadata (the brokers "
                                      "have no DescribeTopicPartitions) and DescribeConfigs, without DescribeQuorum"))
        admin_module = kafka_client.load_kafka().admin
        every_topic = [t["name"] for t in client.admin_call("every topic", "describe_topics", None)]
        warm, cold, baselines = [], [], []
        partitions = unready = 0
        # Interleaved rounds: on the lab's shared cores the load comes and goes, and should hit both alike.
        for _run in range(ADMIN_RUNS):
            start = time.monotonic()
            partitions, unready = evaluate(metadata, kraft)
            warm.append(time.monotonic() - start)
            start = time.monotonic()
            fresh = kafka_client.KafkaBrokers(params, servers)
            evaluate(metadata_backend.KraftMetadata(fresh), kraft)
            cold.append(time.monotonic() - start)
            fresh.close()
            start = time.monotonic()
            for name in every_topic:
                client.admin_call("one topic", "describe_topics", [name])
                client.admin_call("one topic's config", "describe_configs", [admin_module.ConfigResource(
                    admin_module.ConfigResourceType.TOPIC, name, ["min.insync.replicas"])], config_filter="all")
            baselines.append(time.monotonic() - start)
        client.close()
    finally:
        delete_topics(names)
    median, cold_median, baseline = (statistics.median(t) for t in (warm, cold, baselines))
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  one evaluation over {partitions:,} partitions ({unready} unready): median warm {median:.3f} s (runs "
          f"{runs(warm)}), cold {cold_median:.3f} s (runs {runs(cold)}); target <= {BUDGET_SECONDS:g} s (warm): "
          f"{'holds' if median <= BUDGET_SECONDS else 'MISSED'}")
    print(f"  baseline, topic by topic (Metadata + DescribeConfigs per topic, {len(every_topic)} topics): median "
          f"{baseline:.3f} s (runs {runs(baselines)}); evaluation is {baseline / median:.1f}x faster (warm)")
    return median <= BUDGET_SECONDS


def main() -> None:
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    passed = True
    if only in (None, "zookeeper"):
        passed = bench_zookeeper() and passed
    if only in (None, "admin"):
        passed = bench_admin() and passed
    print("bench_cluster_gates: " + ("PASS" if passed else "FAIL"))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--zookeeper-child"]:
        zookeeper_child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
