# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure decisions behind partition_info, partition_reassignment and leader_election, branch by branch."""

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import reassignment


def info(replicas=(1, 2, 3), isr=(1, 2, 3), leader=1, adding=None, removing=(), partition=0):
    running = None if adding is None else dict(adding=list(adding), removing=list(removing))
    return dict(topic="orders", partition=partition, replicas=list(replicas), isr=list(isr), leader=leader,
                reassignment=running)


KEY = ("orders", 0)


# What partition_info reports ----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ({}, dict(min_insync_replicas=1, unclean_leader_election=False, remote_storage=False, cleanup_policy="delete")),
    ({"min.insync.replicas": "2", "unclean.leader.election.enable": "TRUE", "remote.storage.enable": "true",
      "cleanup.policy": "compact,delete"},
     dict(min_insync_replicas=2, unclean_leader_election=True, remote_storage=True, cleanup_policy="compact,delete")),
    ({"min.insync.replicas": "", "unclean.leader.election.enable": None},
     dict(min_insync_replicas=1, unclean_leader_election=False, remote_storage=False, cleanup_policy="delete")),
])
def test_config_summary(raw, expected):
    assert reassignment.config_summary(raw) == expected


STATES = {"orders": {0: {}, 1: {}, 2: {}}, "two": {0: {}, 3: {}}, "empty": {}, "missing": None}


@pytest.mark.parametrize("topics, partitions, keys, unknown", [
    (["orders"], None, [("orders", 0), ("orders", 1), ("orders", 2)], []),
    (None, [dict(topic="two", partition="3", extra=1), dict(topic="two", partition=3)], [("two", 3)], []),
    (["orders"], [dict(topic="orders", partition=1)], [("orders", 0), ("orders", 1), ("orders", 2)], []),
    (["missing"], None, [], ["topic 'missing' does not exist: check its name (kafka-topics --list)"]),
    (None, [dict(topic="gone", partition=0)], [],
     ["partition gone-0: topic 'gone' does not exist: check its name (kafka-topics --list)"]),
    (None, [dict(topic="orders", partition=9)], [],
     ["partition orders-9 does not exist: topic 'orders' has partitions 0-2; check the partition numbers"]),
    (None, [dict(topic="two", partition=1)], [],
     ["partition two-1 does not exist: topic 'two' has partitions 0, 3; check the partition numbers"]),
    (None, [dict(topic="empty", partition=0)], [],
     ["partition empty-0 does not exist: topic 'empty' has partitions none; check the partition numbers"]),
    (None, [dict(partition=0)], [], ["partitions entry {'partition': 0} needs a topic and a partition number"]),
    (None, [dict(topic="orders", partition="x")], [],
     ["partitions entry {'topic': 'orders', 'partition': 'x'} needs a topic and a partition number"]),
])
def test_wanted_keys(topics, partitions, keys, unknown):
    assert reassignment.wanted_keys(topics, partitions, STATES) == (keys, unknown)


def test_partition_infos_with_and_without_sizes_and_configs():
    states = {"orders": {1: dict(replicas=[2, 3], isr=[2], leader=None), 0: dict(replicas=[1], isr=[1], leader=1)}}
    running = {("orders", 1): dict(replicas=[2, 3], adding=[3], removing=[])}
    plain = reassignment.partition_infos([("orders", 1), ("orders", 0)], states, running)
    assert plain == [dict(topic="orders", partition=0, replicas=[1], isr=[1], leader=1, reassignment=None),
                     dict(topic="orders", partition=1, replicas=[2, 3], isr=[2], leader=None,
                          reassignment=dict(adding=[3], removing=[]))]
    full = reassignment.partition_infos([("orders", 0), ("orders", 1)], states, {}, {("orders", 0): {1: 5, 2: 9}},
                                        {"orders": {"min.insync.replicas": "2"}})
    assert [p["size_bytes"] for p in full] == [9, 0] and full[0]["configs"]["min_insync_replicas"] == 2


# Reassignment -------------------------------------------------------------------------------------------------

