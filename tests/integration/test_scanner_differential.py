# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The scanner's lines against Kafka's own DumpLogSegments on seeded damaged partitions (no lab needed).

Needs java and Kafka's jars (`make jars`); it starts no broker. For every entry DumpLogSegments prints with
`isvalid: false` while it still frames the entries as written, the scanner's `lines` hold the same line
(docs/docsite/rst/scanner.rst, "Agreement with Kafka's DumpLogSegments"). The long run is tools/scanner_differential.py.
"""

from __future__ import annotations

import os
import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from lab import layout  # noqa: E402  pylint: disable=wrong-import-position
from lab.topics import run_tool  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.damaged_segments import build_case  # noqa: E402
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.scanner_contract import (  # noqa: E402
    Findings, dump_log_disagreements, dump_log_segments, kinds, scan_partition)

SEED = 20240612
CASES = 400


@pytest.mark.skipif(not layout.java_binary() or not any(layout.jar_cache().glob("kafka_2.13-*.jar")),
                    reason="needs java and Kafka's jars: make jars")
def test_scanner_lines_match_dump_log_segments(tmp_path):
    cases = [build_case(SEED, number) for number in range(CASES)]
    directories = [case.write(str(tmp_path / str(number))) for number, case in enumerate(cases)]
    segments = [os.path.join(directory, segment.name) for case, directory in zip(cases, directories)
                for segment in case.segments]
    sections, _runs = dump_log_segments(segments, str(tmp_path), run_tool)
    assert len(sections) == len(segments)
    disagreements, compared = [], 0
    for case, directory in zip(cases, directories):
        findings = Findings(case.case_id)
        dump_log_disagreements(case, directory, scan_partition(directory), sections, findings)
        disagreements.extend(findings.disagreements)
        compared += findings.dump_lines_compared
    assert compared > 100, "too few damaged entries DumpLogSegments could frame to compare"
    print("\n".join(disagreements))
    assert not disagreements, "%d of %d DumpLogSegments isvalid:false lines missing from the scanner's lines: %s" % (
        len(disagreements), compared, dict(kinds(disagreements)))
