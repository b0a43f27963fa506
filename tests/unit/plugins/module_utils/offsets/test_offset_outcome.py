# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure judgement of a write: each changed partition read back, `changed`, and the short failure line."""

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import offset_outcome as oo


def entry(partition, before, after):
    return dict(topic="a", partition=partition, before=before, after=after, log_start_offset=0, log_end_offset=99)


@pytest.mark.parametrize("before, after, raw, state", [
    (5, 9, b"9", "at_target"),
    (5, 9, b" 9\n", "at_target"),
    (5, 9, b"5", "as_before"),
    (5, 9, b"005", "as_before"),
    (5, 9, b"3", "overwritten"),
    (5, 9, b"abc", "overwritten"),
    (5, 9, None, "overwritten"),
    (None, 9, None, "as_before"),
    (None, 9, b"9", "at_target"),
    (5, None, None, "at_target"),
    (5, None, b"5", "as_before"),
    (5, None, b"9", "overwritten"),
    ("abc", 9, b"abc", "as_before"),
    ("abc", 9, b"9", "at_target"),
    ("abc", 9, b"abd", "overwritten"),
])
def test_each_partition_is_judged_by_what_its_node_holds(before, after, raw, state):
    [row] = oo.judge_read_back([entry(0, before, after)], {("a", 0): raw})
    assert row["state"] == state
    assert row["holds"] == (None if raw is None else raw.strip().decode())
    assert (row["before"], row["target"], row["log_end_offset"]) == (before, after, 99)


def test_unchanged_partitions_are_not_read_back_and_a_failed_read_is_unknown():
    plan = [entry(0, 5, 5), entry(1, 5, 9)]
    assert [row["partition"] for row in oo.judge_read_back(plan, {("a", 1): b"9"})] == [1]
    assert [row["state"] for row in oo.judge_read_back(plan, None)] == ["unknown"]


def test_summary_counts_every_state_and_samples_a_few():
    plan = [entry(p, 5, 9) for p in range(30)]
    held = {("a", p): b"9" for p in range(30)}
    held[("a", 29)] = b"3"
    held[("a", 28)] = b"5"
    summary = oo.summarise(oo.judge_read_back(plan, held))
    assert (summary["changed_partitions"], summary["at_target"], summary["as_before"], summary["overwritten"]) == \
        (30, 28, 1, 1)
    assert len(summary["at_target_sample"]) == oo.SAMPLE_SIZE
    assert summary["overwritten_sample"] == [dict(topic="a", partition=29, before=5, target=9, holds="3")]
    assert summary["as_before_sample"] == [dict(topic="a", partition=28, before=5, target=9, holds="5")]


@pytest.mark.parametrize("states, committed_remaining, expected", [
    (["at_target"], False, True),
    (["as_before", "overwritten"], False, False),
    (["as_before"], True, True),
    (["unknown"], True, True),
    (["unknown"], False, False),
    ([], False, False),
])
def test_changed_is_what_zookeeper_holds(states, committed_remaining, expected):
    assert oo.changed([dict(state=state) for state in states], committed_remaining) is expected


def test_read_back_problem_names_a_few_partitions_in_one_line():
    plan = [entry(p, 5, 9) for p in range(2000)]
    held = {("a", p): (b"3" if p >= 1990 else b"9") for p in range(2000)}
    rows = oo.judge_read_back(plan, held)
    problem = oo.read_back_problem(rows)
    assert problem.startswith("read-back after writing differs on 10 of 2000 changed partition(s) "
                              "(a/1990 holds '3', not 9; a/1991 holds '3', not 9; a/1992 holds '3', not 9 and 7 more)")
    assert "1990 are at their target, 0 hold their previous offset, 10 hold something else" in problem
    assert "\n" not in problem and len(problem) < 400
    assert oo.read_back_problem(oo.judge_read_back(plan, {key: b"9" for key in held})) is None


def test_a_deleted_node_shows_as_no_node():
    rows = oo.judge_read_back([entry(0, 5, None)], {("a", 0): b"7"})
    assert "a/0 holds '7', not no node" in oo.read_back_problem(rows)
    rows = oo.judge_read_back([entry(0, None, 4)], {("a", 0): None})
    assert "(a/0 holds no node, not 4)" in oo.read_back_problem(rows)


def test_read_back_note_after_a_failed_write():
    plan = [entry(0, 5, 9), entry(1, 5, 9)]
    assert oo.read_back_note(oo.judge_read_back(plan, {("a", 0): b"5", ("a", 1): b"5"})) == ""
    assert oo.read_back_note(oo.judge_read_back(plan, {("a", 0): b"9", ("a", 1): b"5"})) == \
        "; read back: 1 of 2 partition(s) at their target, 1 at their previous offset, 0 at something else"