def test_read_targets():
    targets, problems = reassignment.read_targets([
        dict(topic="orders", partition=0, replicas=[1, 2]), dict(topic="orders", partition=0, replicas=[1, 2]),
        dict(topic="orders", partition=0, replicas=[2, 1]), dict(topic="orders", partition=1, replicas=None),
        dict(topic="orders", partition=2, replicas=[3, 3])])
    assert targets == {KEY: [1, 2]}
    assert problems == [
        "partition orders-0 is given two targets, [1, 2] and [2, 1]: give it once",
        "partition orders-1: no replicas given: list the broker ids it should have",
        "partition orders-2: replicas [3, 3] name a broker twice"]


@pytest.mark.parametrize("state, running, before", [
    (info(), None, [1, 2, 3]),
    (info(replicas=(1, 2, 4, 3), adding=[4], removing=[3]), [1, 2, 4], [1, 2, 3]),
    (info(replicas=(2, 1, 3), adding=[], removing=[]), [2, 1, 3], [2, 1, 3]),
])
def test_running_target_and_replicas_before(state, running, before):
    assert reassignment.running_target(state) == running and reassignment.replicas_before(state) == before


@pytest.mark.parametrize("state, target, complete", [
    (info(), [1, 2, 3], True),
    (info(), [2, 1, 3], False),
    (info(isr=(1, 2)), [1, 2, 3], False),
    (info(adding=[], removing=[]), [1, 2, 3], False),
    (info(isr=(3, 2, 1, 4)), [1, 2, 3], True),
])
def test_is_complete(state, target, complete):
    assert reassignment.is_complete(target, state) is complete


def test_plan_reassignment_every_branch():
    targets = {("orders", 0): [2, 1, 3], ("orders", 1): [1, 2, 3], ("orders", 2): [1, 2, 3],
               ("orders", 3): [1, 2, 4], ("orders", 4): [1, 2, 5]}
    infos = [info(partition=0), info(partition=1), info(partition=2, isr=(1, 2)),
             info(partition=3, replicas=(1, 2, 4, 3), adding=[4], removing=[3]),
             info(partition=4, replicas=(1, 2, 4, 3), adding=[4], removing=[3])]
    plan = reassignment.plan_reassignment(targets, infos)
    assert plan["submit"] == {("orders", 0): [2, 1, 3]}
    assert plan["done"] == [("orders", 1)] and plan["wait"] == [("orders", 2), ("orders", 3)]
    assert plan["conflicts"] == [
        "partition orders-4: a reassignment to [1, 2, 4] is running (adding [4], removing [3]), not to [1, 2, 5]: "
        "let it finish or cancel it (kafka-reassign-partitions --cancel), then rerun"]
    assert plan["before"][("orders", 3)] == [1, 2, 3]


def test_unfinished_and_timeout_message():
    targets = {KEY: [1, 2, 4], ("orders", 1): [1, 2, 3], ("orders", 2): [3, 2, 1]}
    left = reassignment.unfinished(targets, [info(replicas=(1, 2, 4, 3), adding=[4], removing=[3]),
                                             info(partition=1), info(partition=2), info(partition=9)])
    assert left == [dict(topic="orders", partition=0, target=[1, 2, 4], replicas=[1, 2, 4, 3], isr=[1, 2, 3],
                         adding=[4]),
                    dict(topic="orders", partition=2, target=[3, 2, 1], replicas=[1, 2, 3], isr=[1, 2, 3], adding=[])]
    assert reassignment.timeout_message(left, 30) == (
        "the reassignment did not complete within 30 s: orders-0 replicas [1, 2, 4, 3] ISR [1, 2, 3] (target "
        "[1, 2, 4], adding [4]); orders-2 replicas [1, 2, 3] ISR [1, 2, 3] (target [3, 2, 1]). It keeps running: "
        "rerun the same task to wait for it again, or cancel it (kafka-reassign-partitions --cancel)")


