# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The offset ledger: which valid entry breaks the sequence, and which offsets each damage covers."""

from __future__ import annotations

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.offset_ledger import (
    Damage, Entry, OffsetLedger, assign_offsets)


def entry(first, last, position=0, segment="s", indexed=None):
    return Entry(segment, position, 10, first, last, indexed=indexed)


def damage(claimed_first=None, claimed_last=None, known_span=None, position=0):
    return Damage("crc_mismatch", "s", position, 10, claimed_first=claimed_first, claimed_last=claimed_last,
                  known_span=known_span)


def feed(ledger, items):
    for item in items:
        if isinstance(item, Entry):
            ledger.valid(item)
        else:
            ledger.damage(item)
    ledger.finish()
    return [(d.reason, d.first_offset, d.last_offset, d.next_valid_offset) for d in ledger.damages]


def test_rising_entries_leave_nothing():
    ledger = OffsetLedger()
    assert feed(ledger, [entry(0, 4), entry(5, 9), entry(10, 14)]) == []
    assert ledger.last == 14


def test_damage_between_two_entries_covers_exactly_the_offsets_between():
    assert feed(OffsetLedger(), [entry(0, 4), damage(77, 99), entry(10, 14), entry(15, 19)]) == [
        ("crc_mismatch", 5, 9, 10)]


def test_damage_at_the_end_keeps_a_plausible_claim_or_none():
    assert feed(OffsetLedger(), [entry(0, 4), damage(5, 9)]) == [("crc_mismatch", 5, 9, None)]
    assert feed(OffsetLedger(), [entry(0, 4), damage(5, 2)]) == [("crc_mismatch", 5, None, None)]


@pytest.mark.parametrize("raised, expected", [
    (entry(5 + (1 << 40), 9 + (1 << 40)), [("offset_out_of_order", 5, 9, 10)]),
    (entry(1 << 40, (1 << 40) + 4), [("offset_out_of_order", 5, 9, 10)]),
])
def test_a_raised_entry_is_demoted_by_the_next_one(raised, expected):
    assert feed(OffsetLedger(), [entry(0, 4), raised, entry(10, 14), entry(15, 19)]) == expected


def test_a_lowered_entry_is_rejected():
    assert feed(OffsetLedger(), [entry(0, 4), entry(5, 9), entry(2, 6), entry(15, 19)]) == [
        ("offset_out_of_order", 10, 14, 15)]


def test_a_lowered_entry_overlapping_one_that_continues_exactly_is_the_wrong_one():
    assert feed(OffsetLedger(), [entry(0, 4), entry(5, 9), entry(7, 11), entry(15, 19)]) == [
        ("offset_out_of_order", 10, 14, 15)]


def test_after_damage_the_entry_a_follower_continues_exactly_stays_readable():
    raised_first = feed(OffsetLedger(), [entry(0, 4), damage(), entry(1 << 30, (1 << 30) + 4), entry(12, 16),
                                         entry(17, 21)])
    assert raised_first == [("crc_mismatch", 5, 6, 12), ("offset_out_of_order", 7, 11, 12)]
    lowered_later = feed(OffsetLedger(), [entry(0, 4), damage(), entry(10, 14), entry(12, 16), entry(15, 19)])
    assert lowered_later == [("crc_mismatch", 5, 9, 10), ("offset_out_of_order", None, None, 15)]


@pytest.mark.parametrize("held, newer, expected", [
    (True, None, [("crc_mismatch", 5, 9, 10), ("offset_out_of_order", 15, 29, 30)]),
    (False, None, [("crc_mismatch", 5, 6, 12), ("offset_out_of_order", 7, 11, 12)]),
    (None, True, [("crc_mismatch", 5, 6, 12), ("offset_out_of_order", 7, 11, 12)]),
    (None, False, [("crc_mismatch", 5, 9, 10), ("offset_out_of_order", 15, 29, 30)]),
])
def test_the_index_settles_overlaps_nothing_else_settles(held, newer, expected):
    # Two overlapping entries after damage, and a follower that continues neither: only the index can tell.
    items = [entry(0, 4), damage(), entry(10, 14, indexed=held), entry(12, 16, indexed=newer), entry(30, 34)]
    assert feed(OffsetLedger(), items) == expected


