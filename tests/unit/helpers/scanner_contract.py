# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The log scanner's contract, checked against the ground truth of a damaged partition (damaged_segments.py).

``check_case`` scans one case the ways a playbook can (mode all, mode first, from a start offset, with the
pure-Python CRC-32C) and returns every disagreement with the truth, each a line that starts with the case id
and its kind and says what was expected and what the scanner said. Changes nothing can show from the bytes on
disk (see ``Entry.limit`` and the snappy/lz4 note in docs/docsite/rst/scanner.rst) are counted apart, as limits.

``dump_log_segments`` and ``dump_log_disagreements`` compare the scanner's ``lines`` with what Kafka's own
DumpLogSegments prints for the same files.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import struct
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.log_dir_scan import scan, targets_for_paths
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.damaged_segments import Case, Entry

RECORD_FIELDS = ("segment", "position", "length", "reason", "first_offset", "last_offset", "next_valid_offset")
DUMP_POSITION = re.compile(r" position: (\d+) ")
DUMPING = "Dumping "
# DumpLogSegments takes its files as one comma-separated argument; Linux caps one argument at 128 KiB.
DUMP_ARGUMENT_BYTES = 100_000
# Kafka's FileLogInputStream throws on a size field below LegacyRecord.RECORD_OVERHEAD_V0.
DUMP_MINIMUM_SIZE = 14
# Codec ids DumpLogSegments can name (CompressionType.forId throws on any other).
DUMP_CODEC_IDS = range(5)

# Scans with the C CRC-32C packages hidden, as on a broker host with only Debian's python3 (bench_scanner.py).
PYTHON_CRC32C_CHILD = r"""
import json, sys
sys.modules["crc32c"] = None
sys.modules["google_crc32c"] = None
sys.path.insert(0, sys.argv[1])
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format import log_dir_scan
results = [log_dir_scan.scan(log_dir_scan.targets_for_paths([directory]), {}, None, "all")
           for directory in json.load(sys.stdin)]
print(json.dumps(results))
"""


@dataclass
class Findings:
    """What one case's checks found: disagreements with the contract, and limits the contract allows."""

    case_id: str
    disagreements: List[str] = field(default_factory=list)
    limits: List[str] = field(default_factory=list)
    dump_lines_compared: int = 0

    def disagree(self, kind: str, what: str, expected: Any, got: Any, cause: Optional[str] = None) -> None:
        kind = kind if cause is None else "%s[%s]" % (kind, cause)
        self.disagreements.append("%s %s: %s; expected %s, got %s" % (self.case_id, kind, what, expected, got))

    def limit(self, kind: str, what: str) -> None:
        self.limits.append("%s %s: %s" % (self.case_id, kind, what))


def kind_of(finding: str) -> str:
    """The kind of a finding line: the word after the case id."""
    return finding.split(" ", 2)[1].rstrip(":")


def kinds(findings: Iterable[str]) -> Counter:
    return Counter(kind_of(finding) for finding in findings)


def scan_partition(directory: str, mode: str = "all", start: Optional[int] = None) -> Dict[str, Any]:
    return scan(targets_for_paths([directory]), {}, start, mode)


def comparable(result: Dict[str, Any]) -> Dict[str, Any]:
    """A scan result without what may differ between two equal scans (time, CRC-32C implementation)."""
    result = json.loads(json.dumps(result))
    result["scanned"].pop("seconds", None)
    result.pop("crc32c_implementation", None)
    return result


def collections_path() -> str:
    """The directory holding ``ansible_collections`` this module was imported from."""
    here = pathlib.Path(__file__)
    for parent in here.parents:
        if parent.name == "ansible_collections":
            return str(parent.parent)
    return str(here.resolve().parents[3] / ".ansible" / "collections")


