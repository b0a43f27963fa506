# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""group_gates: the flowing predicate and every branch of the group waits, on a fake clock."""

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import group_gates
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.kafka_client import CoordinatorUnavailable

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.billing_group import MEMBER, group, target
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.fake_clock import FakeClock
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.fake_zookeeper import FakeZooKeeper
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.module_harness import FakeBrokers


def params(**overrides):
    return dict(dict(group="billing", state="inactive", targets=None, timeout=2.0, poll_interval=0.5,
                     process_command=None), **overrides)


class Sequence:
    """Calls fn(n) on the n-th call: a ZooKeeper that changes between polls."""

    def __init__(self, zk, changes):
        self.zk = zk
        self.changes = changes
        self.calls = 0

    def list_children(self, paths):
        change = self.changes.get(self.calls)
        if change:
            change(self.zk)
        self.calls += 1
        return self.zk.list_children(paths)

    def read_nodes(self, paths):
        return self.zk.read_nodes(paths)


def no_log_ends(_keys):
    raise AssertionError("the brokers must not be asked")


# The flowing predicate -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("committed", "log_end", "target_offset", "past"), [
    (None, 100, 20, False),   # no committed offset yet
    (21, None, 20, True),     # beyond the target
    (20, None, 20, False),    # at the target, log end unknown
    (20, 20, 20, True),       # at the target, which is the log end: nothing newer to read
    (20, 25, 20, False),      # at the target with records after it: not read yet
    (19, 19, 20, False),      # log end below the target: the target is not written yet
    (30, 25, 20, True),       # committed beyond the log end (log truncated): still past
])
def test_past_target(committed, log_end, target_offset, past):
    assert group_gates.past_target(committed, log_end, target_offset) is past


def test_log_end_is_asked_only_where_committed_sits_at_the_target():
    targets = [target(0, 10), target(1, 20), target(2, 30), target(3, 40)]
    committed = {("orders", 0): 11, ("orders", 1): 20, ("orders", 2): 5, ("orders", 3): None}
    assert group_gates.log_end_needed(targets, committed) == [("orders", 1)]


def test_split_targets_keeps_input_order_and_the_committed_offset_seen():
    targets = [target(2, 30), target(0, 10), target(1, 20)]
    committed = {("orders", 0): 11, ("orders", 1): 20, ("orders", 2): None}
    flowing, waiting = group_gates.split_targets(targets, committed, {("orders", 1): 20})
    assert flowing == [dict(topic="orders", partition=0, target_offset=10, committed_offset=11),
                       dict(topic="orders", partition=1, target_offset=20, committed_offset=20)]
    assert waiting == [dict(topic="orders", partition=2, target_offset=30, committed_offset=None)]


# Phrases ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rc", "stdout", "stderr", "phrase"), [
    (0, "running", "", None),
    (3, "consumer billing not running\n", "Shared connection to 127.0.0.21 closed.\r\n",
     "process_command exited 3: consumer billing not running"),
    (1, "", "", "process_command exited 1"),
    (1, "", "pid file missing\n", "process_command exited 1: pid file missing"),
    (127, "", "sh: 1: consumer-status.sh: not found\n",
     "process_command could not run (exit 127: sh: 1: consumer-status.sh: not found)"),
])
def test_process_exit_phrase(rc, stdout, stderr, phrase):
    assert group_gates.process_exit_phrase(rc, stdout, stderr) == phrase


@pytest.mark.parametrize(("count", "phrase"), [
    (1, "1 live consumer"), (2, "2 live consumers")])
def test_live_consumers(count, phrase):
    assert group_gates.live_consumers([f"m{n}" for n in range(count)]) == phrase


def test_long_lists_are_cut_at_ten():
    assert group_gates.member_list([f"m{n}" for n in range(12)]).endswith("m9, and 2 more")
    waiting = [dict(topic="t", partition=n, target_offset=5, committed_offset=None) for n in range(11)]
    assert group_gates.waiting_phrase(waiting).endswith("t/9 (no committed offset, target 5), and 1 more")


