# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The decision engine of skip_corrupt.yml: every branch, from the facts a run gathers to what it does."""

from __future__ import annotations

import re

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils import triage

BROKERS = {"broker_hosts": ["kafka1", "kafka2", "kafka3"], "broker_ids": [1, 2, 3]}
INVENTORY = {**BROKERS, "consumers": ["app1"]}


def settings(**overrides):
    return {"consumer_group": "billing", "stuck_interval": 4, **overrides}


def offset(partition, committed, log_end=100, topic="orders", log_start=0):
    return {"group": "billing", "topic": topic, "partition": partition, "offset": committed,
            "log_start_offset": log_start, "log_end_offset": log_end,
            "path": f"/consumers/billing/offsets/{topic}/{partition}"}


def partition_state(partition, leader=1, replicas=(1, 2, 3), topic="orders"):
    return {"topic": topic, "partition": partition, "replicas": list(replicas), "leader": leader,
            "isr": list(replicas)}


def sample(offsets, partitions=None, state="active", controller=3, unreadable=None, healthy=True, ids=(1, 2, 3)):
    partitions = partitions if partitions is not None else [partition_state(e["partition"], topic=e["topic"])
                                                            for e in offsets]
    return {"groups": [{"group": "billing", "state": state, "members": ["m1"] if state == "active" else []}],
            "offsets": offsets, "stray_nodes": [], "unreadable_offsets": unreadable or [],
            "cluster": {"broker_ids": list(ids), "controller_id": controller, "healthy": healthy,
                        "partitions": partitions,
                        "summary": {"brokers": len(ids), "under_replicated": 0 if healthy else 2, "offline": 0}}}


def scan(broker, partition, first_damaged=None, next_valid=None, topic="orders"):
    return {"topic": topic, "partition": partition, "broker_id": broker, "first_damaged_offset": first_damaged,
            "next_valid_offset": next_valid, "clean": first_damaged is None}


def record(broker, partition, first, last, topic="orders"):
    return {"topic": topic, "partition": partition, "broker_id": broker, "first_offset": first,
            "last_offset": last, "next_valid_offset": last + 1, "segment": "s", "position": 9}


def scans_of(*entries, records=()):
    """Registered loop results, one per host, as the playbook gathers them."""
    return [{"results": [{"partitions": list(entries), "corrupt_records": list(records)}]}]


def decide(raw=None, **facts):
    return triage.decide(raw or settings(), facts.pop("inventory", INVENTORY), **facts)


# Settings -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, element, expected", [
    (None, str, []), ("", str, []), ([], str, []),
    ("orders", str, ["orders"]),
    ("orders, billing", str, ["orders", "billing"]),
    (["orders", "billing"], str, ["orders", "billing"]),
    ("1,2", int, [1, 2]), (3, int, [3]), ([0, "1"], int, [0, 1]), ("7", int, [7]),
])
def test_as_list_accepts_a_list_a_comma_string_or_one_value(value, element, expected):
    assert triage.as_list(value, "topics", element) == expected


@pytest.mark.parametrize("value, element, match", [
    ({"a": 1}, str, "topics must be a list, a comma-separated string or a single value"),
    ("a,b", int, "must hold partition numbers, got 'a'"),
    ([1.5], int, "must hold partition numbers"),
    ([True], int, "must hold partition numbers"),
    ([{"x": 1}], str, "must hold names"),
    (2.5, str, "must be a list"),
])
def test_as_list_refuses_anything_else_in_one_line(value, element, match):
    with pytest.raises(triage.DecisionInputError, match=match):
        triage.as_list(value, "topics", element)


def test_a_plain_topics_string_is_one_topic_not_its_characters():
    answer = decide(settings(topics="orders"))
    assert answer["settings"]["topics"] == ["orders"]


@pytest.mark.parametrize("raw, match", [
    ({}, "pass -e consumer_group"),
    ({"consumer_group": "  "}, "pass -e consumer_group"),
    (settings(broker_restart="reboot"), "broker_restart must be full_stop, rolling or none, got 'reboot'"),
    (settings(max_skipped_records="many"), "max_skipped_records must be a whole number"),
    (settings(max_skipped_records=-1), "max_skipped_records must be at least 0"),
    (settings(max_skipped_records=1.5), "max_skipped_records must be a whole number"),
    (settings(stuck_interval=True), "stuck_interval must be a number"),
    (settings(allow_intact_replica="maybe"), "allow_intact_replica must be true or false"),
    (settings(verify_poll_interval=0), "verify_poll_interval must be at least 0.05"),
    (settings(offsets="orders:1:5"), "offsets must be a list"),
    (settings(offsets=[{"topic": "orders"}]), "each entry of offsets needs topic, partition and offset"),
])
def test_bad_settings_are_named(raw, match):
    with pytest.raises(triage.DecisionInputError, match=match):
        triage.read_settings(raw)


def test_settings_from_strings_as_extra_vars_give_them():
    read = triage.read_settings(settings(max_skipped_records="20", stuck_interval="2.5", allow_intact_replica="true",
                                         partitions="1,2", offsets=[{"topic": "t", "partition": "1", "offset": "9"}]))
    assert (read["max_skipped_records"], read["stuck_interval"], read["allow_intact_replica"]) == (20, 2.5, True)
    assert read["partitions"] == [1, 2]
    assert read["offsets"] == [{"topic": "t", "partition": 1, "target_offset": 9}]


