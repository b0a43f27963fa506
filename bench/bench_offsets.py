# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark consumer_offset_info and consumer_offset on one group with 10,000 partitions.

Runs on the lab's ZooKeeper (127.0.0.10:2181) inside a throw-away chroot, so the lab's own data is untouched.
The topic exists only as ZooKeeper metadata (/brokers/topics/<t> with 10,000 partitions): a real 10,000-partition
topic would overload the shared three-broker lab. Log start/end offsets therefore come from a stub in place of
the Kafka client, so the range check still runs; everything ZooKeeper-side is real.

Each module's main() runs in-process (as ansible runs it, minus the process start) and is timed; the baseline,
measured in the same run, is one synchronous kazoo call per partition (get for reading, set for writing).
Prints medians of several runs.
"""

from __future__ import annotations

import contextlib
import pathlib
import statistics
import sys
import tempfile
import time
from unittest import mock

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".ansible" / "collections"))
sys.path.insert(0, str(REPO))

from ansible.module_utils import basic  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.module_runner import ModuleRunner  # noqa: E402
from ansible_collections.kafka_ops.remediation.plugins.modules import (  # noqa: E402
    consumer_offset, consumer_offset_info)
from lab.scenarios import private_group  # noqa: E402

ZK_HOSTS = "127.0.0.10:2181"
PARTITIONS = 10_000
RUNS = 5
GROUP = "bench-group"
TOPIC = "bench-topic"


class StubLogOffsets:
    """Stands in for the brokers: every partition's log spans 0..10^9."""

    def __init__(self, params, servers):
        self.params = params

    def log_start_offsets(self, partitions):
        return {key: 0 for key in partitions}

    def log_end_offsets(self, partitions):
        return {key: 10**9 for key in partitions}

    def close(self):
        pass


class ModuleExit(Exception):
    def __init__(self, result):
        super().__init__("module exit")
        self.result = result


def run_module(main, args: dict) -> tuple[float, dict]:
    def leave(_module, **result):
        raise ModuleExit(result)

    with contextlib.ExitStack() as stack:
        stack.enter_context(patch_module_args(args))
        stack.enter_context(mock.patch.object(basic.AnsibleModule, "exit_json", leave))
        stack.enter_context(mock.patch.object(basic.AnsibleModule, "fail_json", leave))
        stack.enter_context(mock.patch.object(ModuleRunner, "kafka_factory", StubLogOffsets))
        start = time.monotonic()
        try:
            main()
        except ModuleExit as finished:
            elapsed = time.monotonic() - start
            if finished.result.get("failed"):
                raise SystemExit(f"module failed: {finished.result['msg']}")
            return elapsed, finished.result
    raise SystemExit("module returned without exiting")


def main() -> None:
    backups = tempfile.mkdtemp(prefix="bench-offsets-")
    # Every partition on all three brokers, as the lab's topics are; the brokers themselves are stubbed.
    with private_group(GROUP, TOPIC, PARTITIONS, offset=b"0", replicas=(1, 2, 3),
                       chroot_prefix="kafka_ops_bench") as (chroot, zk):
        # The chroot is ZooKeeper metadata only: no broker there to ask whether Kafka also has the group.
        common = dict(zk_hosts=ZK_HOSTS, zk_chroot=chroot, storage="zookeeper")
        paths = [f"/consumers/{GROUP}/offsets/{TOPIC}/{p}" for p in range(PARTITIONS)]
        info_times, get_times, set_times, sync_set_times = [], [], [], []
        for run in range(RUNS):
            elapsed, result = run_module(consumer_offset_info.main, dict(common, groups=[GROUP]))
            assert len(result["offsets"]) == PARTITIONS, len(result["offsets"])
            info_times.append(elapsed)
            start = time.monotonic()
            for path in paths:
                zk.get(path)
            get_times.append(time.monotonic() - start)

            target = 1000 + run
            elapsed, result = run_module(consumer_offset.main, dict(
                common, group=GROUP, topics=[TOPIC], target="offset", offset=target, backup_dir=backups))
            assert result["changed"] and sum(1 for e in result["plan"] if e["after"] == target) == PARTITIONS
            set_times.append(elapsed)
            value = str(target + 500).encode()
            start = time.monotonic()
            for path in paths:
                zk.set(path, value)
            sync_set_times.append(time.monotonic() - start)

        def report(label, module_times, baseline_times, budget):
            module_median = statistics.median(module_times)
            baseline_median = statistics.median(baseline_times)
            print(f"{label}: module median {module_median:.3f} s (budget {budget} s, runs "
                  f"{', '.join(f'{t:.3f}' for t in module_times)}); one synchronous kazoo call per partition "
                  f"median {baseline_median:.3f} s; speed-up {baseline_median / module_median:.1f}x (need >= 10x)")
            return module_median <= budget and baseline_median / module_median >= 10

        print(f"bench_offsets: {PARTITIONS} partitions, one group, {RUNS} runs, ZooKeeper {ZK_HOSTS}{chroot}")
        info_ok = report("consumer_offset_info", info_times, get_times, 2)
        set_ok = report("consumer_offset (set all)", set_times, sync_set_times, 3)
        print("bench_offsets: " + ("PASS" if info_ok and set_ok else "FAIL"))


if __name__ == "__main__":
    main()