# Options ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("overrides", "message"), [
    (dict(poll_interval=0), "poll_interval must be above 0, got 0"),
    (dict(timeout=-1), "timeout must not be negative, got -1"),
    (dict(state="flowing"), "state=flowing needs targets: the partitions and the offsets to move past"),
    (dict(state="active", targets=[target(0, 1)]), "targets apply to state=flowing only, not to state=active"),
    (dict(process_command="true"), "process_command applies to state=active and state=flowing (a process that "
                                   "must keep running), not to state=inactive"),
])
def test_bad_options_are_one_sentence(overrides, message):
    with pytest.raises(group_gates.GroupWaitFailed) as raised:
        group_gates.wait(group_gates.ZooKeeperGroup(group(), "billing"), params(**overrides), no_log_ends)
    assert str(raised.value) == message


# The waits, on the fake clock ------------------------------------------------------------------------------

def run_wait(zk, clock=None, log_ends=no_log_ends, process_exit=None, **overrides):
    clock = clock or FakeClock()
    return group_gates.wait(group_gates.ZooKeeperGroup(zk, "billing"), params(**overrides), log_ends, process_exit,
                            clock=clock, sleep=clock.sleep)


@pytest.mark.parametrize(("state", "members"), [("inactive", []), ("active", [MEMBER])])
def test_a_state_that_holds_passes_at_the_first_check(state, members):
    assert run_wait(group(members), state=state) == dict(changed=False, members=members, elapsed=0.0)


def test_an_absent_group_is_inactive():
    assert run_wait(FakeZooKeeper({}), state="inactive")["members"] == []


def test_inactive_passes_when_the_last_member_leaves():
    zk = group([MEMBER])
    clock = FakeClock()
    changes = Sequence(zk, {2: lambda z: z.nodes.pop(f"/consumers/billing/ids/{MEMBER}")})
    assert run_wait(changes, clock) == dict(changed=False, members=[], elapsed=1.0)


@pytest.mark.parametrize(("members", "message"), [
    ([MEMBER], f"group 'billing' still has 1 live consumer after 2 s ({MEMBER}): stop it, or rerun when it has left"),
    (["a", "b"], "group 'billing' still has 2 live consumers after 2 s (a, b): stop them, or rerun when they have left"),
])
def test_inactive_times_out_naming_every_live_member(members, message):
    with pytest.raises(group_gates.GroupWaitFailed) as raised:
        run_wait(group(members))
    assert str(raised.value) == message
    assert raised.value.details == dict(changed=False, members=members, elapsed=2.0)


def test_active_times_out_saying_no_consumer_joined():
    with pytest.raises(group_gates.GroupWaitFailed) as raised:
        run_wait(group(), state="active", timeout=120)
    assert str(raised.value).startswith("group 'billing' has no live consumer after 120 s: check that its "
                                        "consumers started")
    assert raised.value.details["elapsed"] == 120.0


def test_active_ends_at_once_when_the_process_exited():
    clock = FakeClock()
    answers = iter([None, None, "process_command exited 3: consumer billing not running"])
    with pytest.raises(group_gates.GroupWaitFailed) as raised:
        run_wait(group(), clock, process_exit=lambda: next(answers), state="active", timeout=120)
    assert str(raised.value) == (
        "the consumer process of group 'billing' exited 1.0 s into the wait, before the group had a live consumer "
        "(process_command exited 3: consumer billing not running): look at its log, fix the cause and rerun")
    assert clock.now == 1.0


def test_active_does_not_ask_the_process_once_the_group_has_a_member():
    asked = []
    assert run_wait(group([MEMBER]), process_exit=lambda: asked.append(1), state="active")["members"] == [MEMBER]
    assert asked == []


def test_flowing_passes_on_committed_offsets_past_their_targets_without_asking_the_brokers():
    zk = group([MEMBER], {("orders", 0): 11, ("orders", 1): 25})
    result = run_wait(zk, state="flowing", targets=[target(0, 10), target(1, 20)])
    assert result["flowing"] == [dict(topic="orders", partition=0, target_offset=10, committed_offset=11),
                                 dict(topic="orders", partition=1, target_offset=20, committed_offset=25)]
    assert result["waiting"] == []