@pytest.mark.parametrize("inventory, match", [
    ({}, "no kafka_brokers hosts"),
    ({"broker_hosts": ["kafka1"], "broker_ids": [None]}, "kafka1 needs broker_service_id"),
    ({"broker_hosts": ["kafka1"], "broker_ids": []}, "1 broker hosts but 0 broker ids"),
])
def test_an_inventory_without_broker_ids_is_named(inventory, match):
    with pytest.raises(triage.DecisionInputError, match=match):
        triage.decide(settings(), inventory)


def test_bad_input_becomes_a_refusal_that_names_it():
    answer = triage.refusal_for_bad_input(triage.DecisionInputError("topics must be a list"), {"consumer_group": "b"})
    assert answer["action"] == "refuse"
    assert answer["message"] == "Nothing was changed: topics must be a list."
    assert not any(answer["phases"].values()) and answer["host_groups"] == []


# What to gather next ------------------------------------------------------------------------------------------

def test_first_it_asks_for_the_offsets():
    answer = decide()
    assert answer["need"] == "sample" and answer["action"] is None
    assert answer["bring_back"] == []


def test_then_it_asks_each_broker_to_scan_the_lagging_partitions_it_holds():
    parts = [partition_state(0, replicas=(1, 2)), partition_state(1, replicas=(2, 3)), partition_state(2)]
    answer = decide(sample=sample([offset(0, 10), offset(1, 20), offset(2, 100)], parts))
    assert answer["need"] == "scans"
    assert answer["scan_requests"] == {
        "kafka1": [{"topic": "orders", "partitions": [0], "start_offsets": {"0": 10}}],
        "kafka2": [{"topic": "orders", "partitions": [0, 1], "start_offsets": {"0": 10, "1": 20}}],
        "kafka3": [{"topic": "orders", "partitions": [1], "start_offsets": {"1": 20}}],
    }


def test_named_partitions_limit_the_scan():
    answer = decide(settings(partitions="1"), sample=sample([offset(0, 10), offset(1, 20)]))
    assert {request["partitions"][0] for requests in answer["scan_requests"].values() for request in requests} == {1}


def test_nothing_lagging_means_nothing_to_do_without_scanning():
    answer = decide(sample=sample([offset(0, 100), offset(1, 100)]))
    assert answer["need"] is None and answer["action"] == "nothing"
    assert "is not stuck: every committed offset is at the log end" in answer["message"]
    assert answer["host_groups"] == [] and not any(answer["phases"].values())


def test_damage_on_the_leader_needs_no_watch():
    answer = decide(sample=sample([offset(1, 20)]), scans=scans_of(*(scan(b, 1, 20, 25) for b in (1, 2, 3))))
    assert answer["need"] is None and answer["action"] == "act" and answer["watched_seconds"] == 0


def test_lag_that_damage_does_not_explain_is_watched():
    answer = decide(sample=sample([offset(0, 10), offset(1, 20)]), scans=scans_of(scan(1, 0), scan(1, 1)))
    assert answer["need"] == "watch"
    assert answer["watch"] == {"topics": ["orders"], "seconds": 4}


def test_named_partitions_are_watched_even_when_damage_explains_another():
    answer = decide(settings(partitions=[0, 1]), sample=sample([offset(0, 10), offset(1, 20)]),
                    scans=scans_of(scan(1, 0), scan(1, 1, 20, 25), scan(2, 1, 20, 25), scan(3, 1, 20, 25)))
    assert answer["need"] == "watch"


def test_moving_offsets_are_not_stuck():
    answer = decide(sample=sample([offset(0, 10)]), scans=scans_of(scan(1, 0)),
                    watch={"offsets": [offset(0, 15, log_end=None)]})
    assert answer["action"] == "nothing" and "lagging offsets are moving" in answer["message"]


# Refusals -----------------------------------------------------------------------------------------------------

def test_an_offset_node_that_is_not_a_number_refuses_before_anything_else():
    bad = [{"group": "billing", "topic": "orders", "partition": 2, "path": "/consumers/billing/offsets/orders/2",
            "raw": "abc", "reason": "not a decimal offset"}]
    answer = decide(sample=sample([offset(1, 20)], unreadable=bad))
    assert answer["action"] == "refuse" and answer["need"] is None
    assert "/consumers/billing/offsets/orders/2 holds 'abc'" in answer["message"]
    assert "cannot start as it is" in answer["message"] and "consumer_offset" in answer["message"]
    assert answer["unreadable_offsets"] == bad and answer["host_groups"] == []


def test_an_unreadable_node_refuses_even_when_nothing_else_lags():
    bad = [{"path": "/consumers/billing/offsets/orders/1", "raw": "", "reason": "empty, not a decimal offset"}]
    answer = decide(sample=sample([offset(0, 100)], unreadable=bad))
    assert answer["action"] == "refuse" and "holds ''" in answer["message"]


@pytest.mark.parametrize("ids, healthy, match", [
    ((1, 2), True, r"brokers not registered: kafka3 \(3\)"),
    ((1, 2, 3), False, "2 under-replicated"),
])
def test_an_unhealthy_cluster_refuses(ids, healthy, match):
    answer = decide(sample=sample([offset(1, 20)], ids=ids, healthy=healthy))
    assert answer["action"] == "refuse"
    assert answer["message"].startswith("The cluster is not healthy, so nothing was changed")
    assert re.search(match, answer["message"])


