# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""repair_replicas.yml's decision, the journal of a repair, resuming it, and skip_corrupt's remedy."""

from __future__ import annotations

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils import triage
from ansible_collections.kafka_ops.remediation.plugins.module_utils.repair import repair_plan, repair_run, stuck_repair

from .test_repair_plan import digest, info, record, scans

INVENTORY = {"broker_hosts": ["kafka1", "kafka2", "kafka3"], "broker_ids": [1, 2, 3]}


def decide(raw=None, **facts):
    return repair_run.decide(dict(dict(topic="orders", report_dir="/r"), **(raw or {})), facts.pop("inventory", INVENTORY),
                             started_at="2026-12-01T18:00:00+00:00", **facts)


def test_it_asks_for_the_partitions_then_scans_every_replica_then_the_evidence():
    assert decide()["need"] == "info"
    found = decide(infos=[info()])
    assert found["need"] == "found"
    # The full scan keeps the damaged bytes; the evidence scan reads only the digests.
    assert found["scan_requests"]["kafka2"] == [dict(topic="orders", partitions=[0], start_offsets={},
                                                     digest_offsets={}, capture_bytes=1024 * 1024, mode="all")]
    evidence = decide(infos=[info()], found=scans([record(1)]))
    assert evidence["need"] == "evidence"
    assert evidence["scan_requests"]["kafka1"][0]["digest_offsets"] == {"0": [20]}
    assert evidence["scan_requests"]["kafka1"][0]["start_offsets"] == {"0": 20}
    assert (evidence["scan_requests"]["kafka1"][0]["capture_bytes"], evidence["scan_requests"]["kafka1"][0]["mode"]) == (
        0, "at_start")


def test_a_repair_is_planned_with_its_journal_evidence_and_verify_requests():
    digests = [digest(1, sha="0" * 64), digest(2), digest(3)]
    answer = decide(infos=[info()], found=scans([record(1, captured="AA==")]), evidence=scans(digests=digests))
    assert answer["action"] == "repair"
    assert "orders-0 damaged on brokers [1], rebuilt from [2, 3]" in answer["message"]
    repair = answer["repair"]
    assert repair["partitions"] == [dict(topic="orders", partition=0)]
    assert repair["rebuild_hosts"] == ["kafka1"]
    assert repair["evidence"][0]["path"] == "/r/repair-evidence-orders-0-20261201T180000Z.json"
    assert repair["evidence"][0]["json"]["damaged_copies"][0]["captured_base64"] == "AA=="
    assert [d["broker_id"] for d in repair["repairs"][0]["intact_digests"]] == [2, 3]
    assert answer["journal_planned"]["repair_phase"] == "planned"
    assert "evidence" not in answer["journal_planned"]["repair"]
    assert answer["verify_requests"]["kafka3"] == [dict(topic="orders", partitions=[0], start_offsets={"0": 20},
                                                        digest_offsets={"0": [20]}, capture_bytes=0,
                                                        mode="at_start")]


def test_nothing_damaged_is_nothing_to_do():
    answer = decide(infos=[info()], found=scans())
    assert answer["action"] == "nothing" and "nothing to repair" in answer["message"]


def test_a_refused_repair_changes_nothing():
    answer = decide(infos=[info()], found=scans([record(1), record(2), record(3)]), evidence=scans())
    assert answer["action"] == "refuse" and answer["message"].startswith("Nothing was changed. partition orders-0")


@pytest.mark.parametrize("raw, inventory, match", [
    (dict(topic=""), INVENTORY, "pass -e topic="),
    (dict(partitions="x"), INVENTORY, "partitions must be partition numbers"),
    ({}, dict(broker_hosts=["kafka1"], broker_ids=[]), "broker_service_id"),
    ({}, dict(broker_hosts=["kafka1"], broker_ids=["one"]), "broker_service_id"),
])
def test_bad_input_is_named(raw, inventory, match):
    with pytest.raises(repair_plan.RepairInputError, match=match):
        decide(raw, inventory=inventory)


def test_unknown_partitions_refuse():
    answer = decide(dict(partitions="0,7"), infos=[info()])
    assert answer["action"] == "refuse" and "has no partition [7]" in answer["message"]
    answer = decide(dict(topic="other"), infos=[info()])
    assert "Topic other has no partition" in answer["message"]


