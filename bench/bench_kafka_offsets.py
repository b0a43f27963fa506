# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark consumer_offset_info and consumer_offset on a Kafka-stored group (__consumer_offsets) of 2,000 partitions.

Issue 12's targets, on the lab: reading the group's offsets within 1 s and moving all of them within 2 s of module
run time, each at least 10x faster than one request per partition.

Everything is real: a topic of 2,000 partitions on the lab's three brokers (127.0.0.11-13:9092), a few records in
every partition, and a fresh group whose offsets are committed for every partition through
KafkaAdminClient.alter_group_offsets (no member, so the group is Empty). The topic has replication factor 1, its
partitions spread over the three brokers by Kafka's own assignment: 6,000 replicas (RF 3) would overload the lab's
brokers, which share two cores with ZooKeeper and everything else. The group and the topic are deleted at the end,
also when something fails.

The modules' main() runs with the real broker client (kafka_client.KafkaBrokers, which connects and fetches
metadata inside main()), exit_json and fail_json patched as in bench_offsets.py; module run time is the time
inside main(). Each run is timed twice:
- warm: in this process, where kafka-python is already imported (the baseline needs it);
- cold: in a fresh child process, as every ansible task runs, where main() also imports kafka-python (about
  0.3 s; kafka_client.load_kafka imports it on first use). Interpreter and module start are not counted.
The absolute targets are judged on the cold median; the speed-ups on the warm median, since the baseline pays
no import either.
- read: consumer_offset_info, groups=[group], storage=kafka, log_offsets=true (log start and end per partition).
- move: consumer_offset, storage=kafka, topics=[topic], target=offset for all 2,000 partitions, backup on (in a
  temporary directory). Warm runs set WARM_TARGET, cold runs COLD_TARGET and the baseline BASELINE_TARGET, so each
  module run changes every partition.

The baselines, measured in the same run with kafka-python directly, send one request per partition and wait for its
answer, on clients connected beforehand (no connection, metadata or coordinator lookup is timed, which favours
them):
- read: one OffsetFetch per partition (list_group_offsets({group: [tp]})): the issue's "one request per
  partition", and the figure the 10x is judged against. Because the module also returns each partition's log
  start and end, the like-for-like baseline (OffsetFetch plus ListOffsets for start and for end, three requests
  per partition) is printed too, for information.
- move: one OffsetCommit per partition (alter_group_offsets(group, {tp: ...})); the module also reads the group and
  the log ranges before and reads back after, which the baseline does not.
BASELINE_PARTITIONS of them (spread evenly over the topic, so every broker leads some) are timed and the time is
scaled linearly to 2,000, as the output says.

If a module misses a target (its time or its speed-up), one more warm run of it is profiled: the wall-clock time of
each broker call (kafka-python does its I/O on a thread of its own, which cProfile does not see) and cProfile's
heaviest calls. `--profile` profiles both modules regardless. Prints medians of RUNS runs; only wrong module
results stop the run, a missed target is reported (FAIL) with the figures.
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import json
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".ansible" / "collections"))
sys.path.insert(0, str(REPO))

# kafka-python is imported only where this process needs it: a cold child must import it inside main().
from ansible.module_utils import basic  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.kafka_client import KafkaBrokers  # noqa: E402
from ansible_collections.kafka_ops.remediation.plugins.modules import (  # noqa: E402
    consumer_offset, consumer_offset_info)
from lab import kafka_groups, layout, topics  # noqa: E402
from lab.scenarios import unique_name  # noqa: E402

PARTITIONS = 2_000
RECORDS_PER_PARTITION = 5
# All within the log (0..RECORDS_PER_PARTITION) and all different: every module run moves every partition.
COMMITTED_OFFSET = 2
WARM_TARGET = 1
COLD_TARGET = 3
BASELINE_TARGET = 2
RUNS = 5
BASELINE_PARTITIONS = 400
READ_BUDGET = 1.0
MOVE_BUDGET = 2.0
NEEDED_SPEED_UP = 10
BOOTSTRAP = layout.BOOTSTRAP.split(",")
COORDINATOR_WAIT = 60.0
MODULES = {"consumer_offset_info": consumer_offset_info, "consumer_offset": consumer_offset}
PROFILE_LINES = 25
# The broker client's calls whose wall-clock time a profiled run lists: cProfile sees only the main thread, which
# waits while kafka-python's I/O thread connects, fetches metadata and talks to the brokers. _client and
# _admin_client create (and connect) the KafkaConsumer and the KafkaAdminClient on first use.
TIMED_CALLS = ("_client", "_admin_client", "log_start_offsets", "log_end_offsets", "offsets_for_time",
               "topic_partitions", "list_groups", "describe_groups", "committed_offsets", "commit_offsets",
               "delete_offsets", "close")