@pytest.mark.parametrize("facts, where", [
    ({"groups": [{"group": "billing", "state": "absent", "storage": None, "members": []}], "offsets": []},
     "in ZooKeeper nor in Kafka"),
    ({"groups": [{"group": "billing", "state": "inactive", "members": []}], "offsets": []}, "in ZooKeeper"),
    ({"groups": [{"group": "billing", "state": "Empty", "storage": "kafka", "members": []}], "offsets": []},
     "in Kafka"),
])
def test_a_group_without_offsets_refuses(facts, where):
    answer = decide(settings(topics="orders"), sample={**sample([]), **facts})
    assert answer["action"] == "refuse"
    assert f"has no committed offsets {where} for topics orders" in answer["message"]


def test_damage_on_every_replica_gives_the_next_valid_offset_and_the_damage():
    records = [record(b, 1, 20, 24) for b in (1, 2, 3)] + [record(1, 1, 60, 61)]
    scans = scans_of(*(scan(b, 1, 20, 25) for b in (1, 2, 3)), records=records)
    answer = decide(sample=sample([offset(1, 20)]), scans=scans)
    (target,) = answer["targets"]
    assert (target["committed_offset"], target["target_offset"], target["records_skipped"]) == (20, 25, 5)
    assert target["damaged_brokers"] == [1, 2, 3] and target["intact_brokers"] == []
    assert [r["first_offset"] for r in target["damage"]] == [20, 20, 20]
    assert answer["refusals"] == []


def test_committed_offset_inside_the_bad_batch_counts_from_the_committed_offset():
    answer = decide(sample=sample([offset(1, 22)]), scans=scans_of(*(scan(b, 1, 20, 25) for b in (1, 2, 3))))
    assert answer["targets"][0]["records_skipped"] == 3


def test_follower_only_damage_with_an_intact_leader_says_the_leader_is_intact():
    answer = decide(sample=sample([offset(1, 20)], state="inactive"),
                    scans=scans_of(scan(1, 1), scan(2, 1, 20, 25), scan(3, 1)),
                    watch={"offsets": [offset(1, 20)]})
    assert answer["action"] == "refuse"
    assert "the leader (broker 1) is intact at offset 20; the group is not stuck on damage" in answer["message"]
    assert "its consumers are stopped" in answer["message"]
    assert "follower(s) [2]" in answer["message"]
    assert "make an intact replica the leader" not in answer["message"]


def test_follower_only_damage_under_a_live_group_says_it_is_stuck_for_another_reason():
    answer = decide(sample=sample([offset(1, 20)]), scans=scans_of(scan(1, 1), scan(2, 1, 20, 25), scan(3, 1)),
                    watch={"offsets": [offset(1, 20)]})
    assert "slow or stuck for another reason" in answer["message"]


def test_with_remedy_skip_a_damaged_leader_with_an_intact_follower_refuses_unless_allowed():
    scans = scans_of(scan(1, 1, 20, 25), scan(2, 1, 20, 25), scan(3, 1))
    refused = decide(settings(remedy="skip"), sample=sample([offset(1, 20)]), scans=scans)
    assert refused["action"] == "refuse"
    assert "intact on brokers [3]: the records can be saved by making an intact replica the leader" in refused["message"]
    allowed = decide(settings(allow_intact_replica=True, remedy="skip"), sample=sample([offset(1, 20)]), scans=scans)
    assert allowed["action"] == "act" and allowed["targets"][0]["intact_brokers"] == [3]


def test_an_unscanned_replica_refuses():
    answer = decide(sample=sample([offset(1, 20)]), scans=scans_of(scan(1, 1, 20, 25), scan(2, 1, 20, 25)))
    assert "the replicas on brokers [3] were not scanned" in answer["message"]


def test_no_readable_offset_after_the_damage_refuses():
    answer = decide(sample=sample([offset(1, 20)]), scans=scans_of(*(scan(b, 1, 20, None) for b in (1, 2, 3))))
    assert "no readable offset after the damage at 20" in answer["message"]


def test_replicas_that_disagree_refuse():
    answer = decide(sample=sample([offset(1, 20)]),
                    scans=scans_of(scan(1, 1, 20, 25), scan(2, 1, 20, 25), scan(3, 1, 20, 30)))
    assert "replicas disagree on where readable data resumes (broker 1: 25, broker 2: 25, broker 3: 30)" in answer["message"]


def test_too_many_skipped_records_refuses():
    answer = decide(settings(max_skipped_records=4), sample=sample([offset(1, 20)]),
                    scans=scans_of(*(scan(b, 1, 20, 25) for b in (1, 2, 3))))
    assert "would pass 5 records, more than max_skipped_records=4" in answer["message"]


def test_stuck_without_damage_refuses_naming_each_partition():
    answer = decide(sample=sample([offset(0, 10), offset(1, 20)]), scans=scans_of(*(scan(1, p) for p in (0, 1))),
                    watch={"offsets": [offset(0, 10), offset(1, 20)]})
    assert answer["action"] == "refuse"
    assert "no damaged record where group billing sits on orders/0/10, orders/1/20" in answer["message"]
    assert "fetch.message.max.bytes" in answer["message"]