def test_an_interrupted_repair_resumes_from_the_journal():
    planned = decide(dict(throttle="5000000"), infos=[info()], found=scans([record(1)]), evidence=scans([record(1)]))
    journal = dict(planned["journal_planned"], repair_phase="removed")
    answer = decide(journal=journal)
    assert answer["action"] == "repair" and answer["resumed"]
    # The throttle of the interrupted run goes on: the copy it limits is the one resumed.
    assert answer["repair"]["throttle"] == 5000000
    assert answer["repair"]["run"] == dict(evidence=False, move_leader=False, remove=False, readd=True,
                                           restore_leader=True, verify=True)
    assert answer["repair"]["steps"]["readd"] == [dict(topic="orders", partition=0, replicas=[1, 2, 3])]
    assert "after phase \"removed\"" in answer["message"]


def test_a_journal_from_before_the_throttle_resumes_unthrottled():
    planned = decide(infos=[info()], found=scans([record(1)]), evidence=scans([record(1)]))
    kept = {name: value for name, value in planned["journal_planned"]["repair"].items() if name != "throttle"}
    answer = decide(journal=dict(planned["journal_planned"], repair=kept, repair_phase="removed"))
    assert answer["repair"]["throttle"] == 0


def test_a_complete_journal_decides_afresh():
    assert decide(journal=dict(repair_phase="complete"))["need"] == "info"


def test_the_stamp_of_an_unknown_time():
    assert repair_run.acting(dict(repairs=[], steps=repair_plan.steps_of([])),
                             dict(report_dir="/r", rebuild_timeout=1.0, stall_timeout=1.0), [], "", {})["evidence"] == []


# skip_corrupt's remedy ----------------------------------------------------------------------------------------

def at_start(broker, first=None, next_valid=None):
    return dict(topic="orders", partition=0, broker_id=broker, first_damaged_offset=first, next_valid_offset=next_valid)


def state(isr=(1, 2, 3), leader=1):
    return dict(topic="orders", partition=0, replicas=[1, 2, 3], leader=leader, isr=list(isr))


STUCK = [dict(topic="orders", partition=0, offset=20)]


def test_a_damaged_leader_with_an_intact_in_sync_replica_is_a_candidate():
    found = stuck_repair.candidates(STUCK, {("orders", 0): {1: at_start(1, 20, 30), 2: at_start(2), 3: at_start(3)}},
                                    [state(isr=(1, 2))])
    assert found == [dict(topic="orders", partition=0, committed_offset=20, replicas=[1, 2, 3], leader=1, damaged=[1],
                          intact=[2, 3], intact_in_sync=[2], next_valid_offset=30)]
    assert stuck_repair.choose(found, "auto") == ("repair", "")


def test_follower_only_damage_is_no_candidate():
    assert stuck_repair.candidates(STUCK, {("orders", 0): {1: at_start(1), 2: at_start(2, 20, 30)}}, [state()]) == []


@pytest.mark.parametrize("remedy, expected", [("auto", "skip"), ("skip", "skip"), ("repair", "refuse")])
def test_without_an_intact_in_sync_copy(remedy, expected):
    found = stuck_repair.candidates(STUCK, {("orders", 0): {b: at_start(b, 20, 30) for b in (1, 2, 3)}}, [state()])
    choice, why = stuck_repair.choose(found, remedy)
    assert choice == expected
    if expected == "refuse":
        assert "remedy=repair, but no in-sync replica holds an intact copy of orders-0 damaged on brokers [1, 2, 3], " \
               "intact nowhere" in why


def test_an_intact_replica_out_of_sync_is_named():
    found = stuck_repair.candidates(STUCK, {("orders", 0): {1: at_start(1, 20, 30), 2: at_start(2, 20, 30),
                                                            3: at_start(3)}}, [state(isr=(1, 2))])
    assert "intact on [3] but not in sync" in stuck_repair.choose(found, "repair")[1]


