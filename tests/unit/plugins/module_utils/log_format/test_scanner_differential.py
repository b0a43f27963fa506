# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The scanner against the ground truth of seeded damaged partitions (tests/unit/helpers/damaged_segments.py).

Every case is checked the ways a playbook scans (mode all, mode first, from a start offset, with the pure-Python
CRC-32C) against the contract in tests/unit/helpers/scanner_contract.py. A failure prints every disagreement;
rebuild one case on disk with ``.venv/bin/python tools/scanner_differential.py --case SEED:CASE --keep DIR``.
The long run (thousands of cases, with Kafka's DumpLogSegments) is that tool without ``--case``.
"""

from __future__ import annotations

import pytest
from kafka.record import MemoryRecords

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.damaged_segments import build_case
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.scanner_contract import (
    check_case, kinds, python_crc32c_scans)

SEED = 20240611
CASES = 300


@pytest.mark.parametrize("number", range(0, CASES, 30))
def test_entries_are_stored_as_a_broker_stores_them(number):
    """The truth the checks rely on: every entry reads back with kafka-python at the offsets the case says."""
    case = build_case(SEED, number)
    for entry in case.entries:
        batches = MemoryRecords(entry.original)
        batch = batches.next_batch()
        valid = batch.validate_crc()
        offsets = [record.offset for record in batch]
        assert (valid, offsets[0], offsets[-1], batch.magic) == (
            True, entry.first_offset, entry.last_offset, entry.magic), entry.describe()
        assert not batches.has_next()
        if entry.intact:
            stored = bytearray(case.segments[entry.segment].data[entry.position:entry.end])
            if entry.magic == 2:
                # partitionLeaderEpoch: no reader checks it, so a change there leaves the entry intact.
                stored[12:16] = entry.original[12:16]
            assert stored == entry.original, entry.describe()
    following = [(earlier.last_offset + 1, later.first_offset) for earlier, later in zip(case.entries, case.entries[1:])]
    assert all(expected == got for expected, got in following), "offsets are dense"


def test_scanner_agrees_with_the_ground_truth(tmp_path):
    cases = [build_case(SEED, number) for number in range(CASES)]
    directories = [case.write(str(tmp_path / str(number))) for number, case in enumerate(cases)]
    python_results = python_crc32c_scans(directories)
    disagreements, limits = [], []
    for case, directory, python_result in zip(cases, directories, python_results):
        findings = check_case(case, directory, python_result)
        disagreements.extend(findings.disagreements)
        limits.extend(findings.limits)
    print("\n".join(disagreements))
    assert not disagreements, "%d cases, %d damaged entries: %d disagreements, by kind %s (limits allowed: %s)" % (
        len(cases), sum(len(case.damaged_entries) for case in cases), len(disagreements),
        dict(kinds(disagreements).most_common()), dict(kinds(limits)))