def test_track_sizes_and_stalled():
    copying = [info(replicas=(1, 2, 4, 5), isr=(1, 2, 5), adding=[4, 5], removing=[])]
    first = reassignment.track_sizes({}, 0.0, copying, {})
    assert first == {(KEY, 4): dict(bytes=0, since=0.0)}
    grown = reassignment.track_sizes(first, 5.0, copying, {KEY: {4: 100}})
    assert grown == {(KEY, 4): dict(bytes=100, since=5.0)}
    flat = reassignment.track_sizes(grown, 9.0, copying, {KEY: {4: 100}})
    assert flat == {(KEY, 4): dict(bytes=100, since=5.0)}
    assert reassignment.stalled(flat, 9.0, 5.0) == []
    assert reassignment.stalled(flat, 10.0, 5.0) == [dict(topic="orders", partition=0, brokers=[4], bytes={4: 100},
                                                          seconds=5.0)]
    assert reassignment.stalled(flat, 100.0, 0) == []
    two = {(KEY, 4): dict(bytes=1, since=0.0), (KEY, 6): dict(bytes=2, since=1.0), (("orders", 1), 3): dict(
        bytes=0, since=9.0)}
    assert reassignment.stalled(two, 10.0, 5.0) == [dict(topic="orders", partition=0, brokers=[4, 6],
                                                         bytes={4: 1, 6: 2}, seconds=10.0)]


def test_stall_message():
    stalls = [dict(topic="orders", partition=0, brokers=[4], bytes={4: 100}, seconds=5.0),
              dict(topic="orders", partition=1, brokers=[3, 5], bytes={3: 0, 5: 7}, seconds=6.5)]
    assert reassignment.stall_message(stalls, {("orders", 1): "NoReassignmentInProgressError"}) == (
        "the reassignment stalled: partition orders-0: the added replica(s) on brokers [4] stopped growing for 5 s "
        "outside the ISR (broker 4 100 bytes copied); cancelled, its replicas are back to where they were; "
        "partition orders-1: the added replica(s) on brokers [3, 5] stopped growing for 6.5 s outside the ISR "
        "(broker 3 0 bytes, broker 5 7 bytes copied); cancelling it failed (NoReassignmentInProgressError): "
        "cancel it with kafka-reassign-partitions --cancel. A follower that cannot copy a batch logs 'Found "
        "invalid messages during fetch' in its server.log")


# Preferred leader election ------------------------------------------------------------------------------------

def test_plan_election_every_branch():
    plan = reassignment.plan_election([info(), info(partition=1, leader=2), info(partition=2, leader=None),
                                       info(partition=3, leader=2, isr=(2, 3)),
                                       info(partition=4, replicas=(), isr=(), leader=None)])
    assert plan["done"] == [("orders", 0)] and plan["elect"] == [("orders", 1), ("orders", 2)]
    assert plan["refusals"] == [
        "partition orders-3: the preferred replica 1 is not in the ISR [2, 3], so it cannot lead: wait until it is "
        "in sync (broker_wait), then rerun",
        "partition orders-4: the preferred replica None is not in the ISR [], so it cannot lead: wait until it is "
        "in sync (broker_wait), then rerun"]


# Replication throttle -------------------------------------------------------------------------------------------

LEADER, FOLLOWER = reassignment.LEADER_REPLICAS, reassignment.FOLLOWER_REPLICAS
RATES = reassignment.RATE_CONFIGS
# orders-0 goes from [1, 2, 3] to [1, 2, 4]; orders-1 only changes its order; audit-2 goes from [2] to [2, 5].
MOVES = {("orders", 0): ([1, 2, 3], [1, 2, 4]), ("audit", 2): ([2], [2, 5])}
THROTTLE = dict(rate=1000, brokers=[1, 2, 3, 4], topics={
    "audit": dict(leader=["2:2"], follower=["2:5"]), "orders": dict(leader=["0:1", "0:2", "0:3"], follower=["0:4"])})


