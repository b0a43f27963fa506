# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""run_journal's pure helpers: modes, merge, render, parse and the plan of state=present."""

from __future__ import annotations

import json

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.files import run_journal


@pytest.mark.parametrize("value, expected", [
    ("0640", 0o640), ("640", 0o640), ("0o600", 0o600), ("2750", 0o2750), (0o644, 0o644), (416, 0o640),
])
def test_parse_mode_takes_octal_strings_and_mode_bits(value, expected):
    assert run_journal.parse_mode(value, "mode") == expected


@pytest.mark.parametrize("value", ["u=rw,g=r", "0968", "", "17777", -1, True])
def test_parse_mode_refuses_what_is_not_an_octal_mode(value):
    with pytest.raises(run_journal.JournalError, match=r"^mode .*'0640'"):
        run_journal.parse_mode(value, "mode")


def test_merge_is_shallow_and_keeps_key_order():
    current = {"phase": "planned", "triage": {"targets": [1], "group": "g"}, "rolled": ["k1"]}
    merged = run_journal.merge_journal(current, {"triage": {"targets": []}, "phase": "offsets_moved", "new": 1})
    assert merged == {"phase": "offsets_moved", "triage": {"targets": []}, "rolled": ["k1"], "new": 1}
    assert list(merged) == ["phase", "triage", "rolled", "new"]
    assert current["phase"] == "planned"  # the input is not modified


@pytest.mark.parametrize("before, after, differs", [
    (None, {}, True),
    ({}, {}, False),
    ({"a": 1}, {"a": 1}, False),
    ({"a": 1}, {"a": True}, True),    # equal as Python values, different JSON
    ({"a": 1}, {"a": 1.0}, True),
    ({"a": 1, "b": 2}, {"b": 2, "a": 1}, True),  # the file's key order changes
    ({"a": [1, 2]}, {"a": [2, 1]}, True),
])
def test_content_differs_compares_the_json_text(before, after, differs):
    assert run_journal.content_differs(before, after) is differs


def test_render_is_indented_json_with_a_trailing_newline():
    assert run_journal.render_journal({"b": 1, "a": [1]}) == '{\n  "b": 1,\n  "a": [\n    1\n  ]\n}\n'


@pytest.mark.parametrize("text, problem", [
    ("", r"is not valid JSON \(line 1 column 1: Expecting value\)"),
    ('{"phase": "planned",', r"is not valid JSON \(line 1 column 21: Expecting property name"),
    ("[1, 2]", r"holds a JSON array, not an object"),
    ('"planned"', r"holds a JSON string, not an object"),
    ("null", r"holds a JSON null, not an object"),
    ("3.5", r"holds a JSON number, not an object"),
    ("true", r"holds a JSON boolean, not an object"),
])
def test_parse_journal_names_the_file_and_the_problem(text, problem):
    with pytest.raises(run_journal.JournalError, match=rf"^journal '/x/j.json' {problem}.*: fix or remove the file$"):
        run_journal.parse_journal("/x/j.json", text)


def test_plan_present_touches_nothing_and_reports_the_texts():
    before = json.dumps({"phase": "planned"}, indent=2) + "\n"
    plan = run_journal.plan_present("/x/j.json", before, {"phase": "done"}, 0o640, 0o640)
    assert plan == {"changed": True, "write": True, "journal": {"phase": "done"}, "existed": True,
                    "before": before, "after": '{\n  "phase": "done"\n}\n'}
    same = run_journal.plan_present("/x/j.json", before, {"phase": "planned"}, 0o640, 0o600)
    assert (same["changed"], same["write"]) == (True, False)  # only the mode is wrong
