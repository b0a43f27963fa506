# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure planner: targets, range check, only-if guard, transactions and their undo."""

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import offset_plan as op
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.consumer_offsets import OffsetDataError
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.offset_plan import Stored

A0, A1, B0 = ("a", 0), ("a", 1), ("b", 0)
CURRENT = {A0: Stored(10, 4), A1: Stored(20, 0), B0: Stored(None, None)}
RANGES = {A0: (5, 100), A1: (0, 50), B0: (2, 8)}


@pytest.mark.parametrize("target, kwargs, expected", [
    ("offset", dict(offset=7), {A0: 7, A1: 7}),
    ("earliest", {}, {A0: 5, A1: 0}),
    ("latest", {}, {A0: 100, A1: 50}),
    ("current", {}, {A0: 10, A1: 20}),
    ("shift_by", dict(shift_by=-3), {A0: 7, A1: 17}),
    ("datetime", dict(by_time={A0: 30, A1: None}), {A0: 30, A1: 50}),
    ("skip", dict(explicit={A0: 11, A1: 21}), {A0: 11, A1: 21}),
])
def test_resolve_targets(target, kwargs, expected):
    assert op.resolve_targets(target, [A0, A1], CURRENT, RANGES, **kwargs) == expected


@pytest.mark.parametrize("target, message", [
    ("shift_by", "b/0 has no committed offset"),
    ("current", "b/0 has no committed offset"),
])
def test_targets_relative_to_a_missing_node_fail(target, message):
    with pytest.raises(OffsetDataError, match=message):
        op.resolve_targets(target, [B0], CURRENT, RANGES, shift_by=1)


def test_plan_changes_and_skipped_records():
    plan = op.plan_offsets({A0: 15, A1: 20, B0: 3}, CURRENT, RANGES, {}, clamp=False)
    assert plan[0] == dict(topic="a", partition=0, before=10, after=15, log_start_offset=5, log_end_offset=100,
                           records_skipped=5)
    assert plan[1]["before"] == plan[1]["after"] == 20
    assert plan[2]["before"] is None and plan[2]["records_skipped"] is None


@pytest.mark.parametrize("wanted, message", [
    ({A0: 4}, "target 4 for a/0 is below the log start offset 5.*clamp=true"),
    ({A0: 101}, "target 101 for a/0 is above the log end offset 100"),
    ({A0: -1}, "negative"),
])
def test_range_check_refuses(wanted, message):
    with pytest.raises(OffsetDataError, match=message):
        op.plan_offsets(wanted, CURRENT, RANGES, {}, clamp=False)


def test_clamp_pulls_into_the_log():
    plan = op.plan_offsets({A0: 4, A1: 70}, CURRENT, RANGES, {}, clamp=True)
    assert [entry["after"] for entry in plan] == [5, 50]


def test_no_log_ranges_means_no_range_check():
    assert op.plan_offsets({A0: 1000}, CURRENT, {}, {}, clamp=False)[0]["after"] == 1000


def test_only_if_guard():
    assert op.plan_offsets({A0: 15}, CURRENT, RANGES, {A0: 10}, clamp=False)[0]["after"] == 15
    with pytest.raises(OffsetDataError, match="a/0 is at 10, not at the expected 9 nor at the target 15: the consumer"):
        op.plan_offsets({A0: 15}, CURRENT, RANGES, {A0: 9}, clamp=False)
    with pytest.raises(OffsetDataError, match="b/0 has no offset node, not at the expected 3 nor at the target 4"):
        op.plan_offsets({B0: 4}, CURRENT, RANGES, {B0: 3}, clamp=False)
    with pytest.raises(OffsetDataError, match="expected_offsets names a/1, which this run does not change"):
        op.plan_offsets({A0: 15}, CURRENT, RANGES, {A1: 20}, clamp=False)


@pytest.mark.parametrize("wanted, current, clamp", [
    ({A0: 10}, CURRENT, False),                          # a rerun after the change: already at the target
    ({A0: 150}, {A0: Stored(100, 3)}, True),             # the target clamped to the log end 100 is where it is
    ({A0: None}, {A0: Stored(None, None)}, False),       # a restore deletes a node that is already gone
])
def test_only_if_guard_passes_a_partition_already_at_its_target(wanted, current, clamp):
    plan = op.plan_offsets(wanted, current, RANGES, {A0: 7}, clamp=clamp)
    assert plan[0]["before"] == plan[0]["after"]
    assert op.write_operations("g", plan, current, set(), []) == []