def test_an_inactive_group_that_lags_without_damage_is_told_to_start_its_consumers():
    answer = decide(sample=sample([offset(0, 10)], state="inactive"), scans=scans_of(scan(1, 0)),
                    watch={"offsets": [offset(0, 10)]})
    assert "has no live consumer, so nothing moves its offsets" in answer["message"]


def test_undamaged_is_only_a_note_beside_a_real_skip_when_no_partition_was_named():
    scans = scans_of(*(scan(b, 1, 20, 25) for b in (1, 2, 3)), scan(1, 0), scan(2, 0), scan(3, 0))
    both = [offset(0, 10), offset(1, 20)]
    watch = {"offsets": both}
    free = decide(sample=sample(both), scans=scans, watch=watch)
    assert free["action"] == "act" and [u["partition"] for u in free["undamaged"]] == [0]
    named = decide(settings(partitions=[0, 1]), sample=sample(both), scans=scans, watch=watch)
    assert named["action"] == "refuse" and "orders/0/10" in named["message"]


def test_explicit_offsets_skip_detection_but_keep_the_range_and_size_checks():
    offsets = [offset(0, 10, log_end=100), offset(1, 20, log_end=100), offset(2, 30, log_end=100)]
    wanted = [{"topic": "orders", "partition": 0, "offset": 15}, {"topic": "orders", "partition": 1, "offset": 500},
              {"topic": "orders", "partition": 5, "offset": 1}]
    answer = decide(settings(offsets=wanted), sample=sample(offsets))
    assert answer["action"] == "refuse" and answer["explicit"]
    assert "offset 500 is outside the log [0, 100]" in answer["message"]
    assert "orders-5: the group has no committed offset there" in answer["message"]
    ok = decide(settings(offsets=wanted[:1]), sample=sample(offsets))
    assert ok["action"] == "act" and ok["targets"][0]["explicit"] and ok["targets"][0]["target_offset"] == 15
    big = decide(settings(offsets=wanted[:1], max_skipped_records=2), sample=sample(offsets))
    assert "moving from 10 to 15 would pass 5 records" in big["message"]


# Acting: phases and host groups ------------------------------------------------------------------------------

def acting(**overrides):
    return decide(settings(**overrides), sample=sample([offset(1, 20)], controller=2),
                  scans=scans_of(*(scan(b, 1, 20, 25) for b in (1, 2, 3))), started_at="2026-12-01T00:00:00")


def groups_of(answer):
    found = {}
    for entry in answer["host_groups"]:
        found.setdefault(entry["groups"], []).append(entry["name"])
    return found


def test_full_stop_stops_the_controller_last_and_starts_it_first():
    answer = acting()
    assert answer["stop_order"] == ["kafka1", "kafka3", "kafka2"]
    assert groups_of(answer) == {
        "skip_corrupt_consumers": ["app1"],
        "skip_corrupt_stop_first": ["kafka1", "kafka3"], "skip_corrupt_stop_last": ["kafka2"],
        "skip_corrupt_start_first": ["kafka2"], "skip_corrupt_start_then": ["kafka3", "kafka1"]}
    assert answer["phases"] == dict(repair=False, stop_consumers=True, stop_brokers=True, move_offsets=True, roll_brokers=False,
                                    start_brokers=True, start_consumers=True, verify=True, report=True)
    assert answer["move"] == {"log_offsets": False, "storage": "zookeeper", "prefer_store": None}
    assert answer["verify_targets"] == [{"topic": "orders", "partition": 1, "target_offset": 25}]
    assert answer["journal_planned"]["phase"] == "planned"
    assert answer["journal_planned"]["stop_order"] == answer["stop_order"]
    assert answer["journal_planned"]["decision"]["targets"] == answer["targets"]
    assert answer["journal_planned"]["started_at"] == "2026-12-01T00:00:00"
    assert answer["journal_moving"] == dict(answer["journal_planned"], phase="moving_offsets")
    assert "stuck on 1 partition(s): orders-1 20 -> 25; 5 record(s) to skip" in answer["message"]


def test_rolling_restarts_every_broker_after_the_move_controller_last():
    answer = acting(broker_restart="rolling")
    assert groups_of(answer) == {"skip_corrupt_consumers": ["app1"], "skip_corrupt_roll_first": ["kafka1", "kafka3"],
                                 "skip_corrupt_roll_last": ["kafka2"]}
    assert answer["phases"]["roll_brokers"] and not answer["phases"]["stop_brokers"]
    assert answer["move"] == {"log_offsets": True, "storage": "zookeeper", "prefer_store": None}
    assert answer["journal_planned"] is None, "nothing to bring back from a rolling run that stops early"
    assert answer["journal_moving"]["phase"] == "moving_offsets" and answer["journal_moving"]["rolled"] == []


def test_none_leaves_the_brokers_alone():
    answer = acting(broker_restart="none")
    assert groups_of(answer) == {"skip_corrupt_consumers": ["app1"]}
    assert not answer["phases"]["start_brokers"] and answer["phases"]["move_offsets"]


def test_without_consumer_hosts_no_consumer_phase_runs():
    answer = decide(settings(), inventory=BROKERS, sample=sample([offset(1, 20)]),
                    scans=scans_of(*(scan(b, 1, 20, 25) for b in (1, 2, 3))))
    assert not answer["phases"]["stop_consumers"] and not answer["phases"]["start_consumers"]