class ModuleExit(Exception):
    def __init__(self, result):
        super().__init__("module exit")
        self.result = result


def run_module(name: str, args: dict, profiler: cProfile.Profile | None = None) -> tuple[float, dict]:
    """(seconds inside main(), its result); exit_json and fail_json end main() as they do under ansible."""
    def leave(_module, **result):
        raise ModuleExit(result)

    with contextlib.ExitStack() as stack:
        stack.enter_context(patch_module_args(args))
        stack.enter_context(mock.patch.object(basic.AnsibleModule, "exit_json", leave))
        stack.enter_context(mock.patch.object(basic.AnsibleModule, "fail_json", leave))
        if profiler is not None:
            profiler.enable()
        start = time.monotonic()
        try:
            MODULES[name].main()
        except ModuleExit as finished:
            elapsed = time.monotonic() - start
            if profiler is not None:
                profiler.disable()
            if finished.result.get("failed"):
                raise SystemExit(f"{name} failed: {finished.result['msg']}")
            return elapsed, finished.result
    raise SystemExit(f"{name} returned without exiting")


def checked(name: str, result: dict, group: str, target: int | None) -> None:
    """Stop on a wrong result: every partition read (with its log end), or every partition moved to target."""
    if name == "consumer_offset_info":
        rows = [row for row in result["offsets"] if row["group"] == group]
        if len(rows) != PARTITIONS or any(row["log_end_offset"] != RECORDS_PER_PARTITION for row in rows):
            raise SystemExit(f"consumer_offset_info read {len(rows)} partitions, not {PARTITIONS}: {rows[:2]}")
    else:
        moved = [entry for entry in result["plan"] if entry["before"] != entry["after"] == target]
        if not result["changed"] or len(moved) != PARTITIONS:
            raise SystemExit(f"consumer_offset moved {len(moved)} partitions to {target}, not {PARTITIONS}: "
                             f"{result.get('read_back')}")


def cold_child(name: str, args_json: str, group: str, target: str) -> None:
    """The child of cold_run: one module run in this fresh process, its time printed as JSON."""
    if "kafka" in sys.modules:
        raise SystemExit("kafka-python was imported before main(): the cold run would not pay its import")
    elapsed, result = run_module(name, json.loads(args_json))
    checked(name, result, group, int(target) if target != "-" else None)
    print(json.dumps({"seconds": elapsed}))


def cold_run(name: str, args: dict, group: str, target: int | None = None) -> float:
    """Seconds inside main() of one run in a fresh process, as ansible runs every task."""
    child = subprocess.run([sys.executable, __file__, "--cold", name, json.dumps(args), group,
                            "-" if target is None else str(target)], capture_output=True, text=True, check=False, timeout=600)
    if child.returncode:
        raise SystemExit(f"the cold {name} run failed: {child.stderr.strip() or child.stdout.strip()}")
    return json.loads(child.stdout.strip().splitlines()[-1])["seconds"]


def produce(topic: str) -> None:
    """RECORDS_PER_PARTITION small records in every partition, batched per partition."""
    from kafka import KafkaProducer  # pylint: disable=import-outside-toplevel

    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=50, acks=1)
    try:
        futures = [producer.send(topic, value=b"bench-%d-%d" % (partition, n), partition=partition)
                   for n in range(RECORDS_PER_PARTITION) for partition in range(PARTITIONS)]
        producer.flush(timeout=120)
        for future in futures:
            future.get(timeout=0)
    finally:
        producer.close()