def test_flowing_asks_the_log_end_where_committed_sits_at_the_target():
    asked = []

    def log_ends(keys):
        asked.append(keys)
        return {("orders", 1): 20}

    zk = group([MEMBER], {("orders", 0): 11, ("orders", 1): 20})
    result = run_wait(zk, log_ends=log_ends, state="flowing", targets=[target(0, 10), target(1, 20)])
    assert asked == [[("orders", 1)]]
    assert result["waiting"] == []


def test_flowing_waits_until_the_offset_moves():
    zk = group([MEMBER], {("orders", 1): 20})
    move = {2: lambda z: z.put("/consumers/billing/offsets/orders/1", b"23")}
    result = run_wait(Sequence(zk, move), state="flowing", targets=[target(1, 21)])
    assert result["flowing"][0]["committed_offset"] == 23
    assert result["elapsed"] == 1.0


@pytest.mark.parametrize(("members", "seen"), [
    ([MEMBER], f"the group has 1 live consumer ({MEMBER})"),
    ([], "the group has no live consumer"),
])
def test_flowing_times_out_naming_each_waiting_partition(members, seen):
    zk = group(members, {("orders", 0): 11, ("orders", 1): 20})
    with pytest.raises(group_gates.GroupWaitFailed) as raised:
        run_wait(zk, state="flowing", targets=[target(0, 10), target(1, 21), target(2, 5)])
    assert str(raised.value) == (
        "2 partition(s) of group 'billing' not past their target after 2 s: orders/1 (committed 20, target 21), "
        f"orders/2 (no committed offset, target 5); {seen}: look at the consumer logs for the error it stops on")
    assert raised.value.details["waiting"] == [
        dict(topic="orders", partition=1, target_offset=21, committed_offset=20),
        dict(topic="orders", partition=2, target_offset=5, committed_offset=None)]
    assert raised.value.details["flowing"] == [dict(topic="orders", partition=0, target_offset=10, committed_offset=11)]


def test_flowing_ends_at_once_when_the_process_exited():
    zk = group([], {("orders", 1): 20})
    with pytest.raises(group_gates.GroupWaitFailed) as raised:
        run_wait(zk, process_exit=lambda: "process_command exited 3", state="flowing", targets=[target(1, 21)])
    assert str(raised.value) == (
        "the consumer process of group 'billing' exited 0.0 s into the wait, before every partition moved past its "
        "target (process_command exited 3); partitions still waiting: orders/1 (committed 20, target 21): look at "
        "its log, fix the cause and rerun")


def test_a_committed_offset_that_is_not_a_number_is_one_sentence():
    zk = group([MEMBER])
    zk.put("/consumers/billing/offsets/orders/1", b"garbage")
    with pytest.raises(group_gates.GroupWaitFailed) as raised:
        run_wait(zk, state="flowing", targets=[target(1, 21)])
    assert str(raised.value).startswith("/consumers/billing/offsets/orders/1 holds b'garbage', not a decimal offset")


# Kafka-stored groups -----------------------------------------------------------------------------------------

def kafka_group(state="Stable", offsets=None, members=()):
    return FakeBrokers({("orders", 0): (0, 100)}, groups={"billing": dict(
        state=state, members=list(members), offsets=dict(offsets or {}))})


KAFKA_MEMBER = dict(member_id="m-1", client_id="billing-app", client_host="/10.0.0.5",
                    member_assignment=dict(assigned_partitions=[dict(topic="orders", partitions=[0])]))


