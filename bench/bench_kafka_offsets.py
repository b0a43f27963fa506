"""Benchmark consumer_offset_info and consumer_offset on a Kafka-stored group (__consumer_offsets) of 2,000 partitions.

Issue 12's targets, on the lab: reading the group's offsets within 1 s and moving all of them within 2 s of module
run time, each at least 10x faster than one request per partition.

Everything is real: a topic of 2,000 partitions on the lab's three brokers (127.0.0.11-13:9092), a few records in
every partition, and a fresh group whose offsets are committed for every partition through
KafkaAdminClient.alter_group_offsets (no member, so the group is Empty). The topic has replication factor 1, its
partitions spread over the three brokers by Kafka's own assignment: 6,000 replicas (RF 3) would overload the lab's
brokers, which share two cores with ZooKeeper and everything else. The group and the topic are deleted at the end,
also when something fails.

Each module's main() runs in-process, as ansible runs it minus the process start, with the real broker client
(kafka_client.KafkaBrokers, which connects and fetches metadata inside main()); the time inside main() is the
module run time. kafka-python is imported before the timed runs (the baseline needs it too); a fresh ansible
process pays that import inside main(), so its cost is measured in a child process and printed beside the targets.
- read: consumer_offset_info, groups=[group], storage=kafka, log_offsets=true (log start and end per partition).
- move: consumer_offset, storage=kafka, target=offset for every partition, alternating between two offsets so
  every run changes all 2,000, with a backup in a temporary directory.

The baselines, measured in the same run with kafka-python directly on clients connected beforehand (so they pay no
connection or metadata set-up, which favours them), send one request per partition and wait for its answer:
- read: one OffsetFetch per partition (list_group_offsets({group: [tp]})): the issue's "one request per
  partition", and the figure the 10x is judged against. Because the module also returns each partition's log
  start and end, the like-for-like baseline (OffsetFetch plus ListOffsets for start and for end, three requests
  per partition) is printed too, for information.
- move: one OffsetCommit per partition (alter_group_offsets(group, {tp: ...})); the module also reads the group and
  the log ranges before and reads back after, which the baseline does not.
BASELINE_PARTITIONS of them (spread evenly over the topic, so every broker leads some) are timed and the time is
scaled linearly to 2,000, as the output says.

If a module misses a target (its time or its speed-up), one more run of it is profiled with cProfile and the
heaviest calls are printed; `--profile` profiles both modules regardless. Prints medians of RUNS runs; no assertion fails the run on
a missed target (the figures are the result), only wrong module results do.
"""

from __future__ import annotations

import contextlib
import cProfile
import io
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

import kafka  # noqa: E402
import kafka.errors  # noqa: E402
from kafka.structs import OffsetAndMetadata, TopicPartition  # noqa: E402

from ansible.module_utils import basic  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.kafka_client import KafkaBrokers  # noqa: E402
from ansible_collections.kafka_ops.remediation.plugins.modules import (  # noqa: E402
    consumer_offset, consumer_offset_info)
from lab import kafka_groups, layout, topics  # noqa: E402
from lab.scenarios import unique_name  # noqa: E402

PARTITIONS = 2_000
RECORDS_PER_PARTITION = 5
COMMITTED_OFFSET = 2
# The module's two targets alternate, and the baseline commits COMMITTED_OFFSET between them: every run changes
# every partition it touches. All lie within the log (0..RECORDS_PER_PARTITION).
MODULE_TARGETS = (1, 3)
RUNS = 5
BASELINE_PARTITIONS = 400
READ_BUDGET = 1.0
MOVE_BUDGET = 2.0
NEEDED_SPEED_UP = 10
BOOTSTRAP = layout.BOOTSTRAP.split(",")
PROFILE_LINES = 25
# The broker client's calls whose wall-clock time a profiled run lists: cProfile sees only the main thread, which
# waits while kafka-python's I/O thread connects, fetches metadata and talks to the brokers. _client and
# _admin_client create (and connect) the KafkaConsumer and the KafkaAdminClient on first use.
TIMED_CALLS = ("_client", "_admin_client", "log_start_offsets", "log_end_offsets", "offsets_for_time",
               "topic_partitions", "list_groups", "describe_groups", "committed_offsets", "commit_offsets",
               "delete_offsets", "close")
COORDINATOR_WAIT = 60.0


class ModuleExit(Exception):
    def __init__(self, result):
        super().__init__("module exit")
        self.result = result


def run_module(main, args: dict, profiler: cProfile.Profile | None = None) -> tuple[float, dict]:
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
            main()
        except ModuleExit as finished:
            elapsed = time.monotonic() - start
            if profiler is not None:
                profiler.disable()
            if finished.result.get("failed"):
                raise SystemExit(f"module failed: {finished.result['msg']}")
            return elapsed, finished.result
    raise SystemExit("module returned without exiting")


