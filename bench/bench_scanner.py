# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark of corrupt_record_info's scanner on a 1 GiB v2 segment of 16 KiB batches (page cache warm).

Prints, each a median of several runs, measured in this one run:
- scanner throughput with the C CRC-32C, and its peak RSS (the scan runs in a child process);
- CRC-32C alone over the same file read in 1 MiB chunks (the scanner should reach at least half of it);
- Kafka's DumpLogSegments --files on the same file (the scanner should be at least 3x faster);
- the pure-Python CRC-32C fallback: scanner throughput on a smaller segment, and the production path
  "start at a committed offset via the .index, stop at the first damage" on the 1 GiB segment;
- resynchronisation: a 64 MiB segment with 8 MiB of zeros (and, apart, 8 MiB of random bytes) in the middle,
  with and without its .index, against the baseline scanner on the same files;
- the evidence options (this checkout only): digest_offsets on the damaged offset and on an intact one in the
  middle of the 1 GiB segment, and capture_bytes on the damaged batch.
The baseline is the scanner of another checkout, run in the same way in the same run: BENCH_BASELINE=<checkout>,
or by default a temporary git worktree at BASELINE_COMMIT (the scanner before issue 11).
No assertions: the figures go into the closing note.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
COLLECTIONS = REPO / ".ansible" / "collections"
sys.path.insert(0, str(COLLECTIONS))

import crc32c  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.segment_builder import (  # noqa: E402  pylint: disable=wrong-import-position
    v2_batch)

SEGMENT_BYTES = 1 << 30
BATCH_BYTES = 16 << 10
FALLBACK_SEGMENT_BYTES = 16 << 20
RUNS = 5
RESYNC_SEGMENT_BYTES = 64 << 20
RESYNC_DAMAGE_BYTES = 8 << 20
BASELINE_COMMIT = "322210a"
JAR_CACHE = pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache") / "kafka_ops_lab" / \
    "kafka-3.9.1"

# The child that scans: prints its own scan time and peak RSS. ``force_python`` hides the C CRC-32C packages.
CHILD = r"""
import json, resource, sys, time
if sys.argv[1] == "python":
    sys.modules["crc32c"] = None
    sys.modules["google_crc32c"] = None
sys.path.insert(0, sys.argv[2])
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format import log_dir_scan
targets = log_dir_scan.targets_for_paths([sys.argv[3]])
start = None if sys.argv[4] == "-" else int(sys.argv[4])
began = time.perf_counter()
result = log_dir_scan.scan(targets, {}, start, sys.argv[5])
seconds = time.perf_counter() - began
print(json.dumps({"seconds": seconds, "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "bytes": result["scanned"]["bytes"], "implementation": result["crc32c_implementation"],
                  "records": [(r["first_offset"], r["next_valid_offset"]) for r in result["corrupt_records"]]}))
"""


# The child that digests: the module's evidence steps after a ``mode: first`` scan from the committed offset.
EVIDENCE_CHILD = r"""
import json, sys, time
if sys.argv[1] == "python":
    sys.modules["crc32c"] = None
    sys.modules["google_crc32c"] = None
sys.path.insert(0, sys.argv[2])
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format import entry_evidence, log_dir_scan
targets = log_dir_scan.targets_for_paths([sys.argv[3]])
offsets = [int(offset) for offset in sys.argv[4].split(",")]
began = time.perf_counter()
digests = entry_evidence.offset_digests(targets, {targets[0].partition: offsets})
digest_seconds = time.perf_counter() - began
result = log_dir_scan.scan(targets, {}, offsets[0], "first")
began = time.perf_counter()
entry_evidence.capture_damaged(result["corrupt_records"], 1 << 20)
print(json.dumps({"digest_seconds": digest_seconds, "capture_seconds": time.perf_counter() - began,
                  "digests": [(d["offset"], d["valid"], d["reason"]) for d in digests],
                  "captured": [len(r["captured"]) for r in result["corrupt_records"]]}))
"""