def test_throttle_moves_keep_the_partitions_that_copy():
    plan = dict(submit={("orders", 0): [1, 2, 4], ("orders", 1): [2, 1, 3]}, wait=[("audit", 2), ("audit", 3)],
                before={("orders", 0): [1, 2, 3], ("orders", 1): [1, 2, 3], ("audit", 2): [2], ("audit", 3): [3]})
    targets = {("orders", 0): [1, 2, 4], ("orders", 1): [2, 1, 3], ("audit", 2): [2, 5], ("audit", 3): [3]}
    assert reassignment.throttle_moves(plan, targets) == MOVES


@pytest.mark.parametrize("rate, moves, expected", [
    (0, MOVES, None),
    (1000, {}, None),
    (1000, MOVES, THROTTLE),
])
def test_plan_throttle_brokers_up_only(rate, moves, expected):
    assert reassignment.plan_throttle(rate, moves, {1, 2, 3, 4}) == expected


def test_plan_throttle_leaves_out_brokers_that_are_down():
    assert reassignment.plan_throttle(1000, MOVES, {1, 2, 4, 9})["brokers"] == [1, 2, 4]


def test_broker_overrides_only_values_set_on_the_broker():
    found = {1: {RATES[0]: dict(value="5", source="DYNAMIC_BROKER_CONFIG"),
                 RATES[1]: dict(value="7", source="DYNAMIC_DEFAULT_BROKER_CONFIG")}, 2: {}}
    assert reassignment.broker_overrides(found) == {1: {RATES[0]: "5", RATES[1]: None}, 2: {}}


@pytest.mark.parametrize("found, window", [
    ({}, 11.0),
    ({1: {}}, 11.0),
    ({1: {"replication.quota.window.num": dict(value="20")},
      2: {"replication.quota.window.num": dict(value="5"), "replication.quota.window.size.seconds": dict(value="2")}},
     20.0),
    ({1: {"replication.quota.window.num": dict(value="many")}}, 11.0),
])
def test_quota_window(found, window):
    assert reassignment.quota_window(found) == window


@pytest.mark.parametrize("stall_timeout, rate, expected", [
    (0, 1000, 0), (5, 0, 5), (5, 1000, 22.0), (120, 1000, 120),
])
def test_throttled_stall_timeout(stall_timeout, rate, expected):
    assert reassignment.throttled_stall_timeout(stall_timeout, rate, 11.0) == expected


def test_throttle_changes_on_a_clean_cluster_set_everything_and_undo_everything():
    changes = reassignment.throttle_changes(THROTTLE, MOVES, [], {}, {})
    assert changes["write"] == dict(
        brokers={b: {RATES[0]: "1000", RATES[1]: "1000"} for b in (1, 2, 3, 4)},
        topics={"audit": {LEADER: "2:2", FOLLOWER: "2:5"}, "orders": {LEADER: "0:1,0:2,0:3", FOLLOWER: "0:4"}})
    assert changes["undo"] == dict(
        brokers={b: {RATES[0]: None, RATES[1]: None} for b in (1, 2, 3, 4)},
        topics={"audit": {LEADER: ["2:2"], FOLLOWER: ["2:5"]},
                "orders": {LEADER: ["0:1", "0:2", "0:3"], FOLLOWER: ["0:4"]}})


def test_throttle_changes_keep_what_others_set():
    brokers_now = {1: {RATES[0]: "1000", RATES[1]: "1000"}, 2: {RATES[0]: "50", RATES[1]: None}}
    topics_now = {"orders": {LEADER: "0:1,7:7", FOLLOWER: "*"}}
    changes = reassignment.throttle_changes(THROTTLE, MOVES, [], brokers_now, topics_now)
    assert 1 not in changes["write"]["brokers"] and 1 not in changes["undo"]["brokers"]
    assert changes["write"]["brokers"][2] == {RATES[0]: "1000", RATES[1]: "1000"}
    assert changes["undo"]["brokers"][2] == {RATES[0]: "50", RATES[1]: None}
    assert changes["write"]["topics"]["orders"] == {LEADER: "0:1,7:7,0:2,0:3"}
    assert changes["undo"]["topics"]["orders"] == {LEADER: ["0:2", "0:3"]}