def kafka_import_seconds() -> float:
    """What importing kafka-python costs a fresh process (every ansible module run pays it inside main())."""
    child = ("import time; began = time.perf_counter(); import kafka, kafka.errors; "
             "print(time.perf_counter() - began)")
    times = [float(subprocess.run([sys.executable, "-c", child], check=True, capture_output=True,
                                  text=True).stdout) for _ in range(3)]
    return statistics.median(times)


def produce(topic: str) -> None:
    """RECORDS_PER_PARTITION small records in every partition, batched per partition."""
    producer = kafka.KafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=50, acks=1)
    try:
        futures = [producer.send(topic, value=b"bench-%d-%d" % (partition, n), partition=partition)
                   for n in range(RECORDS_PER_PARTITION) for partition in range(PARTITIONS)]
        producer.flush(timeout=120)
        for future in futures:
            future.get(timeout=0)
    finally:
        producer.close()


def commit_everything(admin, group: str, topic: str, offset: int) -> None:
    """One OffsetCommit for every partition as an admin: the group exists from then on, Empty.

    On a freshly started lab the first group makes the brokers create __consumer_offsets, and its coordinator is
    unavailable until that is done: retried for up to COORDINATOR_WAIT seconds."""
    offsets = {TopicPartition(topic, p): OffsetAndMetadata(offset, "", -1) for p in range(PARTITIONS)}
    deadline = time.monotonic() + COORDINATOR_WAIT
    while True:
        try:
            answers = admin.alter_group_offsets(group, offsets)
            break
        except (kafka.errors.CoordinatorNotAvailableError, kafka.errors.CoordinatorLoadInProgressError,
                kafka.errors.NotCoordinatorError):
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    refused = {tp: error for tp, error in answers.items() if error.__name__ != "NoError"}
    if len(answers) != PARTITIONS or refused:
        raise SystemExit(f"setting up the group's offsets failed: {len(answers)} answers, refused {refused}")


def sample_partitions(topic: str) -> list[TopicPartition]:
    step = PARTITIONS // BASELINE_PARTITIONS
    return [TopicPartition(topic, p) for p in range(0, PARTITIONS, step)][:BASELINE_PARTITIONS]


def baseline_read(admin, consumer, group: str, sample: list[TopicPartition]) -> tuple[float, float]:
    """(OffsetFetch per partition, OffsetFetch + ListOffsets start + ListOffsets end per partition), in seconds
    for the sample."""
    start = time.monotonic()
    for tp in sample:
        found = admin.list_group_offsets({group: [tp]})[group]
        assert found[tp].offset >= 0, found
    fetch_only = time.monotonic() - start
    start = time.monotonic()
    for tp in sample:
        admin.list_group_offsets({group: [tp]})
        consumer.beginning_offsets([tp])
        consumer.end_offsets([tp])
    return fetch_only, time.monotonic() - start


def baseline_move(admin, group: str, sample: list[TopicPartition], offset: int) -> float:
    """One OffsetCommit per partition, in seconds for the sample."""
    start = time.monotonic()
    for tp in sample:
        answer = admin.alter_group_offsets(group, {tp: OffsetAndMetadata(offset, "", -1)})
        assert answer[tp].__name__ == "NoError", answer
    return time.monotonic() - start


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


def profile_run(label: str, main, args: dict) -> None:
    """One more run under cProfile, with the wall-clock time of each broker call beside it."""
    profiler = cProfile.Profile()
    with broker_call_timeline() as timeline:
        elapsed, _result = run_module(main, args, profiler)
    print(f"--- where one {label} run's {elapsed:.3f} s go: broker client calls (wall clock, in the order they "
          "ended; indented = inside the call below) ---")
    for depth, name, seconds in timeline:
        print(f"  {'  ' * depth}{name:<20} {seconds:.3f} s")
    print(f"  sum of the outermost calls {sum(s for d, n, s in timeline if d == 0):.3f} s; the rest is the module's "
          "own Python (argument parsing, planning, the backup, building the result)")
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(PROFILE_LINES)
    print(f"--- cProfile of the same run (main thread, cumulative, top {PROFILE_LINES}) ---")
    print("\n".join(line for line in text.getvalue().splitlines() if line.strip()))