def test_verify_targets_are_the_last_damaged_offsets():
    found = [dict(topic="orders", partition=0, committed_offset=22, next_valid_offset=30),
             dict(topic="orders", partition=1, committed_offset=5, next_valid_offset=None)]
    repairs = [dict(topic="orders", partition=0, damage=[dict(first_offset=20, last_offset=29)])]
    assert stuck_repair.verify_targets(found, repairs) == [dict(topic="orders", partition=0, target_offset=29),
                                                           dict(topic="orders", partition=1, target_offset=5)]
    found[0]["committed_offset"] = 40
    assert stuck_repair.verify_targets(found[:1], repairs)[0]["target_offset"] == 29


TRIAGE_INVENTORY = {**INVENTORY, "consumers": ["app1"]}


def triage_sample():
    return {"groups": [{"group": "billing", "state": "active", "members": ["m1"]}],
            "offsets": [dict(group="billing", topic="orders", partition=0, offset=20, log_start_offset=0,
                             log_end_offset=100)], "stray_nodes": [], "unreadable_offsets": [],
            "cluster": {"broker_ids": [1, 2, 3], "controller_id": 3, "healthy": True, "partitions": [state()],
                        "summary": {"brokers": 3, "under_replicated": 0, "offline": 0}}}


def triage_decide(raw=None, **facts):
    settings = dict(consumer_group="billing", report_dir="/r", **(raw or {}))
    at_start_scans = [{"results": [{"partitions": [at_start(1, 20, 30), at_start(2), at_start(3)],
                                    "corrupt_records": []}]}]
    return triage.decide(settings, TRIAGE_INVENTORY, sample=triage_sample(), scans=at_start_scans,
                         started_at="2026-12-01T18:00:00+00:00", **facts)


def test_skip_corrupt_asks_for_the_repair_scans_then_repairs():
    first = triage_decide()
    assert first["need"] == "repair_scans" and first["repair_partitions"] == [dict(topic="orders", partition=0)]
    assert first["scan_requests"]["kafka1"][0]["digest_offsets"] == {"0": [20]}
    answer = triage_decide(repair_scans=scans([record(1)], digests=[digest(2), digest(3)]), repair_infos=[info()])
    assert answer["action"] == "repair"
    assert answer["phases"] == dict(repair=True, stop_consumers=True, stop_brokers=False, move_offsets=False,
                                    roll_brokers=False, start_brokers=False, start_consumers=True, verify=True,
                                    report=True)
    assert answer["verify_targets"] == [dict(topic="orders", partition=0, target_offset=29)]
    assert answer["host_groups"] == [dict(name="app1", groups="skip_corrupt_consumers")]
    assert answer["journal_planned"]["repair_phase"] == "planned"
    assert "repairing instead of skipping, 0 records to lose" in answer["message"]


def test_skip_corrupt_refuses_a_repair_the_preflight_refuses_and_offers_the_skip():
    answer = triage_decide(repair_scans=scans([record(1)]), repair_infos=[info(min_isr=3)])
    assert answer["action"] == "refuse"
    assert "min.insync.replicas=3" in answer["message"] and "-e remedy=skip -e allow_intact_replica=true" in answer["message"]


def test_skip_corrupt_with_remedy_repair_refuses_what_cannot_be_repaired():
    at_all = [{"results": [{"partitions": [at_start(b, 20, 30) for b in (1, 2, 3)], "corrupt_records": []}]}]
    answer = triage.decide(dict(consumer_group="billing", remedy="repair"), TRIAGE_INVENTORY, sample=triage_sample(),
                           scans=at_all)
    assert answer["action"] == "refuse" and "remedy=repair" in answer["message"]


def test_skip_corrupt_bad_remedy_is_a_refusal():
    with pytest.raises(triage.DecisionInputError, match="remedy must be"):
        triage.read_settings(dict(consumer_group="billing", remedy="nope"))


def test_skip_corrupt_resumes_an_interrupted_repair():
    planned = triage_decide(repair_scans=scans([record(1)]), repair_infos=[info()])["journal_planned"]
    answer = triage.decide(dict(consumer_group="billing"), TRIAGE_INVENTORY,
                           journal=dict(planned, repair_phase="leader_moved"))
    assert answer["action"] == "repair" and answer["resumed"]
    assert answer["repair"]["run"]["remove"] and not answer["repair"]["run"]["move_leader"]
    assert answer["verify_targets"] == [dict(topic="orders", partition=0, target_offset=29)]
    assert answer["verify_requests"]["kafka2"][0]["start_offsets"] == {"0": 20}