# Reruns -------------------------------------------------------------------------------------------------------

def journal(phase, **overrides):
    plan = acting()
    return {**triage.journal_entry(plan, "2026-12-01T00:00:00"), "phase": phase, **overrides}


@pytest.mark.parametrize("phase", ["moving_offsets", "offsets_moved"])
def test_a_journal_whose_offsets_may_have_moved_is_resumed_with_its_own_plan(phase):
    answer = decide(settings(broker_restart="none"), journal=journal(phase, backup_file="/b"))
    assert answer["need"] is None and answer["action"] == "resume" and answer["resumed"]
    assert answer["broker_restart"] == "full_stop", "the interrupted run's broker_restart is kept"
    assert answer["targets"][0]["target_offset"] == 25 and answer["backup_file"] == "/b"
    assert "no offset moves twice" in answer["message"] and "Delete the run journal to start afresh" in answer["message"]
    assert answer["journal_moving"] == {"phase": "moving_offsets"}, "a resumed run keeps its journal's plan"
    moved = phase == "offsets_moved"
    assert answer["phases"]["move_offsets"] is not moved
    assert answer["phases"]["stop_brokers"] is not moved
    assert answer["phases"]["start_brokers"] and answer["phases"]["verify"]


def test_a_resumed_rolling_run_rolls_only_the_brokers_not_yet_rolled():
    entry = journal("offsets_moved", broker_restart="rolling", rolled=["kafka1"])
    answer = decide(journal=entry)
    assert groups_of(answer) == {"skip_corrupt_consumers": ["app1"], "skip_corrupt_roll_first": ["kafka3"],
                                 "skip_corrupt_roll_last": ["kafka2"]}


@pytest.mark.parametrize("phase", ["planned", "refused"])
def test_a_rerun_before_the_offsets_moved_decides_afresh_starting_what_full_stop_left_stopped(phase):
    answer = decide(journal=journal(phase))
    assert answer["need"] == "sample" and not answer["resumed"]
    assert groups_of({"host_groups": answer["bring_back"]}) == {
        "skip_corrupt_bring_back_together": ["kafka2"], "skip_corrupt_bring_back": ["kafka3", "kafka1"]}
    assert answer["host_groups"] == [], "the phases' hosts come with the fresh decision"


@pytest.mark.parametrize("entry", [
    {}, {"phase": "complete", "broker_restart": "full_stop", "stop_order": ["kafka1"]},
    {"phase": "planned", "broker_restart": "none", "stop_order": ["kafka1"]},
    {"phase": "refused", "broker_restart": "full_stop", "offset_storage": "kafka", "stop_order": ["kafka1"]},
])
def test_nothing_to_bring_back_after_a_complete_run_or_without_full_stop(entry):
    assert decide(journal=entry)["bring_back"] == []


def test_a_fresh_decision_after_a_refusal_does_not_reuse_the_old_plan():
    fresh = decide(journal=journal("refused"), sample=sample([offset(1, 30)]),
                   scans=scans_of(*(scan(b, 1, 30, 35) for b in (1, 2, 3))))
    assert fresh["action"] == "act" and fresh["targets"][0]["committed_offset"] == 30


# After the offset change -------------------------------------------------------------------------------------

def test_a_moved_offset_change_lets_the_run_go_on_and_records_the_backup():
    answer = triage.after_offset_change(acting(), {"changed": True, "backup_file": "/backup"})
    assert answer["outcome"] == {"moved": True, "changed": True, "message": ""}
    assert answer["journal_update"] == {"phase": "offsets_moved", "backup_file": "/backup"}
    assert answer["phases"]["start_consumers"] and answer["phases"]["verify"]


def test_check_mode_writes_no_journal():
    assert triage.after_offset_change(acting(), {"changed": True}, check_mode=True)["journal_update"] is None


def test_a_refused_change_under_full_stop_starts_the_brokers_again_and_fails_with_one_message():
    refused = {"failed": True, "changed": False, "group_state": "active", "members": ["m1"],
               "msg": "group 'billing' has 1 live consumer(s) (m1): stop them, pass wait_inactive=<seconds>, or force=true"}
    answer = triage.after_offset_change(acting(), refused)
    assert answer["outcome"]["moved"] is False
    message = answer["outcome"]["message"]
    assert message.startswith("The offset change did not happen: group billing has 1 live consumer(s) again (m1), "
                              "started outside this run")
    assert "No offset changed." in message
    assert "(kafka1, kafka3, kafka2) are started again" in message
    assert "rerun -e consumer_group=billing" in message
    assert "wait_inactive" not in message and "force" not in message
    assert answer["phases"]["start_brokers"] and not answer["phases"]["start_consumers"]
    assert not answer["phases"]["verify"]
    assert answer["journal_update"]["phase"] == "refused"


@pytest.mark.parametrize("restart, words", [("rolling", "No broker was restarted."),
                                            ("none", "The brokers were not touched.")])
def test_a_refusal_without_full_stop_says_what_happened_to_the_brokers(restart, words):
    answer = triage.after_offset_change(acting(broker_restart=restart), {"failed": True, "msg": "x"})
    assert words in answer["outcome"]["message"] and not answer["phases"]["roll_brokers"]