def python_crc32c_scans(directories: Sequence[str]) -> List[Dict[str, Any]]:
    """Mode-all scans of ``directories`` in one child process that cannot import a C CRC-32C."""
    completed = subprocess.run([sys.executable, "-c", PYTHON_CRC32C_CHILD, collections_path()],
                               input=json.dumps(list(directories)), capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError("the pure-Python CRC-32C scans failed: %s" % completed.stderr.strip()[-2000:])
    results = json.loads(completed.stdout)
    implementations = {result["crc32c_implementation"] for result in results}
    if implementations - {"python"}:
        raise RuntimeError("the child meant to use the pure-Python CRC-32C used %s" % sorted(implementations))
    return results


Where = Tuple[int, int]


def _limit_kind(entry: Entry) -> str:
    return re.sub(r"[^a-z0-9]+", "_", entry.limit or "").strip("_")


def _covers(record: Dict[str, Any], first: int, last: int) -> bool:
    """Whether the record's reported range reaches any offset of ``first..last``."""
    return record["first_offset"] is not None and record["first_offset"] <= last and (
        record["last_offset"] is None or first <= record["last_offset"])


def _uncovered(records: Sequence[Dict[str, Any]], first: int, last: int) -> List[int]:
    return [offset for offset in range(first, last + 1) if not any(_covers(record, offset, offset) for record in records)]


def _shown(record: Dict[str, Any]) -> str:
    return "%s@%d %s %s..%s next %s" % (os.path.basename(record["segment"]), record["position"], record["reason"],
                                        record["first_offset"], record["last_offset"], record["next_valid_offset"])


def _span(offsets: Sequence[int]) -> str:
    return "%d..%d" % (offsets[0], offsets[-1]) if len(offsets) > 1 else str(offsets[0])


class Judge:
    """Holds one scan result against the case's truth (entries in log order: segment number, then position).

    Each disagreement names, in brackets, the earliest known cause at or before it when there is one: an entry
    whose stored offset went up (every later entry then looks out of order), or a place where the scanner went
    on from the middle of an entry (everything it read after that is framed wrongly).
    """

    def __init__(self, case: Case, result: Dict[str, Any], findings: Findings, prefix: str = "") -> None:
        self.case = case
        self.entries = case.entries
        self.result = result
        self.records = result["corrupt_records"]
        self.findings = findings
        self.prefix = prefix
        self.segment_numbers = {segment.name: number for number, segment in enumerate(case.segments)}
        self.newest = len(case.segments) - 1
        self.end = (len(case.segments), 0)
        self.causes: List[Tuple[Where, str]] = []
        for entry in self.entries:
            if entry.raised_offset:
                self.add_cause(self.key(entry), "after_raised_offset")

    def add_cause(self, where: Where, name: str) -> None:
        """Causes in log order; at one place, a raised offset explains the most."""
        self.causes = sorted(self.causes + [(where, name)], key=lambda cause: (cause[0], cause[1] != "after_raised_offset"))

    @staticmethod
    def key(entry: Entry) -> Where:
        return entry.segment, entry.position

    def where(self, record: Dict[str, Any]) -> Where:
        return self.segment_numbers[os.path.basename(record["segment"])], record["position"]

    def disagree(self, kind: str, what: str, expected: Any, got: Any, subject: Where, stop: Optional[Where] = None) -> None:
        limit = max(subject, stop) if stop is not None else subject
        cause = next((name for where, name in self.causes if where <= limit), None)
        self.findings.disagree(self.prefix + kind, what, expected, got, cause)

    def next_intact(self, where: Where) -> Optional[Entry]:
        return next((entry for entry in self.entries if self.key(entry) > where and entry.intact), None)

    def highest_damaged_before(self, entry: Entry) -> Optional[int]:
        damaged = [other.last_offset for other in self.entries if other.damaged and self.key(other) < self.key(entry)]
        return max(damaged) if damaged else None

    def check(self) -> None:
        """Contract items a-f."""
        self.went_on_inside_entries()
        self.damaged_entries_reported()
        for record in self.records:
            self.record(record)
        self.partition()
        self.torn_tail()

    def went_on_inside_entries(self) -> None:
        """A record's end is where the scanner went on; strictly inside an entry, everything after is misframed.
        A record's span never holds a whole intact entry: the scan must find it."""
        for record in self.records:
            segment, position = self.where(record)
            resume = position + record["length"]
            swallowed = [entry for entry in self.entries if entry.segment == segment and entry.intact
                         and position < entry.position and entry.end <= resume]
            if swallowed:
                self.disagree("record_span_swallows_intact_entry(%s)" % record["reason"], _shown(record),
                              "a span of damaged bytes only", "bytes %d-%d, over %s" % (position, resume, swallowed[0].describe()),
                              (segment, position))
            inside = [entry for entry in self.entries if entry.segment == segment
                      and entry.position < resume < entry.end and resume < len(self.case.segments[segment].data)]
            starts_inside = [entry for entry in self.entries if entry.segment == segment
                             and entry.position < position < entry.end]
            if starts_inside:
                self.disagree("record_starts_inside_an_entry(%s)" % record["reason"], _shown(record),
                              "a record at an entry boundary", "byte %d, inside %s" % (position, starts_inside[0].describe()),
                              (segment, position))
                self.add_cause((segment, position), "after_going_on_inside_an_entry")
            if inside:
                self.disagree("went_on_inside_an_entry(%s)" % record["reason"], _shown(record),
                              "to go on at an entry boundary", "went on at byte %d, inside %s" % (resume, inside[0].describe()),
                              (segment, position))
                self.add_cause((segment, resume), "after_going_on_inside_an_entry")

    def damaged_entries_reported(self) -> None:
        """(a) Every damaged entry's offsets lie inside reported ranges."""
        for entry in self.entries:
            missing = _uncovered(self.records, entry.first_offset, entry.last_offset) if entry.damaged else []
            if missing and entry.limit:
                self.findings.limit(_limit_kind(entry), entry.describe())
            elif missing:
                negative = struct.unpack_from(">q", self.case.segments[entry.segment].data, entry.position)[0] < 0 \
                    if entry.position + 8 <= len(self.case.segments[entry.segment].data) else False
                partly = len(missing) < entry.last_offset - entry.first_offset + 1
                torn = any(self.segment_numbers[os.path.basename(tail["segment"])] == entry.segment
                           and tail["position"] <= entry.position for tail in self.result["torn_tails"])
                detail = "(negative_stored_offset)" if negative else "(called_torn_tail)" if torn else ""
                self.disagree("damaged_%s_reported%s" % ("partly" if partly else "not", detail), entry.describe(),
                              "offsets %d..%d inside reported ranges" % (entry.first_offset, entry.last_offset),
                              "offsets %s outside [%s]" % (_span(missing), ", ".join(_shown(r) for r in self.records)),
                              self.key(entry), (entry.segment, entry.end))

    def record(self, record: Dict[str, Any]) -> None:
        """(b) no intact entry inside its range, (c) its next_valid_offset, (d) its offsets in order."""
        where = self.where(record)
        # Where the scanner went on after it: what it found there decided this record's offsets.
        span_end = (where[0], where[1] + record["length"])
        first, last, following = record["first_offset"], record["last_offset"], record["next_valid_offset"]
        reason = record["reason"]
        if last is None and following is not None:
            self.disagree("record_last_offset_open(%s)" % reason, _shown(record), "a last_offset below next_valid_offset "
                          "%d" % following, "None (open-ended: every later offset reported)", where, span_end)
            # Judged below as if it ended before the offset it names as readable, so that it is not counted twice.
            record = dict(record, last_offset=following - 1)
        intact = [entry for entry in self.entries if entry.intact and _covers(record, entry.first_offset, entry.last_offset)]
        if intact:
            partly = intact[0].legacy_wrapper_without_stdlib_codec and record["last_offset"] is not None \
                and record["last_offset"] < intact[0].last_offset and len(intact) == 1
            self.disagree("intact_reported%s(%s)" % ("_open_range" if record["last_offset"] is None else
                                                     "_part_of_snappy_lz4_wrapper" if partly else "", reason),
                          "%s covers %d intact entries, the first %s" % (_shown(record), len(intact), intact[0].describe()),
                          "no reported range over an intact entry", "offsets %s..%s" % (first, record["last_offset"]),
                          where, max(span_end, self.key(intact[0])))
        if self.case.torn_position is not None and where[0] == self.newest and where[1] >= self.case.torn_position:
            self.disagree("torn_tail_reported_corrupt(%s)" % self.case.torn_tail, "torn tail (%s) at byte %d" % (
                self.case.torn_tail, self.case.torn_position), "a torn tail, not a corrupt record", _shown(record), where,
                span_end)
        self.next_valid("next_valid_offset(%s)" % reason, _shown(record), where, following)
        if (first is not None and last is not None and first > last) or \
                (following is not None and any(value is not None and value >= following for value in (first, last))):
            self.disagree("record_offsets_disordered(%s)" % reason, _shown(record),
                          "first_offset <= last_offset < next_valid_offset", (first, last, following), where, span_end)

    def next_valid(self, kind: str, what: str, where: Where, got: Optional[int]) -> None:
        """``got`` must be the first offset of the first intact entry after ``where`` (None when none follows)."""
        expected_entry = self.next_intact(where)
        expected = expected_entry.first_offset if expected_entry is not None else None
        if got == expected:
            return
        stop = self.key(expected_entry) if expected_entry is not None else self.end
        invisible = [entry for entry in self.entries if entry.limit and where < self.key(entry) < stop]
        if invisible:
            self.findings.limit(_limit_kind(invisible[0]), "%s: next valid offset %s behind %s" % (
                what, got, invisible[0].describe()))
            return
        if expected_entry is not None and expected_entry.legacy_wrapper_without_stdlib_codec and got is not None:
            if got < expected:
                # docs/docsite/rst/scanner.rst: only a wrapper's last offset is known, so this may be below its first one.
                floor = self.highest_damaged_before(expected_entry)
                if floor is None or got > floor:
                    self.findings.limit("snappy_lz4_wrapper_first_offset_unknown", "%s: next valid offset %d for %s" % (
                        what, got, expected_entry.describe()))
                else:
                    self.disagree(kind + "_in_damage_before_snappy_lz4_wrapper", what, "%s (or above %d, the last "
                                  "damaged offset before that wrapper)" % (expected, floor), got, where, stop)
                return
            if got <= expected_entry.last_offset:
                self.disagree(kind + "_inside_snappy_lz4_wrapper", "%s: readable offsets %d..%d skipped" % (
                    what, expected, got - 1), expected, got, where, stop)
                return
        if got is None:
            detail = "missing"
        elif expected is None:
            detail = "unexpected"
        elif any(entry.damaged and entry.first_offset <= got <= entry.last_offset for entry in self.entries):
            detail = "in_damage"
        else:
            detail = "too_high" if got > expected else "too_low"
        self.disagree("%s_%s" % (kind, detail), what, expected, got, where, stop)

    def partition(self) -> None:
        """(e) partitions[0]: clean, first damaged offset, where reading resumes after the first damage."""
        summary = self.result["partitions"][0]
        damaged = [entry for entry in self.entries if entry.damaged]
        visible = [entry for entry in damaged if not entry.limit]
        if summary["clean"] != (not damaged):
            torn = self.case.torn_position is not None and all(
                self.where(record) >= (self.newest, self.case.torn_position) for record in self.records)
            if summary["clean"] and not visible:
                self.findings.limit(_limit_kind(damaged[0]), "partition looks clean: " + damaged[0].describe())
            else:
                self.disagree("partition_clean_wrong" + ("(torn_tail_reported_corrupt)" if torn and self.records else ""),
                              "partitions[0].clean", not damaged, summary["clean"], self.end)
        if not damaged or summary["clean"]:
            return
        got = summary["first_damaged_offset"]
        reference = damaged[0]
        if got != damaged[0].first_offset:
            if damaged[0].limit and visible and got == visible[0].first_offset:
                self.findings.limit(_limit_kind(damaged[0]), "first damaged offset: " + damaged[0].describe())
                reference = visible[0]
            else:
                self.disagree("partition_first_damaged_offset_wrong", "partitions[0].first_damaged_offset",
                              damaged[0].first_offset, got, self.key(damaged[0]))
        self.next_valid("partition_next_valid_offset", "partitions[0].next_valid_offset after " + reference.describe(),
                        self.key(reference), summary["next_valid_offset"])

    def torn_tail(self) -> None:
        """(f) A torn tail is reported exactly when the case has one."""
        case, tails = self.case, self.result["torn_tails"]
        if case.torn_tail and not tails:
            swallowed = [record for record in self.records if self.where(record)[0] == self.newest
                         and record["position"] + record["length"] > case.torn_position]
            if swallowed and swallowed[-1]["position"] >= case.torn_position:
                return  # torn_tail_reported_corrupt says it already
            before = [entry for entry in self.entries if entry.segment == self.newest and entry.end <= case.torn_position]
            self.disagree("torn_tail_missing(%s)%s" % (case.torn_tail, "_behind_damaged_entry" if swallowed and before
                                                       and before[-1].damaged else ""),
                          "torn tail (%s)" % case.torn_tail, "a torn tail at byte %d of the newest segment" % case.torn_position,
                          "; ".join(_shown(record) for record in swallowed) or "none", self.end)
        elif tails and not case.torn_tail:
            self.disagree("torn_tail_unexpected", "no torn tail in this case", "none",
                          "; ".join("%s@%d" % (os.path.basename(t["segment"]), t["position"]) for t in tails), self.end)
        elif tails:
            got = [(self.segment_numbers[os.path.basename(t["segment"])], t["position"]) for t in tails]
            if got != [(self.newest, case.torn_position)]:
                self.disagree("torn_tail_position_wrong(%s)" % case.torn_tail, "torn tail (%s)" % case.torn_tail,
                              [(self.newest, case.torn_position)], got, self.end)


def check_start_offset(case: Case, full: Dict[str, Any], from_start: Dict[str, Any], findings: Findings) -> None:
    """(h) From start offset S (an intact entry's first offset), every damage the full scan found at or after S
    is reported the same way, and nothing before S is reported."""
    judge = Judge(case, from_start, findings, "start_offset:")
    start_entry = next(entry for entry in case.entries if entry.first_offset == case.start_offset)
    start_key = judge.key(start_entry)
    # The scan from S walks the framing of S's segment from an index entry (or byte 0) up to S without checksums.
    skipped = [entry for entry in case.entries if entry.segment == start_entry.segment and entry.damaged
               and judge.key(entry) < start_key]
    if skipped:
        judge.add_cause(judge.key(skipped[0]), "after_damage_before_start")
    for entry in case.entries:
        data = case.segments[entry.segment].data
        if judge.key(entry) > start_key and entry.damaged and entry.position + 8 <= len(data) \
                and struct.unpack_from(">q", data, entry.position)[0] < case.start_offset <= entry.first_offset:
            # Its stored offset now says it lies before S.
            judge.add_cause(judge.key(entry), "after_offset_lowered_below_start")
    judge.went_on_inside_entries()
    found = {judge.where(record): record for record in from_start["corrupt_records"]}
    for record in from_start["corrupt_records"]:
        where = judge.where(record)
        if where < start_key or (record["last_offset"] is not None and record["last_offset"] < case.start_offset):
            judge.disagree("damage_before_start_reported", _shown(record), "nothing before start offset %d (%s)" % (
                case.start_offset, start_entry.describe()), "this record", where)
    damaged_spans = [(entry.segment, entry.position, entry.end) for entry in case.entries if entry.damaged]
    for record in full["corrupt_records"]:
        where = judge.where(record)
        # Only damage counts: a full-scan record on an intact entry is a disagreement of its own already.
        if where < start_key or not any(segment == where[0] and begin <= where[1] < stop for segment, begin, stop in damaged_spans):
            continue
        again = found.get(where)
        if again is None:
            judge.disagree("record_missing", _shown(record), "the full scan's record", "none at that position", where)
        elif again["next_valid_offset"] != record["next_valid_offset"]:
            judge.disagree("next_valid_offset_differs(%s)" % record["reason"], _shown(record),
                           record["next_valid_offset"], again["next_valid_offset"], where)
        elif [again[key] for key in RECORD_FIELDS[2:]] != [record[key] for key in RECORD_FIELDS[2:]]:
            judge.disagree("record_differs(%s)" % record["reason"], "record at %s" % _shown(record), _shown(record),
                           _shown(again), where)
    full_positions = {judge.where(record) for record in full["corrupt_records"]}
    for where, record in sorted(found.items()):
        if where >= start_key and where not in full_positions:
            judge.disagree("record_extra(%s)" % record["reason"], _shown(record), "only the full scan's records",
                           "this one too", where)
    if comparable_tails(from_start) != comparable_tails(full):
        judge.disagree("torn_tails_differ", "torn_tails", comparable_tails(full), comparable_tails(from_start), judge.end)


def comparable_tails(result: Dict[str, Any]) -> List[Tuple[str, int]]:
    return [(os.path.basename(tail["segment"]), tail["position"]) for tail in result["torn_tails"]]


def check_case(case: Case, directory: str, python_crc32c_result: Optional[Dict[str, Any]] = None) -> Findings:
    """Every contract item for the case written at ``directory`` (its partition directory)."""
    findings = Findings(case.case_id)
    try:
        full = scan_partition(directory)
        first = scan_partition(directory, "first")
        from_start = None if case.start_offset is None else scan_partition(directory, start=case.start_offset)
    except Exception as error:  # pylint: disable=broad-exception-caught
        findings.disagree("scan_raised", "scanning %s" % directory, "a result", "%s: %s" % (type(error).__name__, error))
        return findings
    Judge(case, full, findings).check()
    expected_first = [full["corrupt_records"][0][key] for key in RECORD_FIELDS] if full["corrupt_records"] else None
    got_first = [first["corrupt_records"][0][key] for key in RECORD_FIELDS] if first["corrupt_records"] else None
    if got_first != expected_first:
        findings.disagree("mode_first_differs", "first record, mode first against mode all", expected_first, got_first)
    if python_crc32c_result is not None and comparable(python_crc32c_result) != comparable(full):
        findings.disagree("python_crc32c_differs", "scan with the pure-Python CRC-32C",
                          _digest(comparable(full)), _digest(comparable(python_crc32c_result)))
    if from_start is not None:
        check_start_offset(case, full, from_start, findings)
    _extent_lost_limit(case, findings)
    return findings


# What an entry whose size field was damaged together with other bytes can make the scanner get wrong
# (docs/docsite/rst/scanner.rst, "What the scanner cannot know"): where that entry ends. An inner message stored as-is at the end of its value may be
# taken for the next entry, and a torn write right after it may be placed inside it.
EXTENT_KINDS = ("went_on_inside_an_entry", "record_starts_inside_an_entry", "torn_tail_position_wrong",
                "torn_tail_unexpected", "damaged_partly_reported", "damaged_not_reported(called_torn_tail)",
                "next_valid_offset(", "partition_next_valid_offset_in_damage")


def _extent_lost_limit(case: Case, findings: Findings) -> None:
    """In a case with such an entry, disagreements about where entries end, and what follows from going on inside
    one, are that limit, not disagreements."""
    if not any(entry.extent_lost for entry in case.entries):
        return
    kept = []
    for line in findings.disagreements:
        kind = kind_of(line)
        bare = kind.split(":", 1)[-1]
        consequence = "[after_going_on_inside_an_entry]" in bare
        if consequence or (bare.startswith(EXTENT_KINDS) and ("_in_damage" in bare or "next_valid_offset" not in bare)):
            findings.limits.append("%s entry_extent_lost: %s" % (case.case_id, line.split(" ", 1)[1]))
        else:
            kept.append(line)
    findings.disagreements = kept


def _digest(result: Dict[str, Any]) -> str:
    return json.dumps({"corrupt_records": [[record[key] for key in RECORD_FIELDS] for record in result["corrupt_records"]],
                       "torn_tails": result["torn_tails"], "partitions": result["partitions"]})


def dump_stop(data: bytes) -> Optional[int]:
    """Where DumpLogSegments would throw in a segment, from the framing as Kafka's FileLogInputStream walks it.

    It throws on a size field below 14, and when printing a batch whose codec id it does not know. Anything
    else it may throw on is caught by ``dump_log_segments`` running again after the file.
    """
    position, end = 0, len(data)
    while position < end - 17:
        size = int.from_bytes(data[position + 8:position + 12], "big", signed=True)
        if size < DUMP_MINIMUM_SIZE:
            return position
        if position > end - 12 - size:
            return None
        magic = data[position + 16] - (256 if data[position + 16] > 127 else 0)
        attributes = data[position + 22] if magic >= 2 and position + 23 <= end else data[position + 17]
        if attributes & 0x07 not in DUMP_CODEC_IDS:
            return position
        position += 12 + size
    return None


def _parse_dump(stdout: str) -> Dict[str, List[str]]:
    sections: Dict[str, List[str]] = {}
    current: Optional[List[str]] = None
    for line in stdout.splitlines():
        if line.startswith(DUMPING):
            current = sections.setdefault(line[len(DUMPING):], [])
        elif current is not None:
            current.append(line)
    return sections


def dump_log_segments(segments: Sequence[str], scratch: str, run_tool: Callable[..., Any]) -> Tuple[Dict[str, List[str]], int]:
    """DumpLogSegments' output lines per segment file, from as few JVM runs as it allows; also how many runs.

    The tool stops the whole run at the first file it throws on. A file where it is known to throw is handed
    over as a copy cut just before that point (it prints the same lines up to there); after any other throw,
    the run goes on from the next file. ``run_tool(main_class, *args)`` returns a CompletedProcess.
    """
    given: List[Tuple[str, str]] = []
    for number, path in enumerate(segments):
        with open(path, "rb") as handle:
            data = handle.read()
        stop = dump_stop(data)
        if stop is None:
            given.append((path, path))
            continue
        copy = os.path.join(scratch, "dump-%d" % number, os.path.basename(path))
        os.makedirs(os.path.dirname(copy), exist_ok=True)
        with open(copy, "wb") as handle:
            handle.write(data[:stop])
        given.append((copy, path))
    sections: Dict[str, List[str]] = {}
    runs = 0
    while given:
        batch, length = [], 0
        while given and (not batch or length + len(given[0][0]) + 1 <= DUMP_ARGUMENT_BYTES):
            batch.append(given.pop(0))
            length += len(batch[-1][0]) + 1
        completed = run_tool("kafka.tools.DumpLogSegments", "--files", ",".join(path for path, _original in batch))
        runs += 1
        printed = _parse_dump(completed.stdout)
        done = [number for number, (path, _original) in enumerate(batch) if path in printed]
        for number in done:
            sections[batch[number][1]] = printed[batch[number][0]]
        if completed.returncode != 0:
            if not done:
                raise RuntimeError("DumpLogSegments failed before its first file: %s" % completed.stderr.strip()[-2000:])
            given[:0] = batch[done[-1] + 1:]
    return sections, runs


def _scanner_lines(result: Dict[str, Any]) -> Dict[str, List[str]]:
    lines: Dict[str, List[str]] = {}
    current: List[str] = []
    for line in result["lines"]:
        if line.startswith(DUMPING):
            current = lines.setdefault(os.path.basename(line[len(DUMPING):]), [])
        else:
            current.append(line)
    return lines


def dump_log_disagreements(case: Case, directory: str, result: Dict[str, Any], sections: Dict[str, List[str]],
                           findings: Findings) -> None:
    """Every ``isvalid: false`` line DumpLogSegments prints while it still frames the entries as written must be in
    the scanner's ``lines``. Once a size field differs from the one written, or the tool reaches the torn tail,
    the rest of that file is not compared: there the two differ on purpose (docs/docsite/rst/scanner.rst)."""
    scanner_lines = _scanner_lines(result)
    records = {(os.path.basename(record["segment"]), record["position"]): record for record in result["corrupt_records"]}
    for number, segment in enumerate(case.segments):
        printed = sections.get(os.path.join(directory, segment.name))
        if printed is None:
            continue
        starts = {entry.position: entry for entry in case.entries
                  if entry.segment == number and not entry.torn and entry.position < len(segment.data)}
        for line in printed:
            match = DUMP_POSITION.search(line)
            if not match:
                continue
            entry = starts.get(int(match.group(1)))
            if entry is None or segment.data[entry.position + 8:entry.position + 12] != entry.original[8:12]:
                break
            if not line.endswith("isvalid: false"):
                continue
            findings.dump_lines_compared += 1
            if line in scanner_lines.get(segment.name, []):
                continue
            record = records.get((segment.name, entry.position))
            findings.disagree("dump_log_line_differs(%s)" % (record["reason"] if record else "not_reported"),
                              "%s in %s" % (entry.describe(), segment.name), line,
                              next((mine for mine in scanner_lines.get(segment.name, [])
                                    if " position: %d " % entry.position in mine), "no line at that position"))
