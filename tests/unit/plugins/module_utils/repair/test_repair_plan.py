# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Whether and how damaged replicas are rebuilt: every refusal, the steps, resuming and the verdict."""

from __future__ import annotations

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.repair import repair_plan

SETTINGS = repair_plan.read_settings({})


def record(broker, first=20, last=29, partition=0, topic="orders", **extra):
    return dict(topic=topic, partition=partition, broker_id=broker, first_offset=first, last_offset=last,
                next_valid_offset=None if last is None else last + 1, segment=f"/d{broker}/00.log", position=100,
                length=80, reason="crc_mismatch", **extra)


def summary(broker, partition=0, topic="orders"):
    return dict(topic=topic, partition=partition, broker_id=broker, clean=True)


def digest(broker, offset=20, sha="a" * 64, base=20, last=29, partition=0, topic="orders", valid=True):
    return dict(topic=topic, partition=partition, broker_id=broker, offset=offset, base_offset=base,
                last_offset=last, sha256=sha, valid=valid)


def scans(records=(), brokers=(1, 2, 3), digests=()):
    """One registered loop result per host, as the playbooks gather them."""
    return [{"results": [dict(partitions=[summary(b)], corrupt_records=[r for r in records if r["broker_id"] == b],
                              digests=[d for d in digests if d["broker_id"] == b])]} for b in brokers]


def info(replicas=(1, 2, 3), isr=(1, 2, 3), leader=1, min_isr=2, unclean=False, policy="delete", size=1000,
         reassignment=None, remote=False):
    return dict(topic="orders", partition=0, replicas=list(replicas), isr=list(isr), leader=leader,
                reassignment=reassignment, size_bytes=size,
                configs=dict(min_insync_replicas=min_isr, unclean_leader_election=unclean, cleanup_policy=policy,
                             remote_storage=remote))


def plan(records=(), infos=None, settings=None, brokers=(1, 2, 3), digests=(), replicas=(1, 2, 3)):
    return repair_plan.plan_repairs([dict(topic="orders", partition=0, replicas=list(replicas), leader=1)],
                                    scans(records, brokers, digests), [info()] if infos is None else infos,
                                    settings or SETTINGS)


# Settings -----------------------------------------------------------------------------------------------------

def test_defaults():
    assert SETTINGS == dict(remedy="auto", max_rebuild_bytes=10 * 1024 ** 3, capture_bytes=1024 * 1024,
                            allow_under_min_isr=False, allow_unclean_election_enabled=False, rebuild_timeout=1800.0,
                            stall_timeout=120.0, throttle=0)


def test_settings_from_survey_strings():
    settings = repair_plan.read_settings(dict(remedy="repair", max_rebuild_bytes="2048", allow_under_min_isr="yes",
                                              stall_timeout="30", throttle="10485760"))
    assert (settings["remedy"], settings["max_rebuild_bytes"], settings["allow_under_min_isr"],
            settings["stall_timeout"], settings["throttle"]) == ("repair", 2048, True, 30.0, 10485760)


@pytest.mark.parametrize("raw, match", [
    (dict(remedy="patch"), "remedy must be auto, repair or skip"),
    (dict(max_rebuild_bytes="lots"), "max_rebuild_bytes must be a number of bytes"),
    (dict(capture_bytes=-1), "capture_bytes must not be negative"),
    (dict(allow_under_min_isr="maybe"), "allow_under_min_isr must be true or false"),
    (dict(stall_timeout="soon"), "stall_timeout must be a number of seconds"),
    (dict(throttle="fast"), "throttle must be bytes per second"),
    (dict(throttle=-1), "throttle must not be negative"),
    (dict(rebuild_timeout=0), "rebuild_timeout must be more than 0 seconds"),
])
def test_bad_settings_are_named(raw, match):
    with pytest.raises(repair_plan.RepairInputError, match=match):
        repair_plan.read_settings(raw)


# The plan -----------------------------------------------------------------------------------------------------

def test_leader_only_damage_moves_leadership_then_rebuilds_and_restores_the_leader():
    answer = plan([record(1)])
    assert answer["refusals"] == []
    (repair,) = answer["repairs"]
    assert (repair["damaged"], repair["intact"]) == ([1], [2, 3])
    assert (repair["move_leader"], repair["restore_leader"]) == (True, True)
    assert answer["steps"] == dict(
        reorder=[dict(topic="orders", partition=0, replicas=[2, 3, 1])],
        elect_intact=[dict(topic="orders", partition=0)],
        remove=[dict(topic="orders", partition=0, replicas=[2, 3])],
        readd=[dict(topic="orders", partition=0, replicas=[1, 2, 3])],
        restore_leader=[dict(topic="orders", partition=0)],
        verify_offsets={"orders-0": [20]})
    assert repair["damage"] == [dict(first_offset=20, last_offset=29, next_valid_offset=30, brokers=[1])]