def test_only_if_guard_is_per_partition():
    plan = op.plan_offsets({A0: 10, A1: 25}, CURRENT, RANGES, {A0: 7, A1: 20}, clamp=False)
    assert [(entry["before"], entry["after"]) for entry in plan] == [(10, 10), (20, 25)]
    assert op.write_operations("g", plan, CURRENT, set(), []) == [[("set", "/consumers/g/offsets/a/1", b"25", 0)]]
    with pytest.raises(OffsetDataError, match="a/1 is at 20, not at the expected 19 nor at the target 25") as refused:
        op.plan_offsets({A0: 10, A1: 25}, CURRENT, RANGES, {A0: 7, A1: 19}, clamp=False)
    assert "a/0" not in str(refused.value)


def test_only_if_guard_compares_with_the_clamped_target():
    with pytest.raises(OffsetDataError, match="a/0 is at 10, not at the expected 7 nor at the target 5"):
        op.plan_offsets({A0: 3}, CURRENT, RANGES, {A0: 7}, clamp=True)


def test_write_operations_set_create_with_parents_and_delete():
    current = {A0: Stored(10, 4), A1: Stored(20, 2), B0: Stored(None, None)}
    plan = op.plan_offsets({A0: 15, A1: None, B0: 3}, current, {}, {}, clamp=False)
    groups = op.write_operations("g", plan, current, {"/consumers", "/consumers/g", "/consumers/g/offsets"}, [])
    assert groups == [
        [("set", "/consumers/g/offsets/a/0", b"15", 4)],
        [("delete", "/consumers/g/offsets/a/1", 2)],
        [("create", "/consumers/g/offsets/b", b""), ("create", "/consumers/g/offsets/b/0", b"3")],
    ]


def test_unchanged_partitions_write_nothing():
    plan = op.plan_offsets({A0: 10, A1: 20}, CURRENT, RANGES, {}, clamp=False)
    assert op.write_operations("g", plan, CURRENT, set(), []) == []


def test_restore_deletes_parents_that_did_not_exist_last():
    current = {B0: Stored(3, 0)}
    plan = op.plan_offsets({B0: None}, current, {}, {}, clamp=False)
    groups = op.write_operations("g", plan, current, {"/consumers/g/offsets/b"}, ["/consumers/g/offsets/b"])
    assert groups == [[("delete", "/consumers/g/offsets/b/0", 0)], [("delete", "/consumers/g/offsets/b", -1)]]


def test_split_transactions_respects_the_byte_limit_and_groups():
    groups = [[("set", f"/consumers/g/offsets/t/{p}", b"123456", 1)] for p in range(10000)]
    groups.insert(5, [("create", "/consumers/g/offsets/u", b""), ("create", "/consumers/g/offsets/u/0", b"1")])
    parts = op.split_transactions(groups, "/kafka")
    assert len(parts) == 2
    assert all(sum(op.operation_bytes(o, "/kafka") for o in part) <= op.MAX_MULTI_BYTES for part in parts)
    assert [o for part in parts for o in part] == [o for g in groups for o in g]
    assert op.split_transactions(groups[:100], "/kafka") == [[o for g in groups[:100] for o in g]]


def test_undo_operations_reverse_each_kind():
    class StatLike:
        version = 5
    part = [("create", "/p", b""), ("create", "/p/0", b"3"), ("set", "/q/1", b"9", 4), ("delete", "/q/2", 0)]
    results = ["/p", "/p/0", StatLike(), True]
    assert op.undo_operations(part, results, {"/q/1": b"7", "/q/2": b"8"}) == [
        ("create", "/q/2", b"8"), ("set", "/q/1", b"7", 5), ("delete", "/p/0", 0), ("delete", "/p", 0)]


@pytest.mark.parametrize("text, seconds", [("PT1H", 3600), ("P1DT30M", 88200), ("PT90S", 90), ("90m", 5400),
                                           ("2d", 172800), ("1w", 604800), ("45s", 45)])
def test_parse_duration(text, seconds):
    assert op.parse_duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "P", "PT", "1y", "soon", "-5m"])
def test_parse_duration_refuses(text):
    with pytest.raises(OffsetDataError, match="is not ISO 8601"):
        op.parse_duration_seconds(text)


def test_parse_datetime():
    assert op.parse_datetime_ms("2026-11-26T10:00:00Z") == 1795687200000
    assert op.parse_datetime_ms("2026-11-26T11:00:00+01:00") == 1795687200000
    with pytest.raises(OffsetDataError, match="has no time zone"):
        op.parse_datetime_ms("2026-11-26T10:00:00")
    with pytest.raises(OffsetDataError, match="is not ISO 8601"):
        op.parse_datetime_ms("yesterday")