def test_a_guard_refusal_keeps_the_modules_sentence():
    refused = {"failed": True, "msg": "orders-1 is at 30, not at the expected 20 nor at the target 25: the consumer "
                                      "moved since it was seen"}
    message = triage.after_offset_change(acting(), refused)["outcome"]["message"]
    assert "orders-1 is at 30, not at the expected 20" in message and "No offset changed." in message


def test_a_failure_that_changed_offsets_says_so():
    answer = triage.after_offset_change(acting(), {"failed": True, "changed": True, "msg": "read-back mismatch"})
    assert "Some offsets DID change" in answer["outcome"]["message"]


def test_a_run_that_moved_no_offsets_has_nothing_to_judge():
    resumed = decide(journal=journal("offsets_moved"))
    answer = triage.after_offset_change(resumed, {"skipped": True})
    assert answer["outcome"]["moved"] and answer["journal_update"] is None


# Kafka-stored groups ------------------------------------------------------------------------------------------

def kafka_sample(offsets, state="Stable", zookeeper=False, **extra):
    """consumer_offset_info's answer for a group whose offsets Kafka stores (and ZooKeeper too, if asked)."""
    result = sample(offsets, **extra)
    groups = [{"group": "billing", "storage": "kafka", "state": state, "active": state not in ("Empty", "Dead"),
               "members": [{"client_id": "billing-app", "host": "10.0.0.5"}] if state == "Stable" else []}]
    rows = [dict(entry, storage="kafka", path=None) for entry in offsets]
    if zookeeper:
        groups.append({"group": "billing", "storage": "zookeeper", "state": "inactive", "active": False, "members": []})
        rows += [dict(entry, storage="zookeeper") for entry in offsets]
    return dict(result, groups=groups, offsets=rows)


DAMAGED_EVERYWHERE = scans_of(*(scan(b, 1, 20, 25) for b in (1, 2, 3)),
                              records=[record(b, 1, 20, 24) for b in (1, 2, 3)])


def test_a_kafka_group_skips_with_the_brokers_untouched_by_default():
    answer = decide(sample=kafka_sample([offset(1, 20)]), scans=DAMAGED_EVERYWHERE)
    assert answer["action"] == "act" and answer["offset_storage"] == "kafka"
    assert answer["broker_restart"] == "none"
    assert answer["move"] == {"log_offsets": True, "storage": "kafka", "prefer_store": None}
    assert not answer["phases"]["stop_brokers"] and not answer["phases"]["start_brokers"]
    assert [(t["committed_offset"], t["target_offset"]) for t in answer["targets"]] == [(20, 25)]
    assert journal_of(answer)["offset_storage"] == "kafka"


def journal_of(answer):
    return answer["journal_moving"]


def test_full_stop_of_a_kafka_group_moves_the_offsets_first_then_stops_and_starts_the_cluster():
    answer = decide(settings(broker_restart="full_stop"), sample=kafka_sample([offset(1, 20)], controller=2),
                    scans=DAMAGED_EVERYWHERE)
    assert answer["action"] == "act" and answer["stop_brokers_at"] == "after_move"
    assert answer["move"]["log_offsets"], "the brokers run while the offsets move"
    assert groups_of(answer) == {
        "skip_corrupt_consumers": ["app1"],
        "skip_corrupt_stop_after_move_first": ["kafka1", "kafka3"], "skip_corrupt_stop_after_move_last": ["kafka2"],
        "skip_corrupt_start_first": ["kafka2"], "skip_corrupt_start_then": ["kafka3", "kafka1"]}
    assert answer["phases"]["stop_brokers"] and answer["phases"]["move_offsets"] and answer["phases"]["start_brokers"]
    assert answer["journal_planned"] is None, "nothing is stopped before the offsets moved: nothing to bring back"


def test_a_refused_move_of_a_kafka_group_under_full_stop_stops_no_broker():
    answer = triage.after_offset_change(
        decide(settings(broker_restart="full_stop"), sample=kafka_sample([offset(1, 20)]), scans=DAMAGED_EVERYWHERE),
        {"failed": True, "msg": "x"})
    assert "The brokers were not touched." in answer["outcome"]["message"]
    assert not answer["phases"]["stop_brokers"] and not answer["phases"]["start_brokers"]


def test_a_resumed_full_stop_of_a_kafka_group_whose_offsets_moved_only_starts_the_cluster():
    planned = decide(settings(broker_restart="full_stop"), sample=kafka_sample([offset(1, 20)], controller=2),
                     scans=DAMAGED_EVERYWHERE)
    entry = {**triage.journal_entry(planned, "t"), "phase": "offsets_moved"}
    answer = decide(journal=entry)
    assert groups_of(answer) == {"skip_corrupt_consumers": ["app1"], "skip_corrupt_start_first": ["kafka2"],
                                 "skip_corrupt_start_then": ["kafka3", "kafka1"]}


def test_a_kafka_group_may_roll_the_brokers_after_the_move():
    answer = decide(settings(broker_restart="rolling"), sample=kafka_sample([offset(1, 20)]), scans=DAMAGED_EVERYWHERE)
    assert answer["action"] == "act" and answer["phases"]["roll_brokers"] and answer["move"]["log_offsets"]