def test_follower_only_damage_needs_no_leader_move():
    answer = plan([record(3)])
    (repair,) = answer["repairs"]
    assert (repair["move_leader"], repair["restore_leader"], repair["remove"]) == (False, False, [1, 2])
    assert answer["steps"]["reorder"] == [] and answer["steps"]["restore_leader"] == []


def test_a_partition_without_damage_is_clean():
    answer = plan([])
    assert answer == dict(repairs=[], refusals=[], clean=["orders-0"], steps=repair_plan.steps_of([]))


def test_every_replica_damaged_the_same_refuses_and_says_skip():
    answer = plan([record(1), record(2), record(3)])
    assert "no replica is intact (offsets 20-29 on brokers [1, 2, 3])" in answer["refusals"][0]
    assert "skip them" in answer["refusals"][0]


def test_different_batches_on_different_replicas_refuses_with_the_map():
    answer = plan([record(1), record(2, 40, 49), record(3)])
    assert "offsets 20-29 on brokers [1, 3]; offsets 40-49 on brokers [2]" in answer["refusals"][0]
    assert "different batches are damaged on different replicas" in answer["refusals"][0]


def test_an_unscanned_replica_refuses():
    answer = plan([record(1)], brokers=(1, 2))
    assert "the replicas on brokers [3] were not scanned" in answer["refusals"][0]


@pytest.mark.parametrize("infos, settings, match", [
    ([], None, "the brokers do not know it"),
    ([info(reassignment=dict(replicas=[1, 2, 3], adding=[3], removing=[]))], None, "a reassignment is already running"),
    ([info(isr=(1, 2))], None, r"intact replica\(s\) on brokers \[3\] are not in the ISR"),
    ([info(min_isr=3)], None, "only 2 intact replica"),
    ([info(unclean=True)], None, "unclean.leader.election.enable is true"),
    ([info(remote=True)], None, "tiered storage"),
    ([info(size=5000)], dict(max_rebuild_bytes=4000), "more than max_rebuild_bytes=4000"),
    ([info(policy="compact")], None, "compacted and its replicas' bytes differ"),
])
def test_preflight_refusals(infos, settings, match):
    answer = plan([record(1)], infos=infos, settings=repair_plan.read_settings(settings or {}))
    assert answer["repairs"] == []
    assert any(__import__("re").search(match, r) for r in answer["refusals"]), answer["refusals"]


def test_the_allowances_lift_their_refusals():
    settings = repair_plan.read_settings(dict(allow_under_min_isr=True, allow_unclean_election_enabled=True))
    answer = plan([record(1)], infos=[info(min_isr=3, unclean=True)], settings=settings)
    assert answer["refusals"] == [] and len(answer["repairs"]) == 1


def test_a_compacted_topic_is_repaired_when_the_intact_copies_hold_the_same_batch():
    answer = plan([record(1)], infos=[info(policy="compact,delete")], digests=[digest(2), digest(3)])
    assert answer["refusals"] == []
    assert [d["broker_id"] for d in answer["repairs"][0]["intact_digests"]] == [2, 3]


@pytest.mark.parametrize("digests, match", [
    ([digest(2)], "no digest of offset 20 on every intact replica"),
    ([digest(2), digest(3, sha="b" * 64)], "held by different batches"),
    ([digest(2, base=18), digest(3, base=18)], "spans 18-29"),
])
def test_a_compacted_topic_refuses_when_the_intact_copies_do_not_prove_the_batch(digests, match):
    answer = plan([record(1)], infos=[info(policy="compact")], digests=digests)
    assert match in answer["refusals"][0]


def test_a_refusal_of_scattered_damage_carries_the_map():
    answer = plan([record(1), record(1, 40, 49)], infos=[info(min_isr=3)])
    assert "damage map offsets 20-29 on brokers [1]; offsets 40-49 on brokers [1]" in answer["refusals"][0]


def test_damage_without_a_following_valid_entry_is_mapped():
    assert repair_plan.damage_map_phrase([dict(first_offset=None, last_offset=None, brokers=[1]),
                                          dict(first_offset=7, last_offset=None, brokers=[2])]) == (
        "a span without offsets on brokers [1]; offset 7 on brokers [2]")