def commit_everything(group: str, topic: str, offset: int) -> None:
    """One OffsetCommit for every partition as an admin: the group exists from then on, Empty.

    On a freshly started lab the first group makes the brokers create __consumer_offsets, and its coordinator is
    unavailable until that is done: retried for up to COORDINATOR_WAIT seconds."""
    from kafka import errors  # pylint: disable=import-outside-toplevel
    from kafka.structs import OffsetAndMetadata, TopicPartition  # pylint: disable=import-outside-toplevel

    offsets = {TopicPartition(topic, p): OffsetAndMetadata(offset, "", -1) for p in range(PARTITIONS)}
    deadline = time.monotonic() + COORDINATOR_WAIT
    admin = topics.admin_client()
    try:
        while True:
            try:
                answers = admin.alter_group_offsets(group, offsets)
                break
            except (errors.CoordinatorNotAvailableError, errors.CoordinatorLoadInProgressError,
                    errors.NotCoordinatorError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
    finally:
        admin.close()
    refused = {tp: error for tp, error in answers.items() if error.__name__ != "NoError"}
    if len(answers) != PARTITIONS or refused:
        raise SystemExit(f"setting up the group's offsets failed: {len(answers)} answers, refused {refused}")


class Baseline:
    """One request per partition on clients connected beforehand, timed over a sample of the partitions."""

    def __init__(self, group: str, topic: str) -> None:
        import kafka  # pylint: disable=import-outside-toplevel
        from kafka.structs import OffsetAndMetadata  # pylint: disable=import-outside-toplevel

        self.group = group
        self.offset_and_metadata = OffsetAndMetadata
        step = PARTITIONS // BASELINE_PARTITIONS
        self.sample = [kafka.TopicPartition(topic, p) for p in range(0, PARTITIONS, step)][:BASELINE_PARTITIONS]
        self.admin = kafka.KafkaAdminClient(bootstrap_servers=BOOTSTRAP, client_id="bench-baseline")
        self.consumer = kafka.KafkaConsumer(bootstrap_servers=BOOTSTRAP, client_id="bench-baseline", group_id=None,
                                            enable_auto_commit=False)
        # Connect, learn the coordinator and the topic's leaders before timing anything.
        self.admin.list_group_offsets({group: self.sample[:1]})
        self.consumer.end_offsets(self.sample)

    def read(self) -> tuple[float, float]:
        """(OffsetFetch per partition, OffsetFetch + ListOffsets start + ListOffsets end per partition), in
        seconds for the sample."""
        start = time.monotonic()
        for tp in self.sample:
            found = self.admin.list_group_offsets({self.group: [tp]})[self.group]
            assert found[tp].offset >= 0, found
        fetch_only = time.monotonic() - start
        start = time.monotonic()
        for tp in self.sample:
            self.admin.list_group_offsets({self.group: [tp]})
            self.consumer.beginning_offsets([tp])
            self.consumer.end_offsets([tp])
        return fetch_only, time.monotonic() - start

    def move(self, offset: int) -> float:
        """One OffsetCommit per partition, in seconds for the sample."""
        start = time.monotonic()
        for tp in self.sample:
            answer = self.admin.alter_group_offsets(self.group, {tp: self.offset_and_metadata(offset, "", -1)})
            assert answer[tp].__name__ == "NoError", answer
        return time.monotonic() - start

    def close(self) -> None:
        self.admin.close()
        self.consumer.close()


@contextlib.contextmanager
def broker_call_timeline():
    """Records (depth, call, seconds) for every TIMED_CALLS call of KafkaBrokers, in the order they end."""
    timeline: list[tuple[int, str, float]] = []
    depth = [0]

    def timed(name, original):
        def call(self, *args, **kwargs):
            depth[0] += 1
            start = time.monotonic()
            try:
                return original(self, *args, **kwargs)
            finally:
                depth[0] -= 1
                timeline.append((depth[0], name, time.monotonic() - start))
        return call

    with contextlib.ExitStack() as stack:
        for name in TIMED_CALLS:
            stack.enter_context(mock.patch.object(KafkaBrokers, name, timed(name, getattr(KafkaBrokers, name))))
        yield timeline


def profile_run(name: str, args: dict) -> None:
    """One more warm run under cProfile, with the wall-clock time of each broker call beside it."""
    profiler = cProfile.Profile()
    with broker_call_timeline() as timeline:
        elapsed, _result = run_module(name, args, profiler)
    print(f"--- where one warm {name} run's {elapsed:.3f} s go: broker client calls (wall clock, in the order they "
          "ended; indented = inside the call below) ---")
    for depth, call, seconds in timeline:
        print(f"  {'  ' * depth}{call:<20} {seconds:.3f} s")
    print(f"  sum of the outermost calls {sum(s for d, _c, s in timeline if d == 0):.3f} s; the rest is the module's "
          "own Python (argument parsing, planning, the backup, building the result)")
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(PROFILE_LINES)
    print(f"--- cProfile of the same run (main thread, cumulative, top {PROFILE_LINES}) ---")
    print("\n".join(line for line in text.getvalue().splitlines() if line.strip()))


def runs(times: list[float]) -> str:
    return ", ".join(f"{t:.3f}" for t in times)


def report(label: str, warm: list[float], cold: list[float], baseline: list[float], baseline_name: str,
           budget: float) -> bool:
    warm_median, cold_median, baseline_median = (statistics.median(times) for times in (warm, cold, baseline))
    speed_up = baseline_median / warm_median
    print(f"{label}: module median cold {cold_median:.3f} s (runs {runs(cold)}), warm {warm_median:.3f} s (runs "
          f"{runs(warm)}); target < {budget:g} s (cold): {'holds' if cold_median < budget else 'MISSED'}")
    print(f"  baseline, {baseline_name}: median {baseline_median:.3f} s for {PARTITIONS} partitions (runs "
          f"{runs(baseline)}); speed-up {speed_up:.1f}x over warm (need >= {NEEDED_SPEED_UP}x): "
          f"{'holds' if speed_up >= NEEDED_SPEED_UP else 'MISSED'}")
    return cold_median < budget and speed_up >= NEEDED_SPEED_UP


def measure(topic: str, group: str, backups: str, force_profile: bool) -> bool:
    common = dict(storage="kafka", kafka_bootstrap_servers=BOOTSTRAP)
    read_args = dict(common, groups=[group])
    move_args = dict(common, group=group, topics=[topic], target="offset", backup_dir=backups)
    scale = PARTITIONS / BASELINE_PARTITIONS
    times: dict[str, list[float]] = {key: [] for key in (
        "read warm", "read cold", "move warm", "move cold", "fetch", "fetch and ranges", "commit")}
    baseline = Baseline(group, topic)
    try:
        for _run in range(RUNS):
            elapsed, result = run_module("consumer_offset_info", read_args)
            checked("consumer_offset_info", result, group, None)
            times["read warm"].append(elapsed)
            times["read cold"].append(cold_run("consumer_offset_info", read_args, group))
            fetch_only, with_ranges = baseline.read()
            times["fetch"].append(fetch_only * scale)
            times["fetch and ranges"].append(with_ranges * scale)

            elapsed, result = run_module("consumer_offset", dict(move_args, offset=WARM_TARGET))
            checked("consumer_offset", result, group, WARM_TARGET)
            times["move warm"].append(elapsed)
            times["commit"].append(baseline.move(BASELINE_TARGET) * scale)
            times["move cold"].append(cold_run("consumer_offset", dict(move_args, offset=COLD_TARGET), group,
                                               COLD_TARGET))
    finally:
        baseline.close()

    print(f"bench_kafka_offsets: {PARTITIONS} partitions (RF 1 over 3 brokers, {RECORDS_PER_PARTITION} records "
          f"each), one Empty group committed on all, {RUNS} runs, brokers {','.join(BOOTSTRAP)}")
    print(f"  module times: inside main(); cold = fresh process (main() imports kafka-python), warm = in-process. "
          f"Baselines: {BASELINE_PARTITIONS} partitions timed per run, scaled linearly to {PARTITIONS}, on clients "
          "connected beforehand")
    read_ok = report("read (consumer_offset_info)", times["read warm"], times["read cold"], times["fetch"],
                     "one OffsetFetch per partition", READ_BUDGET)
    like_for_like = statistics.median(times["fetch and ranges"])
    print(f"  baseline, OffsetFetch + ListOffsets start + end per partition (what the module returns): median "
          f"{like_for_like:.3f} s; speed-up {like_for_like / statistics.median(times['read warm']):.1f}x over warm")
    move_ok = report("move (consumer_offset, all partitions)", times["move warm"], times["move cold"],
                     times["commit"], "one OffsetCommit per partition", MOVE_BUDGET)

    # A missed target (time or speed-up) gets one more profiled run, to say where the time goes.
    if force_profile or not read_ok:
        profile_run("consumer_offset_info", read_args)
    if force_profile or not move_ok:
        profile_run("consumer_offset", dict(move_args, offset=WARM_TARGET))
    return read_ok and move_ok


def main() -> None:
    force_profile = "--profile" in sys.argv[1:]
    topic = group = unique_name("bench-kafka-offsets")
    backups = tempfile.mkdtemp(prefix="bench-kafka-offsets-")
    try:
        began = time.monotonic()
        topics.create_topic(topic, partitions=PARTITIONS, replication=1)
        produce(topic)
        commit_everything(group, topic, COMMITTED_OFFSET)
        print(f"bench_kafka_offsets: set up topic and group {topic} in {time.monotonic() - began:.1f} s")
        passed = measure(topic, group, backups, force_profile)
        print("bench_kafka_offsets: " + ("PASS" if passed else "FAIL"))
    finally:
        shutil.rmtree(backups, ignore_errors=True)
        try:
            kafka_groups.delete(group)
        except Exception as error:  # pylint: disable=broad-except
            print(f"bench_kafka_offsets: could not delete group {group}: {type(error).__name__}: {error}")
        topics.delete_topic(topic)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--cold"]:
        cold_child(*sys.argv[2:6])
    else:
        main()