def test_a_group_in_both_stores_that_agree_is_skipped_in_both_with_the_brokers_untouched():
    answer = decide(sample=kafka_sample([offset(1, 20)], zookeeper=True), scans=DAMAGED_EVERYWHERE)
    assert answer["action"] == "act" and answer["offset_storage"] == "both"
    assert answer["broker_restart"] == "none" and answer["move"]["storage"] == "auto"
    assert (answer["read_storage"], answer["member_storage"]) == ("auto", "zookeeper")
    assert [(t["committed_offset"], t["target_offset"]) for t in answer["targets"]] == [(20, 25)]


def test_a_group_in_both_stores_that_disagree_asks_which_wins():
    result = kafka_sample([offset(1, 20)], zookeeper=True)
    result["offsets"] = [dict(row, offset=22) if row["storage"] == "kafka" else row for row in result["offsets"]]
    answer = decide(sample=result)
    assert answer["action"] == "refuse"
    assert "they disagree: orders-1 ZooKeeper 20, Kafka 22" in answer["message"]
    assert "prefer_store=larger" in answer["message"]
    larger = decide(settings(prefer_store="larger"), sample=result, scans=DAMAGED_EVERYWHERE)
    assert larger["action"] == "act" and larger["targets"][0]["committed_offset"] == 22
    assert larger["move"]["prefer_store"] == "larger" and larger["journal_moving"]["prefer_store"] == "larger"
    zookeeper = decide(settings(prefer_store="zookeeper"), sample=result, scans=DAMAGED_EVERYWHERE)
    assert zookeeper["targets"][0]["committed_offset"] == 20


def test_full_stop_of_a_group_in_both_stores_moves_the_offsets_first():
    answer = decide(settings(broker_restart="full_stop"), sample=kafka_sample([offset(1, 20)], zookeeper=True),
                    scans=DAMAGED_EVERYWHERE)
    assert answer["action"] == "act" and answer["stop_brokers_at"] == "after_move"
    assert "skip_corrupt_stop_first" not in groups_of(answer)


def test_a_bad_prefer_store_is_refused():
    with pytest.raises(triage.DecisionInputError, match="prefer_store must be zookeeper, kafka or larger"):
        triage.read_settings(settings(prefer_store="newest"))


@pytest.mark.parametrize("storage, restart", [("kafka", "none"), ("zookeeper", "full_stop")])
def test_a_named_store_narrows_a_group_in_both(storage, restart):
    answer = decide(settings(offset_storage=storage), sample=kafka_sample([offset(1, 20)], zookeeper=True),
                    scans=DAMAGED_EVERYWHERE)
    assert answer["action"] == "act" and answer["offset_storage"] == storage
    assert answer["broker_restart"] == restart
    assert answer["move"]["storage"] == storage and len(answer["stuck"]) == 1


def test_a_bad_offset_storage_is_refused():
    with pytest.raises(triage.DecisionInputError, match="offset_storage must be auto, zookeeper or kafka, got 'etcd'"):
        triage.read_settings(settings(offset_storage="etcd"))


def test_a_refused_kafka_commit_names_the_members_by_client_id_and_host():
    answer = decide(sample=kafka_sample([offset(1, 20)]), scans=DAMAGED_EVERYWHERE)
    result = {"failed": True, "changed": False, "group_state": "Stable", "msg": "module words",
              "members": [{"client_id": "billing-app", "host": "10.0.0.5", "member_id": "m-1"}]}
    after = triage.after_offset_change(answer, result)
    assert "group billing has 1 live consumer(s) again (client id billing-app on 10.0.0.5)" in after["outcome"]["message"]
    assert "The brokers were not touched." in after["outcome"]["message"]


def test_a_resumed_run_keeps_the_journal_s_storage():
    journal = dict(phase="moving_offsets", broker_restart="none", offset_storage="kafka", stop_order=["kafka1"],
                   decision=dict(targets=[dict(topic="orders", partition=1, target_offset=25)]))
    answer = decide(journal=journal)
    assert answer["resumed"] and answer["offset_storage"] == "kafka" and answer["move"]["storage"] == "kafka"


def test_without_consumer_hosts_the_skip_is_reported_but_not_verified():
    answer = decide(inventory=dict(INVENTORY, consumers=[]), sample=kafka_sample([offset(1, 20)]),
                    scans=DAMAGED_EVERYWHERE)
    assert answer["action"] == "act"
    assert not answer["phases"]["verify"] and answer["phases"]["report"]
    assert not answer["phases"]["stop_consumers"] and not answer["phases"]["start_consumers"]


# KRaft --------------------------------------------------------------------------------------------------------

SPLIT = {"broker_hosts": ["kafka1", "kafka2", "kafka3"], "broker_ids": [1, 2, 3],
         "controller_hosts": ["ctl1", "ctl2", "ctl3"], "controller_ids": [11, 12, 13],
         "controller_roles": ["controller"] * 3, "consumers": ["app1"]}
COMBINED = {"broker_hosts": ["kafka1", "kafka2", "kafka3"], "broker_ids": [1, 2, 3],
            "broker_roles": ["broker,controller"] * 3, "consumers": ["app1"]}


def kraft_sample(controller):
    result = sample([offset(1, 20)], controller=controller)
    result["cluster"]["metadata_mode"] = "kraft"
    return result