def test_a_kafka_group_is_inactive_once_empty_and_names_its_members_until_then():
    kafka = kafka_group(members=[KAFKA_MEMBER])
    store = group_gates.KafkaGroup(kafka, "billing")
    assert store.members() == ["m-1 (client id billing-app on 10.0.0.5)"]
    clock = FakeClock()
    with pytest.raises(group_gates.GroupWaitFailed) as raised:
        group_gates.wait(store, params(timeout=1.0), no_log_ends, clock=clock, sleep=clock.sleep)
    assert str(raised.value).startswith("group 'billing' still has 1 live consumer after 1 s (m-1 (client id "
                                        "billing-app on 10.0.0.5))")
    kafka.groups["billing"]["state"] = "Empty"
    assert store.members() == []


def test_a_new_protocol_group_without_listed_members_is_still_active():
    kafka = kafka_group()
    kafka.groups["billing"]["type"] = "consumer"
    assert group_gates.KafkaGroup(kafka, "billing").members() == ["members of a group in state Stable"]


def test_a_kafka_group_flows_once_its_committed_offsets_pass_the_targets():
    kafka = kafka_group(offsets={("orders", 0): 12}, members=[KAFKA_MEMBER])
    result = group_gates.wait(group_gates.KafkaGroup(kafka, "billing"),
                              params(state="flowing", targets=[target(0, 11)]), no_log_ends)
    assert result["flowing"] == [dict(topic="orders", partition=0, target_offset=11, committed_offset=12)]


@pytest.mark.parametrize("storage, zk_hosts, legacy, chosen", [
    ("auto", "zk:2181", True, group_gates.ZooKeeperGroup),
    ("auto", "zk:2181", False, group_gates.KafkaGroup),
    ("auto", None, True, group_gates.KafkaGroup),
    ("zookeeper", "zk:2181", False, group_gates.ZooKeeperGroup),
    ("kafka", "zk:2181", True, group_gates.KafkaGroup),
])
def test_group_reader_picks_the_store(storage, zk_hosts, legacy, chosen):
    zk = group() if legacy else FakeZooKeeper({})
    reader = group_gates.group_reader(dict(group="billing", storage=storage, zk_hosts=zk_hosts), lambda: zk,
                                      kafka_group)
    assert isinstance(reader, chosen)


class MovingCoordinator:
    """A Kafka group whose coordinator cannot answer for the first `unanswered` reads."""

    where = "Kafka's group coordinator"
    group = "billing"

    def __init__(self, unanswered, members=(), committed=None):
        self.unanswered = unanswered
        self.member_list = list(members)
        self.held = committed or {}

    def _maybe_fail(self):
        if self.unanswered > 0:
            self.unanswered -= 1
            raise CoordinatorUnavailable("the group coordinator did not answer the group listing (ListGroups) "
                                         "(NotCoordinatorError): check that every broker runs")

    def members(self):
        self._maybe_fail()
        return self.member_list

    def committed(self, keys):
        self._maybe_fail()
        return {key: self.held.get(key) for key in keys}


@pytest.mark.parametrize("state, members", [("inactive", []), ("active", ["m-1"])])
def test_a_coordinator_that_moves_does_not_end_the_wait(state, members):
    clock = FakeClock()
    result = group_gates.wait(MovingCoordinator(3, members), params(state=state, timeout=5.0), no_log_ends,
                              clock=clock, sleep=clock.sleep)
    assert result["members"] == members and result["elapsed"] == 1.5


def test_a_flowing_wait_rides_out_a_coordinator_move():
    clock = FakeClock()
    store = MovingCoordinator(2, ["m-1"], {("orders", 0): 12})
    result = group_gates.wait(store, params(state="flowing", targets=[target(0, 11)], timeout=5.0), no_log_ends,
                              clock=clock, sleep=clock.sleep)
    assert result["flowing"][0]["committed_offset"] == 12


def test_a_coordinator_that_never_answers_fails_naming_why():
    clock = FakeClock()
    with pytest.raises(group_gates.GroupWaitFailed) as raised:
        group_gates.wait(MovingCoordinator(100), params(state="inactive", timeout=2.0), no_log_ends,
                         clock=clock, sleep=clock.sleep)
    assert str(raised.value).startswith("group 'billing' could not be read at the end of the 2 s wait: the group "
                                        "coordinator did not answer")