def template_batch() -> bytes:
    """One ~16 KiB batch of 16 records; baseOffset is outside the CRC, so copies at other offsets stay valid."""
    records = 16
    value = b"v" * (BATCH_BYTES // records - 20)
    batch = v2_batch(0, [value] * records)
    return batch


def write_segment(directory: pathlib.Path, total_bytes: int) -> tuple:
    """<dir>/bench-0/00000000000000000000.log (+ .index, one entry per batch as Kafka writes at 4 KiB)."""
    partition = directory / "bench-0"
    partition.mkdir()
    batch = bytearray(template_batch())
    per_batch = 16
    count = total_bytes // len(batch)
    index = bytearray()
    with open(partition / ("%020d.log" % 0), "wb") as log:
        for number in range(count):
            struct.pack_into(">q", batch, 0, number * per_batch)
            log.write(batch)
            if number:
                index += struct.pack(">ii", number * per_batch + per_batch - 1, number * len(batch))
    (partition / ("%020d.index" % 0)).write_bytes(bytes(index))
    return partition, count, len(batch), per_batch


def warm(path: pathlib.Path) -> None:
    with open(path, "rb", buffering=0) as handle:
        buffer = bytearray(1 << 20)
        while handle.readinto(buffer):
            pass


def child_scan(implementation: str, target: pathlib.Path, start="-", mode="all", collections=COLLECTIONS) -> dict:
    output = subprocess.run([sys.executable, "-c", CHILD, implementation, str(collections), str(target), str(start),
                             mode], check=True, capture_output=True, text=True).stdout
    return json.loads(output)


def evidence_figures(partition: pathlib.Path, offsets: list) -> None:
    for implementation in ("c", "python"):
        runs = [json.loads(subprocess.run(
            [sys.executable, "-c", EVIDENCE_CHILD, implementation, str(COLLECTIONS), str(partition),
             ",".join(str(offset) for offset in offsets)], check=True, capture_output=True, text=True).stdout)
            for _run in range(RUNS)]
        print("evidence (%s CRC-32C), median of %d: digest_offsets %s in the 1 GiB segment %.4f s (%s); "
              "capture_bytes 1 MiB of the damaged batch %.4f s (base64 lengths %s)" % (
                  implementation, RUNS, offsets, statistics.median(run["digest_seconds"] for run in runs),
                  runs[0]["digests"], statistics.median(run["capture_seconds"] for run in runs),
                  runs[0]["captured"]))


def baseline_collections(workdir: pathlib.Path) -> tuple:
    """(collections path of the baseline checkout, cleanup) from BENCH_BASELINE or a temporary git worktree."""
    given = os.environ.get("BENCH_BASELINE")
    checkout = pathlib.Path(given) if given else workdir / "baseline"
    if not given:
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(checkout), BASELINE_COMMIT],
                       check=True, capture_output=True)
    link = checkout / ".ansible" / "collections" / "ansible_collections" / "kafka_ops" / "remediation"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(checkout)

    def cleanup() -> None:
        if not given:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(checkout)],
                           check=False, capture_output=True)
    return checkout / ".ansible" / "collections", cleanup


def write_resync_case(directory: pathlib.Path, filler: str, with_index: bool) -> tuple:
    """A 64 MiB segment of 16 KiB batches with 8 MiB in the middle overwritten; (partition, next valid offset)."""
    partition, _count, batch_size, per_batch = write_segment(directory, RESYNC_SEGMENT_BYTES)
    segment = partition / ("%020d.log" % 0)
    start = RESYNC_SEGMENT_BYTES // 2 // batch_size * batch_size + 100
    with open(segment, "r+b") as handle:
        handle.seek(start)
        handle.write(bytes(RESYNC_DAMAGE_BYTES) if filler == "zeros" else os.urandom(RESYNC_DAMAGE_BYTES))
    if not with_index:
        (partition / ("%020d.index" % 0)).unlink()
    next_batch = (start + RESYNC_DAMAGE_BYTES) // batch_size + 1
    warm(segment)
    return partition, next_batch * per_batch


def resync_figures(workdir: pathlib.Path, baseline: pathlib.Path) -> None:
    for filler in ("zeros", "random"):
        for with_index in (True, False):
            case = workdir / ("resync-%s-%s" % (filler, "index" if with_index else "noindex"))
            case.mkdir()
            partition, expected = write_resync_case(case, filler, with_index)
            ours = [child_scan("c", partition) for _run in range(RUNS)]
            theirs = [child_scan("c", partition, collections=baseline) for _run in range(3)]
            our_seconds = statistics.median(run["seconds"] for run in ours)
            their_seconds = statistics.median(run["seconds"] for run in theirs)
            found = ours[0]["records"]
            print("resync after 8 MiB of %s in a 64 MiB segment, %s .index: scanner %.3f s (median of %d), "
                  "baseline %.3f s (median of 3), %.1fx faster; next valid offset %s (expected %d), baseline %s" % (
                      filler, "with" if with_index else "without", our_seconds, RUNS, their_seconds,
                      their_seconds / our_seconds, [record[1] for record in found], expected,
                      [record[1] for record in theirs[0]["records"]]))
            shutil.rmtree(case, ignore_errors=True)


def crc_alone(path: pathlib.Path) -> float:
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    began = time.perf_counter()
    with open(path, "rb", buffering=0) as handle:
        while True:
            got = handle.readinto(buffer)
            if not got:
                break
            crc32c.crc32c(view[:got])
    return time.perf_counter() - began