def report(label: str, module_times: list[float], baseline_seconds: float, baseline_name: str,
           budget: float, import_seconds: float) -> bool:
    module_median = statistics.median(module_times)
    speed_up = baseline_seconds / module_median
    print(f"{label}: module median {module_median:.3f} s (runs {', '.join(f'{t:.3f}' for t in module_times)}); "
          f"target < {budget:g} s: {'holds' if module_median < budget else 'MISSED'} "
          f"(with a fresh process's kafka-python import, {module_median + import_seconds:.3f} s: "
          f"{'holds' if module_median + import_seconds < budget else 'missed'})")
    print(f"  baseline, {baseline_name}: median {baseline_seconds:.3f} s for {PARTITIONS} partitions; "
          f"speed-up {speed_up:.1f}x (need >= {NEEDED_SPEED_UP}x): {'holds' if speed_up >= NEEDED_SPEED_UP else 'MISSED'}")
    return module_median < budget and speed_up >= NEEDED_SPEED_UP


def measure(topic: str, group: str, backups: str, force_profile: bool) -> bool:
    common = dict(storage="kafka", kafka_bootstrap_servers=BOOTSTRAP)
    info_args = dict(common, groups=[group])
    scale = PARTITIONS / BASELINE_PARTITIONS
    sample = sample_partitions(topic)
    admin = kafka.KafkaAdminClient(bootstrap_servers=BOOTSTRAP, client_id="bench-baseline")
    consumer = kafka.KafkaConsumer(bootstrap_servers=BOOTSTRAP, client_id="bench-baseline", group_id=None,
                                   enable_auto_commit=False)
    try:
        # Connect, learn the coordinator and the topic's leaders before timing anything.
        admin.list_group_offsets({group: sample[:1]})
        consumer.end_offsets(sample)
        info_times, move_times, fetch_times, fetch_range_times, commit_times = [], [], [], [], []
        for run in range(RUNS):
            elapsed, result = run_module(consumer_offset_info.main, info_args)
            rows = [row for row in result["offsets"] if row["group"] == group]
            assert len(rows) == PARTITIONS and all(row["log_end_offset"] == RECORDS_PER_PARTITION for row in rows), \
                (len(rows), rows[:2])
            info_times.append(elapsed)
            fetch_only, with_ranges = baseline_read(admin, consumer, group, sample)
            fetch_times.append(fetch_only * scale)
            fetch_range_times.append(with_ranges * scale)

            target = MODULE_TARGETS[run % 2]
            elapsed, result = run_module(consumer_offset.main, dict(
                common, group=group, topics=[topic], target="offset", offset=target, backup_dir=backups))
            assert result["changed"] and len(result["plan"]) == PARTITIONS and \
                all(entry["after"] == target for entry in result["plan"]), result.get("read_back")
            move_times.append(elapsed)
            commit_times.append(baseline_move(admin, group, sample, COMMITTED_OFFSET) * scale)
    finally:
        admin.close()
        consumer.close()

    import_seconds = kafka_import_seconds()
    print(f"bench_kafka_offsets: {PARTITIONS} partitions (RF 1 over 3 brokers, {RECORDS_PER_PARTITION} records "
          f"each), one Empty group committed on all, {RUNS} runs, brokers {','.join(BOOTSTRAP)}")
    print(f"  baselines: {BASELINE_PARTITIONS} partitions timed per run, scaled linearly to {PARTITIONS}; "
          f"clients connected beforehand. Importing kafka-python costs a fresh process {import_seconds:.3f} s "
          "(not in the module times below)")
    read_ok = report("read  (consumer_offset_info)", info_times, statistics.median(fetch_times),
                     "one OffsetFetch per partition", READ_BUDGET, import_seconds)
    like_for_like = statistics.median(fetch_range_times)
    print(f"  baseline, OffsetFetch + ListOffsets start + end per partition (what the module returns): median "
          f"{like_for_like:.3f} s; speed-up {like_for_like / statistics.median(info_times):.1f}x")
    move_ok = report("move  (consumer_offset, all partitions)", move_times, statistics.median(commit_times),
                     "one OffsetCommit per partition", MOVE_BUDGET, import_seconds)

    # A missed target (time or speed-up) gets one more profiled run, to say where the time goes.
    if force_profile or not read_ok:
        profile_run("consumer_offset_info", consumer_offset_info.main, info_args)
    if force_profile or not move_ok:
        profile_run("consumer_offset", consumer_offset.main, dict(
            common, group=group, topics=[topic], target="offset", offset=MODULE_TARGETS[RUNS % 2], backup_dir=backups))
    return read_ok and move_ok


def main() -> None:
    force_profile = "--profile" in sys.argv[1:]
    topic = group = unique_name("bench-kafka-offsets")
    backups = tempfile.mkdtemp(prefix="bench-kafka-offsets-")
    try:
        began = time.monotonic()
        topics.create_topic(topic, partitions=PARTITIONS, replication=1)
        produce(topic)
        admin = topics.admin_client()
        try:
            commit_everything(admin, group, topic, COMMITTED_OFFSET)
        finally:
            admin.close()
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
    main()
