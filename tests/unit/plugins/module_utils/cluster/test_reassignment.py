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