def test_throttle_changes_adopt_the_throttle_of_an_interrupted_run():
    # An earlier run set 500 bytes/s for orders-0, submitted it and was killed; the rerun waits for it.
    brokers_now = {b: {RATES[0]: "500", RATES[1]: "500"} for b in (1, 2, 3, 4)}
    topics_now = {"orders": {LEADER: "0:1,0:2,0:3", FOLLOWER: "0:4"}, "audit": {LEADER: "2:2"}}
    changes = reassignment.throttle_changes(THROTTLE, MOVES, [("orders", 0), ("audit", 2)], brokers_now, topics_now)
    assert changes["write"]["brokers"] == {b: {RATES[0]: "1000", RATES[1]: "1000"} for b in (1, 2, 3, 4)}
    assert changes["undo"]["brokers"] == {b: {RATES[0]: None, RATES[1]: None} for b in (1, 2, 3, 4)}
    assert "orders" not in changes["write"]["topics"]
    assert changes["undo"]["topics"]["orders"] == {LEADER: ["0:1", "0:2", "0:3"], FOLLOWER: ["0:4"]}
    # audit-2's follower pair is missing: not its throttle, so its leader pair stays someone else's.
    assert changes["write"]["topics"]["audit"] == {FOLLOWER: "2:5"}
    assert changes["undo"]["topics"]["audit"] == {FOLLOWER: ["2:5"]}


def test_throttle_changes_same_rate_again_after_an_interruption_writes_nothing():
    brokers_now = {b: {RATES[0]: "1000", RATES[1]: "1000"} for b in (1, 2, 3, 4)}
    topics_now = {"orders": {LEADER: "0:1,0:2,0:3", FOLLOWER: "0:4"}, "audit": {LEADER: "2:2", FOLLOWER: "2:5"}}
    changes = reassignment.throttle_changes(THROTTLE, MOVES, list(MOVES), brokers_now, topics_now)
    assert changes["write"] == dict(brokers={}, topics={})
    assert changes["undo"]["brokers"] == {b: {RATES[0]: None, RATES[1]: None} for b in (1, 2, 3, 4)}


def test_throttle_lift_restores_deletes_and_leaves_others_changes():
    undo = dict(brokers={1: {RATES[0]: None, RATES[1]: "50"}, 2: {RATES[0]: None}, 5: {RATES[0]: None}},
                topics={"orders": {LEADER: ["0:1", "0:2"], FOLLOWER: ["0:4"]}, "audit": {LEADER: ["2:2"]}})
    brokers_now = {1: {RATES[0]: "1000", RATES[1]: "1000"}, 2: {RATES[0]: "2000"}}
    topics_now = {"orders": {LEADER: "0:1,7:7,0:2", FOLLOWER: "0:4"}, "audit": {LEADER: None}}
    lift = reassignment.throttle_lift(1000, undo, {1, 2, 3}, brokers_now, topics_now)
    assert lift == dict(brokers={1: {RATES[0]: None, RATES[1]: "50"}}, down=[5],
                        topics={"orders": {LEADER: "7:7", FOLLOWER: None}})


@pytest.mark.parametrize("down, refused, unread, expected", [
    ([], {}, None, None),
    ([3], {"topic orders": "[Error 42] InvalidRequestError: no"}, None,
     "the replication throttle was not lifted (broker 3 is not up; topic orders refused ([Error 42] "
     "InvalidRequestError: no)): remove it with kafka-configs --alter --delete-config, on each broker "
     "(--entity-type brokers) leader.replication.throttled.rate,follower.replication.throttled.rate and on each "
     "topic (--entity-type topics) leader.replication.throttled.replicas,follower.replication.throttled.replicas"),
    ([], {}, "brokers did not answer", "the replication throttle was not lifted (brokers did not answer): "),
])
def test_throttle_left_message(down, refused, unread, expected):
    message = reassignment.throttle_left_message(down, refused, unread)
    assert message == expected or message.startswith(expected)