def dump_log_segments(path: pathlib.Path) -> float:
    command = ["java", "-cp", str(JAR_CACHE / "*"), "kafka.tools.DumpLogSegments", "--files", str(path)]
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - began


def gib_per_second(size: int, seconds: float) -> str:
    return "%.2f GiB/s" % (size / seconds / (1 << 30))


def main() -> None:
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="bench-scanner-"))
    cleanup = None
    try:
        partition, count, batch_size, per_batch = write_segment(workdir, SEGMENT_BYTES)
        segment = partition / ("%020d.log" % 0)
        size = segment.stat().st_size
        warm(segment)
        print("segment: %s, %d batches of %d bytes, %.2f GiB, page cache warmed" % (
            segment, count, batch_size, size / (1 << 30)))

        baseline, cleanup = baseline_collections(workdir)
        # Alternate ours and the baseline so that both see the same machine.
        scans, baseline_scans = [], []
        for _run in range(RUNS):
            scans.append(child_scan("c", partition))
            baseline_scans.append(child_scan("c", partition, collections=baseline))
        scan_seconds = statistics.median(run["seconds"] for run in scans)
        baseline_seconds = statistics.median(run["seconds"] for run in baseline_scans)
        peak_rss = max(run["peak_rss_kib"] for run in scans)
        crc_seconds = statistics.median(crc_alone(segment) for _run in range(RUNS))
        print("scanner (%s CRC-32C), median of %d: %.3f s = %s; baseline scanner %.3f s = %s (ratio %.2f)" % (
            scans[0]["implementation"], RUNS, scan_seconds, gib_per_second(size, scan_seconds), baseline_seconds,
            gib_per_second(size, baseline_seconds), baseline_seconds / scan_seconds))
        print("CRC-32C alone, 1 MiB reads, median of %d: %.3f s = %s; scanner/CRC-alone = %.2f" % (
            RUNS, crc_seconds, gib_per_second(size, crc_seconds), crc_seconds / scan_seconds))
        print("peak RSS of the scanning process (max of %d): %.1f MiB" % (RUNS, peak_rss / 1024))
        if shutil.which("java") and JAR_CACHE.is_dir():
            dump_seconds = statistics.median(dump_log_segments(segment) for _run in range(3))
            print("DumpLogSegments --files, median of 3: %.3f s = %s; scanner is %.1fx faster" % (
                dump_seconds, gib_per_second(size, dump_seconds), dump_seconds / scan_seconds))
        else:
            print("DumpLogSegments: skipped, no java or no jar cache at %s" % JAR_CACHE)

        small = workdir / "small"
        small.mkdir()
        small_partition, _count, _size, _per = write_segment(small, FALLBACK_SEGMENT_BYTES)
        fallback = [child_scan("python", small_partition) for _run in range(3)]
        fallback_seconds = statistics.median(run["seconds"] for run in fallback)
        print("pure-Python fallback (%s), %d MiB segment, median of 3: %.3f s = %.1f MiB/s" % (
            fallback[0]["implementation"], FALLBACK_SEGMENT_BYTES >> 20, fallback_seconds,
            FALLBACK_SEGMENT_BYTES / fallback_seconds / (1 << 20)))

        # Damage one batch in the middle of the 1 GiB segment; the group's committed offset sits 40 batches before.
        damaged_batch = count // 2
        with open(segment, "r+b") as handle:
            handle.seek(damaged_batch * batch_size + batch_size - 2)
            byte = handle.read(1)
            handle.seek(-1, os.SEEK_CUR)
            handle.write(bytes([byte[0] ^ 1]))
        committed = (damaged_batch - 40) * per_batch + 3
        stops = [child_scan("python", partition, committed, "first") for _run in range(RUNS)]
        stop_seconds = statistics.median(run["seconds"] for run in stops)
        print("pure-Python fallback, start at committed offset %d via .index, stop at first damage, median of %d: "
              "%.3f s, %.1f MiB read, found %s" % (committed, RUNS, stop_seconds, stops[0]["bytes"] / (1 << 20),
                                                   stops[0]["records"]))
        c_stops = [child_scan("c", partition, committed, "first") for _run in range(RUNS)]
        print("same path with the C CRC-32C, median of %d: %.4f s" % (
            RUNS, statistics.median(run["seconds"] for run in c_stops)))
        evidence_figures(partition, [damaged_batch * per_batch + 5, (damaged_batch + 1000) * per_batch + 9])
        segment.unlink()
        resync_figures(workdir, baseline)
    finally:
        if cleanup is not None:
            cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
