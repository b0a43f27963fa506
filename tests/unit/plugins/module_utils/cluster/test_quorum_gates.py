# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""quorum_gates: Strimzi's caught-up rule and can_stop_controllers over each branch."""

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import quorum_gates

NOW = 1_760_000_000_000


def quorum(leader_id, behind_ms):
    """Voters {node: milliseconds behind the leader's last caught-up time}; None means unknown (-1)."""
    voters = [dict(node_id=node, last_caught_up_timestamp=-1 if behind is None else NOW - behind)
              for node, behind in sorted(behind_ms.items())]
    return dict(leader_id=leader_id, voters=voters)


@pytest.mark.parametrize(("behind", "caught_up"), [(0, True), (1999, True), (2000, False), (None, False)])
def test_a_voter_is_caught_up_strictly_within_the_fetch_timeout(behind, caught_up):
    state = quorum(1, {1: 0, 2: behind})
    leader = quorum_gates.leader_of(state)
    assert quorum_gates.voter_caught_up(state["voters"][1], leader, 2000) is caught_up


def test_the_leader_is_caught_up_and_nobody_is_without_a_leader():
    state = quorum(1, {1: 0, 2: 0})
    assert quorum_gates.voter_caught_up(state["voters"][0], quorum_gates.leader_of(state), 2000)
    assert not quorum_gates.voter_caught_up(state["voters"][1], None, 2000)
    # A leader that is not among the voters (an answer mid-reconfiguration) is no leader to judge against.
    assert quorum_gates.leader_of(quorum(9, {1: 0})) is None
    assert quorum_gates.leader_of(quorum(None, {1: 0})) is None


@pytest.mark.parametrize(("voters", "needed"), [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3)])
def test_majority(voters, needed):
    assert quorum_gates.majority(voters) == needed


def test_stopping_one_of_three_caught_up_voters_is_ok():
    decision = quorum_gates.can_stop_controllers(quorum(1, {1: 0, 2: 100, 3: 50}), [3])
    assert decision == dict(ok=True, needed=2, caught_up=[1, 2], lagging=[], stopped=[3], reason=None, warning=None)


def test_stopping_a_voter_while_another_lags_loses_the_majority():
    decision = quorum_gates.can_stop_controllers(quorum(1, {1: 0, 2: 5000, 3: 0}), [3], fetch_timeout_ms=2000)
    assert not decision["ok"]
    assert decision["caught_up"] == [1] and decision["lagging"] == [2] and decision["needed"] == 2
    assert decision["reason"].startswith("stopping controller(s) [3] leaves 1 caught-up voter(s) [1] of 3, fewer "
                                         "than the majority of 2; lagging: [2]")
    # A longer fetch timeout counts the same voter as caught up.
    assert quorum_gates.can_stop_controllers(quorum(1, {1: 0, 2: 5000, 3: 0}), [3], fetch_timeout_ms=6000)["ok"]


def test_stopping_too_many_caught_up_voters_says_to_stop_fewer():
    decision = quorum_gates.can_stop_controllers(quorum(3, {1: 0, 2: 0, 3: 0}), [1, 2])
    assert not decision["ok"] and decision["lagging"] == []
    assert decision["reason"] == ("stopping controller(s) [1, 2] leaves 1 caught-up voter(s) [3] of 3, fewer than "
                                  "the majority of 2: stop fewer controllers at once")


def test_stopping_the_leader_counts_the_others_against_its_timestamp():
    assert quorum_gates.can_stop_controllers(quorum(1, {1: 0, 2: 0, 3: 0}), [1])["ok"]
    assert not quorum_gates.can_stop_controllers(quorum(1, {1: 0, 2: 0, 3: None}), [1])["ok"]


def test_nothing_stopped_checks_the_quorum_as_it_is_and_unknown_ids_are_ignored():
    decision = quorum_gates.can_stop_controllers(quorum(1, {1: 0, 2: None, 3: None}), [7])
    assert not decision["ok"] and decision["stopped"] == [] and decision["lagging"] == [2, 3]
    assert quorum_gates.can_stop_controllers(quorum(1, {1: 0, 2: 0, 3: None}), [])["ok"]


def test_a_quorum_without_leader_refuses():
    decision = quorum_gates.can_stop_controllers(quorum(None, {1: 0, 2: 0, 3: 0}), [2])
    assert not decision["ok"] and decision["caught_up"] == []
    assert decision["reason"].startswith("the quorum has no leader (voters [1, 2, 3])")


def test_a_single_voter_quorum_is_allowed_with_a_warning():
    decision = quorum_gates.can_stop_controllers(quorum(1, {1: 0}), [1])
    assert decision["ok"] and decision["needed"] == 1
    assert decision["warning"].startswith("the quorum has a single voter (1)")


def test_no_voters_is_refused():
    decision = quorum_gates.can_stop_controllers(dict(leader_id=None, voters=[]), [])
    assert not decision["ok"] and decision["needed"] == 0
    assert decision["reason"] == "the quorum lists no voters: is this a KRaft cluster?"
