"""The preflight decisions: stuck partitions, skip targets from every replica's scan, explicit offsets."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kafka_ops.remediation.plugins.filter.skip_plan import (
    explicit_skip_plan,
    skip_plan,
    stuck_partitions,
)


def offset(partition, committed, log_end, topic="orders", log_start=0):
    return {"group": "billing", "topic": topic, "partition": partition, "offset": committed,
            "log_start_offset": log_start, "log_end_offset": log_end}


def scan(broker, partition, first_damaged=None, next_valid=None, topic="orders"):
    return {"topic": topic, "partition": partition, "broker_id": broker, "first_damaged_offset": first_damaged,
            "next_valid_offset": next_valid, "clean": first_damaged is None}


def test_stuck_means_behind_and_not_moving():
    first = [offset(0, 10, 100), offset(1, 50, 100), offset(2, 100, 100), offset(3, None, 100)]
    second = [offset(0, 10, 120), offset(1, 60, 120), offset(2, 100, 100), offset(3, None, 120), offset(4, 0, 5)]
    assert [(e["partition"], e["log_end_offset"]) for e in stuck_partitions(first, second)] == [(0, 120)]


def test_stuck_uses_the_first_log_end_when_the_second_read_skipped_the_brokers():
    first = [offset(0, 10, 100), offset(1, 50, 100)]
    second = [offset(0, 10, None), offset(1, 60, None)]
    (entry,) = stuck_partitions(first, second)
    assert (entry["partition"], entry["offset"], entry["log_end_offset"]) == (0, 10, 100)


def test_stuck_rejects_other_input():
    with pytest.raises(AnsibleFilterError, match="two 'offsets' lists"):
        stuck_partitions({}, [])


def test_damage_on_every_replica_gives_the_next_valid_offset():
    stuck = [offset(0, 40, 100)]
    scans = [scan(b, 0, 40, 45) for b in (1, 2, 3)]
    records = [{"topic": "orders", "partition": 0, "broker_id": b, "first_offset": 40, "last_offset": 44,
                "next_valid_offset": 45, "segment": "s", "position": 9, "stored_crc": 1, "computed_crc": 2}
               for b in (1, 2, 3)]
    replicas = [{"topic": "orders", "partition": 0, "replicas": [1, 2, 3]}]
    plan = skip_plan(stuck, scans, records, replicas)
    assert plan["refusals"] == []
    (target,) = plan["targets"]
    assert (target["offset"], target["target"], target["records_skipped"]) == (40, 45, 5)
    assert target["damaged_brokers"] == [1, 2, 3]
    assert len(target["damage"]) == 3


def test_committed_offset_inside_the_bad_batch_counts_from_the_committed_offset():
    plan = skip_plan([offset(0, 42, 100)], [scan(b, 0, 40, 45) for b in (1, 2)])
    assert plan["targets"][0]["records_skipped"] == 3


def test_no_damage_where_the_consumer_sits_is_undamaged_not_a_target():
    stuck = [offset(0, 40, 100), offset(1, 10, 100)]
    scans = [scan(1, 0), scan(2, 0), scan(1, 1, 30, 31)]  # partition 1's damage is ahead of the consumer
    plan = skip_plan(stuck, scans)
    assert plan["targets"] == []
    assert [u["partition"] for u in plan["undamaged"]] == [0, 1]


@pytest.mark.parametrize(
    ("scans", "kwargs", "message"),
    [
        ([scan(1, 0, 40, 45), scan(2, 0), scan(3, 0)], {}, r"damaged on brokers \[1\] but intact on brokers \[2, 3\]"),
        ([scan(1, 0, 40, 45), scan(2, 0, 40, 47)], {}, "replicas disagree on where readable data resumes"),
        ([scan(1, 0, 40, None), scan(2, 0, 40, None)], {}, "no readable offset after the damage"),
        ([scan(1, 0, 40, 20045), scan(2, 0, 40, 20045)], {}, "would pass 20005 records, more than max_skipped_records=10000"),
        ([scan(1, 0, 40, 45)], {"replicas": [{"topic": "orders", "partition": 0, "replicas": [1, 2]}]},
         r"replicas on brokers \[2\] were not scanned"),
    ],
)
def test_refusals_name_the_partition(scans, kwargs, message):
    plan = skip_plan([offset(0, 40, 30000)], scans, **kwargs)
    assert plan["targets"] == []
    (refusal,) = plan["refusals"]
    assert refusal.startswith("partition orders-0: ")
    assert __import__("re").search(message, refusal)


def test_intact_replica_may_be_overridden():
    plan = skip_plan([offset(0, 40, 100)], [scan(1, 0, 40, 45), scan(2, 0)], allow_intact_replica=True)
    assert plan["targets"][0]["intact_brokers"] == [2]


def test_max_skipped_records_is_configurable():
    plan = skip_plan([offset(0, 40, 100)], [scan(1, 0, 40, 45)], max_skipped_records=4)
    assert "would pass 5 records" in plan["refusals"][0]


def test_explicit_offsets_keep_range_and_size_checks():
    current = [offset(0, 40, 100, log_start=10), offset(1, 5, 100)]
    plan = explicit_skip_plan(
        [{"topic": "orders", "partition": 0, "offset": 50}, {"topic": "orders", "partition": 1, "offset": 101},
         {"topic": "orders", "partition": 7, "offset": 1}],
        current,
    )
    assert [(t["partition"], t["target"], t["records_skipped"]) for t in plan["targets"]] == [(0, 50, 10)]
    assert plan["refusals"] == [
        "partition orders-1: offset 101 is outside the log [0, 100]: pick one inside it",
        "partition orders-7: the group has no committed offset there: check topic and partition",
    ]
    assert "more than max_skipped_records=5" in explicit_skip_plan(
        [{"topic": "orders", "partition": 0, "offset": 50}], current, 5)["refusals"][0]


def test_scan_requests_cover_the_replicas_this_broker_holds():
    from ansible_collections.kafka_ops.remediation.plugins.filter.skip_plan import scan_requests

    stuck = [offset(0, 40, 100), offset(1, 7, 100), offset(0, 3, 9, topic="audit")]
    cluster = [{"topic": "orders", "partition": 0, "replicas": [1, 2]},
               {"topic": "orders", "partition": 1, "replicas": [2, 3]},
               {"topic": "audit", "partition": 0, "replicas": [3, 1]}]
    assert scan_requests(stuck, cluster, "1") == [
        {"topic": "audit", "partitions": [0], "start_offsets": {"0": 3}},
        {"topic": "orders", "partitions": [0], "start_offsets": {"0": 40}},
    ]
    assert scan_requests(stuck, cluster, 2) == [{"topic": "orders", "partitions": [0, 1], "start_offsets": {"0": 40, "1": 7}}]


def test_flowing_means_past_the_target_or_caught_up_with_the_log_end():
    from ansible_collections.kafka_ops.remediation.plugins.filter.skip_plan import not_past_targets, past_targets

    targets = [{"topic": "orders", "partition": p, "offset": 40, "target": 45} for p in range(4)]
    current = [offset(0, 46, 100), offset(1, 45, 100), offset(2, 45, 45), offset(3, None, 100)]
    assert [(e["partition"], e["offset"]) for e in past_targets(current, targets)] == [(0, 46), (2, 45)]
    assert [t["partition"] for t in not_past_targets(current, targets)] == [1, 3]


def test_lagging_means_behind_the_log_end_in_one_read():
    from ansible_collections.kafka_ops.remediation.plugins.filter.skip_plan import lagging_partitions

    read = [offset(2, 40, 100), offset(0, 100, 100), offset(1, None, 100), offset(3, 5, None), offset(0, 3, 9, topic="audit")]
    assert [(e["topic"], e["partition"]) for e in lagging_partitions(read)] == [("audit", 0), ("orders", 2)]
    with pytest.raises(AnsibleFilterError, match="lagging_partitions expects"):
        lagging_partitions({})


def test_held_means_damaged_where_the_group_sits_on_the_leader():
    from ansible_collections.kafka_ops.remediation.plugins.filter.skip_plan import held_partitions

    lagging = [offset(0, 40, 100), offset(1, 7, 100), offset(2, 20, 100), offset(3, 9, 100)]
    cluster = [{"topic": "orders", "partition": 0, "leader": 1}, {"topic": "orders", "partition": 1, "leader": 2},
               {"topic": "orders", "partition": 2, "leader": 1}, {"topic": "orders", "partition": 3, "leader": -1}]
    scans = [
        scan(1, 0, 40, 45), scan(2, 0, 40, 45),   # damaged on the leader: held
        scan(1, 1, 7, 8), scan(2, 1),             # damaged only on a follower: the leader serves it
        scan(1, 2, 30, 31),                       # damage ahead of the committed offset: not yet held
        scan(1, 3, 9, 10),                        # no live leader: only watching can tell
    ]
    assert [e["partition"] for e in held_partitions(lagging, scans, cluster)] == [0]
    with pytest.raises(AnsibleFilterError, match="held_partitions expects"):
        held_partitions(lagging, {}, cluster)


def test_partitions_in_keeps_the_chosen_partitions_once_in_input_order():
    from ansible_collections.kafka_ops.remediation.plugins.filter.skip_plan import partitions_in

    entries = [offset(2, 1, 9), offset(0, 1, 9), offset(1, 1, 9), offset(0, 1, 9, topic="audit")]
    chosen = [offset(0, 5, 9), {"topic": "orders", "partition": 2}, offset(0, 1, 9)]
    assert [(e["topic"], e["partition"]) for e in partitions_in(entries, chosen)] == [("orders", 2), ("orders", 0)]
    with pytest.raises(AnsibleFilterError, match="partitions_in expects"):
        partitions_in(entries, None)