def test_the_index_is_asked_lazily_and_once():
    asked = []
    ledger = OffsetLedger()
    ledger.ask_index = lambda asked_entry: asked.append(asked_entry.first)
    # Entries that continue each other exactly need no witness.
    feed(ledger, [entry(0, 4), entry(5, 9), entry(10, 14)])
    assert asked == []
    # The last entry after a gap has no follower: the index is asked about it, once.
    ledger = OffsetLedger()
    ledger.ask_index = lambda asked_entry: asked.append(asked_entry.first)
    feed(ledger, [entry(0, 4), entry(5, 9), entry(20, 24)])
    assert asked == [20]


def test_a_full_window_settles_what_it_can_and_keeps_the_newest_waiting():
    ledger = OffsetLedger()
    items = [entry(10 * number, 10 * number + 4) for number in range(OffsetLedger.WINDOW + 2)]
    for item in items:
        ledger.valid(item)
    # Seventeen entries with gaps filled the window: all but the newest were settled.
    assert ledger.confirmed_last == 10 * (OffsetLedger.WINDOW - 1) + 4
    assert [item.first for item in ledger.window] == [10 * OffsetLedger.WINDOW, 10 * (OffsetLedger.WINDOW + 1)]
    ledger.finish()
    assert ledger.damages == []


def test_the_last_entry_refuted_by_the_index_is_demoted():
    assert feed(OffsetLedger(), [entry(0, 4), entry(1 << 20, (1 << 20) + 4, indexed=False)]) == [
        ("offset_out_of_order", 5, None, None)]


@pytest.mark.parametrize("lowest, highest, expected", [
    (10, 1 << 62, [("offset_out_of_order", 0, 9, 10)]),
    (0, 8, [("offset_out_of_order", 0, None, None)]),
])
def test_entries_outside_their_segment_s_bounds_are_rejected(lowest, highest, expected):
    ledger = OffsetLedger()
    ledger.valid(entry(0, 9), lowest, highest)
    if lowest:
        ledger.valid(entry(10, 14), lowest, highest)
    ledger.finish()
    got = [(d.reason, d.first_offset, d.last_offset, d.next_valid_offset) for d in ledger.damages]
    assert got == expected


def test_quiet_and_last():
    ledger = OffsetLedger()
    assert ledger.quiet and ledger.last == -1
    ledger.damage(damage())
    assert not ledger.quiet


def test_several_damages_take_plausible_claims_in_order():
    group = [damage(3, 4), damage(7, 8), damage(6, 6), damage(99, 99)]
    assign_offsets(group, 5, entry(12, 14))
    assert [(d.first_offset, d.last_offset, d.next_valid_offset) for d in group] == [
        (5, 6, 12), (7, 11, 12), (7, 11, 12), (7, 11, 12)]


def test_known_spans_end_the_group_right_before_the_next_entry():
    group = [damage(), damage(known_span=4), damage(known_span=1)]
    assign_offsets(group, 5, entry(20, 24))
    assert [(d.first_offset, d.last_offset) for d in group] == [(5, 12), (13, 17), (18, 19)]
    crowded = [damage(), damage(known_span=40)]
    assign_offsets(crowded, 5, entry(20, 24))
    assert [(d.first_offset, d.last_offset) for d in crowded] == [(5, 19), (5, 19)]


@pytest.mark.parametrize("claims, expected_next", [
    ([(1, 1), (2, 2)], 3),        # the highest known offset of the last damage, plus one
    ([(1, 1), (None, None)], 5),  # the last damage's end is unknown: the wrapper's own offset
    ([(1, 1), (2, 9)], 5),        # a claim beyond the wrapper is implausible
])
def test_before_a_wrapper_with_an_unknown_first_offset(claims, expected_next):
    group = [damage(first, last) for first, last in claims]
    assign_offsets(group, 1, Entry("s", 0, 10, None, 5))
    assert {d.next_valid_offset for d in group} == {expected_next}
    assert all(d.last_offset is None or d.last_offset < expected_next for d in group)


def test_a_damage_between_two_adjacent_offsets_covers_none():
    group = [damage()]
    assign_offsets(group, 10, entry(10, 14))
    assert (group[0].first_offset, group[0].last_offset, group[0].next_valid_offset) == (None, None, 10)


def test_an_empty_group_is_left_alone():
    assign_offsets([], 0, None)