def test_scan_requests_read_every_replica_to_its_end_with_digests():
    requests = repair_plan.scan_requests([dict(topic="orders", partition=0, replicas=[1, 3])],
                                         {"kafka1": 1, "kafka2": 2, "kafka3": 3}, start_offsets={"orders-0": 20},
                                         digest_offsets={"orders-0": [20, 20, 5]}, capture_bytes=64)
    assert sorted(requests) == ["kafka1", "kafka3"]
    assert requests["kafka1"] == [dict(topic="orders", partitions=[0], start_offsets={"0": 20},
                                       digest_offsets={"0": [5, 20]}, capture_bytes=64, mode="all")]


def test_scan_results_flatten_what_the_playbooks_gather():
    flat = repair_plan.scan_results([{"results": [{"a": 1}, "skipped"]}, {"b": 2}, [{"c": 3}], None])
    assert flat == [{"a": 1}, {"b": 2}, {"c": 3}]


# Running and resuming -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("phase, expected", [
    (None, dict(evidence=True, move_leader=True, remove=True, readd=True, restore_leader=True, verify=True)),
    ("evidence", dict(evidence=False, move_leader=True, remove=True, readd=True, restore_leader=True, verify=True)),
    ("removed", dict(evidence=False, move_leader=False, remove=False, readd=True, restore_leader=True, verify=True)),
    ("elected", dict(evidence=False, move_leader=False, remove=False, readd=False, restore_leader=False,
                     verify=True)),
])
def test_steps_to_run_after_a_phase(phase, expected):
    assert repair_plan.steps_to_run(phase) == expected


def test_steps_without_work_do_not_run():
    steps = plan([record(3)])["steps"]
    run = repair_plan.steps_to_run("planned", steps)
    assert (run["move_leader"], run["remove"], run["restore_leader"]) == (False, True, False)


def test_evidence_files_hold_the_damaged_bytes_and_the_intact_digests():
    records = [record(1, captured="AAEC", sha256="f" * 64)]
    answer = repair_plan.plan_repairs([dict(topic="orders", partition=0, replicas=[1, 2, 3], leader=1)],
                                      scans(records), [info(policy="compact")], SETTINGS,
                                      digest_scans=scans(records, digests=[digest(2), digest(3)]))
    (evidence,) = repair_plan.evidence_files(answer["repairs"], scans(records), "/r/", "20261201T180000Z")
    assert evidence["path"] == "/r/repair-evidence-orders-0-20261201T180000Z.json"
    (copy,) = evidence["content"]["damaged_copies"]
    assert (copy["broker_id"], copy["captured_base64"], copy["sha256"], copy["position"]) == (1, "AAEC", "f" * 64, 100)
    assert [d["sha256"] for d in evidence["content"]["intact_digests"]] == ["a" * 64] * 2


# The verdict --------------------------------------------------------------------------------------------------

def _repairs():
    return plan([record(1)])["repairs"]


def test_a_verified_repair():
    verdict = repair_plan.verify(_repairs(), scans(digests=[digest(1), digest(2), digest(3)]), [info()])
    assert verdict["ok"] and verdict["message"].startswith("Repaired 1 partition(s), 0 records lost")


@pytest.mark.parametrize("after, records, digests, match", [
    (info(replicas=(2, 3, 1)), (), None, "replicas [2, 3, 1], not [1, 2, 3]"),
    (info(isr=(2, 3)), (), None, "ISR [2, 3], not [1, 2, 3]"),
    (info(leader=2), (), None, "leader 2, not the preferred 1"),
    (info(reassignment=dict(replicas=[1, 2, 3])), (), None, "a reassignment still running"),
    (info(), [record(1)], None, "still damaged: offsets 20-29 on brokers [1]"),
    (info(), (), [digest(1, sha="b" * 64), digest(2), digest(3)], "not identical on every replica"),
    (info(), (), [digest(2), digest(3)], "not identical on every replica"),
    (info(), (), [digest(1, valid=False), digest(2), digest(3)], "still damaged on brokers [1]"),
])
def test_an_unverified_repair_names_what_differs(after, records, digests, match):
    digests = [digest(1), digest(2), digest(3)] if digests is None else digests
    verdict = repair_plan.verify(_repairs(), scans(records, digests=digests), [after])
    assert not verdict["ok"] and match in verdict["message"]


def test_an_unscanned_replica_is_not_verified():
    verdict = repair_plan.verify(_repairs(), scans(brokers=(1, 2), digests=[digest(1), digest(2)]), [info()])
    assert "replicas on brokers [3] not re-scanned" in verdict["message"]