def test_full_stop_on_kraft_stops_brokers_then_controllers_leader_last_and_starts_controllers_first():
    answer = decide(settings(broker_restart="full_stop"), inventory=SPLIT, sample=kraft_sample(12),
                    scans=DAMAGED_EVERYWHERE)
    assert answer["action"] == "act" and answer["stop_brokers_at"] == "before_move"
    assert answer["stop_order"] == ["kafka1", "kafka2", "kafka3", "ctl1", "ctl3", "ctl2"]
    assert groups_of(answer) == {
        "skip_corrupt_consumers": ["app1"],
        "skip_corrupt_stop_first": ["kafka1", "kafka2", "kafka3", "ctl1", "ctl3"], "skip_corrupt_stop_last": ["ctl2"],
        "skip_corrupt_start_first": ["ctl1", "ctl3", "ctl2"], "skip_corrupt_start_then": ["kafka3", "kafka2", "kafka1"]}
    assert answer["journal_planned"]["start_together"] == ["ctl1", "ctl3", "ctl2"]


def test_a_rerun_after_a_kraft_full_stop_starts_the_controllers_together_first():
    planned = decide(settings(broker_restart="full_stop"), inventory=SPLIT, sample=kraft_sample(12),
                     scans=DAMAGED_EVERYWHERE)
    answer = decide(inventory=SPLIT, journal={**planned["journal_planned"], "phase": "refused"})
    assert groups_of({"host_groups": answer["bring_back"]}) == {
        "skip_corrupt_bring_back_together": ["ctl1", "ctl3", "ctl2"],
        "skip_corrupt_bring_back": ["kafka3", "kafka2", "kafka1"]}


def test_full_stop_on_combined_kraft_nodes_is_refused_unless_the_wait_is_accepted():
    refused = decide(settings(broker_restart="full_stop"), inventory=COMBINED, sample=kraft_sample(3))
    assert refused["action"] == "refuse" and refused["host_groups"] == []
    assert refused["message"].startswith("broker_restart=full_stop on KRaft with combined broker,controller nodes "
                                         "(kafka1, kafka2, kafka3) is slow")
    assert "-e allow_slow_full_stop=true" in refused["message"] and "\n" not in refused["message"]
    allowed = decide(settings(broker_restart="full_stop", allow_slow_full_stop=True), inventory=COMBINED,
                     sample=kraft_sample(3), scans=DAMAGED_EVERYWHERE)
    assert allowed["action"] == "act" and allowed["stop_order"] == ["kafka1", "kafka2", "kafka3"]
    assert groups_of(allowed)["skip_corrupt_start_first"] == ["kafka1", "kafka2", "kafka3"]
    assert "skip_corrupt_start_then" not in groups_of(allowed)


@pytest.mark.parametrize("inventory, leader, first, last", [
    (SPLIT, 12, ["kafka1", "kafka2"], ["kafka3"]),
    (COMBINED, 1, ["kafka2", "kafka3"], ["kafka1"]),
])
def test_rolling_on_kraft_restarts_only_the_brokers_a_combined_quorum_leader_last(inventory, leader, first, last):
    answer = decide(settings(broker_restart="rolling"), inventory=inventory, sample=kraft_sample(leader),
                    scans=DAMAGED_EVERYWHERE)
    assert groups_of(answer) == {"skip_corrupt_consumers": ["app1"], "skip_corrupt_roll_first": first,
                                 "skip_corrupt_roll_last": last}


def test_none_on_kraft_leaves_every_node_alone():
    answer = decide(settings(broker_restart="none"), inventory=COMBINED, sample=kraft_sample(1),
                    scans=DAMAGED_EVERYWHERE)
    assert answer["action"] == "act" and groups_of(answer) == {"skip_corrupt_consumers": ["app1"]}


@pytest.mark.parametrize("inventory, cluster_mode, match", [
    ({**SPLIT, "controller_roles": None}, "kraft", "controller host ctl1 needs kafka_process_roles"),
    (INVENTORY, "kraft", "the cluster runs KRaft but the inventory names no controller"),
    (SPLIT, "zookeeper", "the cluster runs in ZooKeeper mode but the inventory names KRaft controllers"),
])
def test_an_inventory_that_does_not_fit_the_cluster_refuses_in_one_line(inventory, cluster_mode, match):
    result = sample([offset(1, 20)])
    result["cluster"]["metadata_mode"] = cluster_mode
    with pytest.raises(triage.DecisionInputError, match=match):
        decide(inventory=inventory, sample=result)


def test_an_inventory_of_controllers_only_has_no_brokers():
    with pytest.raises(triage.DecisionInputError, match="no kafka_brokers hosts"):
        decide(inventory={"controller_hosts": ["ctl1"], "controller_ids": [11], "controller_roles": ["controller"]})


def test_a_journal_from_before_kraft_starts_the_last_broker_stopped_first():
    entry = {key: value for key, value in journal("offsets_moved").items() if key != "start_together"}
    assert groups_of(decide(journal=entry))["skip_corrupt_start_first"] == ["kafka2"]
    refused = {key: value for key, value in journal("refused").items() if key != "start_together"}
    assert groups_of({"host_groups": decide(journal=refused)["bring_back"]}) == {
        "skip_corrupt_bring_back_together": ["kafka2"], "skip_corrupt_bring_back": ["kafka3", "kafka1"]}
