# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The long differential run of the log scanner: seeded damaged partitions against their ground truth and Kafka.

    .venv/bin/python tools/scanner_differential.py [--cases 2000] [--seed 1] [--no-dump-log]
    .venv/bin/python tools/scanner_differential.py --case SEED:CASE [--keep DIR]

Each case (tests/unit/helpers/damaged_segments.py) is scanned the ways a playbook scans and checked against the
contract in tests/unit/helpers/scanner_contract.py; with DumpLogSegments on (the default; needs java and the jars
of `make jars`), every `isvalid: false` line Kafka prints must be in the scanner's `lines`. Prints every
disagreement with its case id, then a summary; exits 1 on any disagreement. `--case` rebuilds one case, prints
its truth and findings, and with `--keep DIR` leaves its partition directory there.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time
from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple

REPO = pathlib.Path(__file__).resolve().parents[1]
COLLECTIONS = REPO / ".ansible" / "collections"
LINK = COLLECTIONS / "ansible_collections" / "kafka_ops" / "remediation"
if not LINK.exists():
    LINK.parent.mkdir(parents=True, exist_ok=True)
    LINK.symlink_to(REPO, target_is_directory=True)
sys.path[:0] = [str(COLLECTIONS), str(REPO)]

# pylint: disable=wrong-import-position
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.damaged_segments import (  # noqa: E402
    Case, build_case, build_case_by_id)
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.scanner_contract import (  # noqa: E402
    Findings, check_case, dump_log_disagreements, dump_log_segments, kind_of, python_crc32c_scans, scan_partition)

# Cases built, scanned and compared together: one temporary directory, one pure-Python child, few JVM runs.
CHUNK = 250


def dump_tool():
    """lab.topics.run_tool when java and the lab's jars are there; otherwise why not."""
    from lab import layout  # pylint: disable=import-outside-toplevel
    from lab.topics import run_tool  # pylint: disable=import-outside-toplevel
    if not layout.java_binary():
        raise SystemExit("java not found: install Java 17 (make system-deps) or pass --no-dump-log")
    if not any(layout.jar_cache().glob("kafka_2.13-*.jar")):
        raise SystemExit("Kafka's jars are not in %s: run `make jars` or pass --no-dump-log" % layout.jar_cache())
    return run_tool


def check_written(cases: Sequence[Case], directories: Sequence[str], scratch: str, run_tool) -> Tuple[List[Findings], int]:
    """Check ``cases`` written at ``directories``; returns their findings and how many JVM runs DumpLogSegments took."""
    python_results = python_crc32c_scans(directories)
    findings = [check_case(case, directory, result) for case, directory, result in zip(cases, directories, python_results)]
    runs = 0
    if run_tool is not None:
        segments = [os.path.join(directory, segment.name) for case, directory in zip(cases, directories)
                    for segment in case.segments]
        sections, runs = dump_log_segments(segments, scratch, run_tool)
        for case, directory, found in zip(cases, directories, findings):
            dump_log_disagreements(case, directory, scan_partition(directory), sections, found)
    return findings, runs


def summary(cases: int, damaged: int, torn: int, findings: Sequence[Findings], runs: Optional[int], seconds: float) -> str:
    disagreements = [line for found in findings for line in found.disagreements]
    limits = [line for found in findings for line in found.limits]
    lines = ["", "== summary: %d cases, %d damaged entries, %d torn tails, %.0f s" % (cases, damaged, torn, seconds)]
    for title, items in (("disagreements", disagreements), ("limits (allowed)", limits)):
        by_kind: Dict[str, Counter] = {}
        first_case: Dict[str, str] = {}
        for line in items:
            kind = kind_of(line)
            by_kind.setdefault(kind, Counter())[line.split(" ", 1)[0]] += 1
            first_case.setdefault(kind, line.split(" ", 1)[0])
        lines.append("%s: %d in %d cases" % (title, len(items), len({line.split(" ", 1)[0] for line in items})))
        for kind, per_case in sorted(by_kind.items(), key=lambda item: -sum(item[1].values())):
            lines.append("  %6d in %4d cases  %s  (e.g. %s)" % (sum(per_case.values()), len(per_case), kind, first_case[kind]))
    if runs is None:
        lines.append("DumpLogSegments: not run (--no-dump-log)")
    else:
        lines.append("DumpLogSegments: %d isvalid:false lines compared, %d JVM runs" % (
            sum(found.dump_lines_compared for found in findings), runs))
    return "\n".join(lines)


def one_case(case_id: str, keep: Optional[str], run_tool) -> int:
    case = build_case_by_id(case_id)
    print(case.describe())
    print("start offset for the start-offset check: %s" % case.start_offset)
    with tempfile.TemporaryDirectory() as scratch:
        directory = case.write(keep or scratch)
        findings, _runs = check_written([case], [directory], scratch, run_tool)
        for record in scan_partition(directory)["corrupt_records"]:
            print("scanner: %s@%d %s %s..%s next %s (%d bytes)" % (
                os.path.basename(record["segment"]), record["position"], record["reason"], record["first_offset"],
                record["last_offset"], record["next_valid_offset"], record["length"]))
    if keep:
        print("partition directory: %s" % directory)
    for line in findings[0].disagreements + findings[0].limits:
        print(line)
    return 1 if findings[0].disagreements else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cases", type=int, default=2000, help="how many cases (default 2000)")
    parser.add_argument("--seed", type=int, default=1, help="the seed: case ids are SEED:0 .. SEED:N-1 (default 1)")
    parser.add_argument("--dump-log", dest="dump_log", action="store_true", default=True,
                        help="compare with Kafka's DumpLogSegments (the default)")
    parser.add_argument("--no-dump-log", dest="dump_log", action="store_false", help="skip DumpLogSegments")
    parser.add_argument("--case", help="check one case, SEED:CASE, and print its truth and findings")
    parser.add_argument("--keep", help="with --case: write its partition directory under this directory and leave it")
    args = parser.parse_args(argv)
    if args.keep and not args.case:
        parser.error("--keep needs --case")
    run_tool = dump_tool() if args.dump_log else None
    if args.case:
        return one_case(args.case, args.keep, run_tool)
    began = time.monotonic()
    findings: List[Findings] = []
    damaged = torn = runs = 0
    for chunk_start in range(0, args.cases, CHUNK):
        cases = [build_case(args.seed, number) for number in range(chunk_start, min(args.cases, chunk_start + CHUNK))]
        damaged += sum(len(case.damaged_entries) for case in cases)
        torn += sum(1 for case in cases if case.torn_tail)
        with tempfile.TemporaryDirectory() as scratch:
            directories = [case.write(os.path.join(scratch, "case-%d" % number)) for number, case in enumerate(cases)]
            found, chunk_runs = check_written(cases, directories, scratch, run_tool)
        runs += chunk_runs
        findings.extend(found)
        for line in (line for item in found for line in item.disagreements):
            print(line)
        sys.stdout.flush()
    print(summary(args.cases, damaged, torn, findings, runs if args.dump_log else None, time.monotonic() - began))
    return 1 if any(found.disagreements for found in findings) else 0


if __name__ == "__main__":
    sys.exit(main())