DECISION = dict(topic="a", partition=0, committed_offset=10, target_offset=15, records_skipped=5,
                damaged_brokers=[1, 2], damage=[dict(broker_id=1, segment="00000000000000000000.log", position=4096)],
                log_end_offset=100, reason="crc mismatch")


@pytest.mark.parametrize("entries, expected_offsets, targets, guards", [
    ([dict(topic="a", partition=0, offset=15)], [], {A0: 15}, {}),
    ([DECISION], [], {A0: 15}, {A0: 10}),
    ([dict(DECISION, committed_offset=None)], [], {A0: 15}, {A0: None}),
    ([{k: v for k, v in DECISION.items() if k != "committed_offset"}], [], {A0: 15}, {}),
    ([dict(DECISION, offset=15)], [], {A0: 15}, {A0: 10}),
    ([dict(DECISION, partition="0", target_offset="15")], [], {A0: 15}, {A0: 10}),
    ([DECISION], [dict(topic="a", partition=0, offset=10)], {A0: 15}, {A0: 10}),
    ([dict(topic="a", partition=0, offset=15), dict(DECISION, partition=1, committed_offset=20)],
     [dict(topic="b", partition=0, offset=3)], {A0: 15, A1: 15}, {A1: 20, B0: 3}),
    ([], [dict(topic="b", partition=0, offset=3)], {}, {B0: 3}),
])
def test_partition_targets_take_both_forms_and_ignore_extra_keys(entries, expected_offsets, targets, guards):
    assert op.partition_targets(entries, expected_offsets) == (targets, guards)


@pytest.mark.parametrize("entries, expected_offsets, message", [
    ([dict(topic="a", partition=0)], [], r"partition_offsets\[0\] \(a/0\) has no target: give target_offset"),
    ([dict(DECISION, target_offset=None)], [], r"\(a/0\) has no target"),
    ([dict(DECISION, offset=12)], [], r"gives target_offset 15 and offset 12: give one target"),
    ([dict(DECISION, target_offset="x")], [], r"\(a/0\): target_offset 'x' is not an integer"),
    ([dict(DECISION, target_offset=True)], [], r"target_offset True is not an integer"),
    ([dict(DECISION, committed_offset="ten")], [], r"committed_offset 'ten' is not an integer"),
    ([dict(DECISION, topic="")], [], r"partition_offsets\[0\] needs a topic name and a partition number"),
    ([dict(DECISION, partition=-1)], [], r"needs a topic name and a partition number"),
    (["a/0"], [], r"partition_offsets\[0\] is not a dict"),
    ([DECISION, DECISION], [], r"partition_offsets\[1\] \(a/0\) names a/0 a second time"),
    ([DECISION], [dict(topic="a", partition=0, offset=11)],
     r"a/0: expected_offsets says 11 but its partition_offsets entry says committed_offset 10: give one guard"),
])
def test_partition_targets_refuse_naming_the_entry(entries, expected_offsets, message):
    with pytest.raises(OffsetDataError, match=message) as refused:
        op.partition_targets(entries, expected_offsets)
    assert str(refused.value).endswith("; nothing was changed")


def test_partition_targets_name_every_bad_entry_in_one_line():
    with pytest.raises(OffsetDataError) as refused:
        op.partition_targets([dict(topic="a", partition=p) for p in range(5)], [])
    assert str(refused.value).count("has no target") == 3 and "(and 2 more)" in str(refused.value)


def test_a_null_committed_offset_guards_a_partition_without_a_node():
    assert op.plan_offsets({B0: 4}, CURRENT, RANGES, {B0: None}, clamp=False)[0]["after"] == 4
    with pytest.raises(OffsetDataError, match="a/0 is at 10, not at the expected no offset node nor at the target 15"):
        op.plan_offsets({A0: 15}, CURRENT, RANGES, {A0: None}, clamp=False)


def test_an_unreadable_node_is_planned_with_its_text_and_set_at_its_version():
    current = {A0: Stored(None, 3, "abc")}
    plan = op.plan_offsets({A0: 15}, current, RANGES, {}, clamp=False)
    assert (plan[0]["before"], plan[0]["after"], plan[0]["records_skipped"]) == ("abc", 15, None)
    assert op.write_operations("g", plan, current, set(), []) == [[("set", "/consumers/g/offsets/a/0", b"15", 3)]]
    with pytest.raises(OffsetDataError, match="a/0 holds 'abc', not at the expected no offset node nor at the target"):
        op.plan_offsets({A0: 15}, current, RANGES, {A0: None}, clamp=False)
    with pytest.raises(OffsetDataError, match="a/0 holds 'abc', not an offset to start from"):
        op.resolve_targets("shift_by", [A0], current, RANGES, shift_by=1)
