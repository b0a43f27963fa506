# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Decisions about Kafka-stored groups: state and members, where offsets live, both stores together, the table
and the backup."""

import json

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import kafka_groups
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.consumer_offsets import OffsetDataError
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.offset_plan import Stored

MEMBER = dict(member_id="app-1-uuid", client_id="billing-app", client_host="/10.0.0.5", group_instance_id=None,
              member_assignment=dict(assigned_partitions=[dict(topic="orders", partitions=[1, 0])]))


def test_a_classic_group_takes_state_and_members_from_describe_groups():
    view = kafka_groups.group_view("billing", dict(group_state="Stable", group_type="classic"),
                                   dict(group_state="Stable", protocol_type="consumer", members=[MEMBER]), True)
    assert view.state == "Stable" and view.active and view.members_known
    assert view.members == [dict(member_id="app-1-uuid", client_id="billing-app", host="10.0.0.5",
                                 group_instance_id=None, partitions=["orders/0", "orders/1"])]
    assert kafka_groups.member_phrase(view) == "1 member (client id billing-app on 10.0.0.5)"


def test_a_new_protocol_group_described_as_dead_keeps_its_listed_state():
    # DescribeGroups answers Dead for a KIP-848 group, however many members it has.
    view = kafka_groups.group_view("billing", dict(group_state="Stable", group_type="consumer"),
                                   dict(group_state="Dead", members=[]), True)
    assert (view.state, view.group_type, view.members_known, view.active) == ("Stable", "consumer", False, True)
    assert "KIP-848" in kafka_groups.member_phrase(view)
    empty = kafka_groups.group_view("billing", dict(group_state="Empty", group_type="consumer"), None, True)
    assert not empty.active


@pytest.mark.parametrize("listed, has_offsets, state", [
    (dict(group_state="Empty", group_type="classic", protocol_type="consumer"), True, "Empty"),
    (None, True, "Empty"),      # offsets committed by an admin or an old consumer: no coordination
    (None, False, "absent"),
])
def test_a_group_dead_in_describe_is_empty_or_absent(listed, has_offsets, state):
    view = kafka_groups.group_view("billing", listed, dict(group_state="Dead", members=[]), has_offsets)
    assert view.state == state and not view.active


def test_a_group_listed_without_description_is_taken_from_the_listing():
    view = kafka_groups.group_view("billing", dict(group_state="PreparingRebalance"), None, False)
    assert view.state == "PreparingRebalance" and view.active and view.group_type == "classic"


def test_member_phrase_counts_and_shortens():
    members = [dict(client_id=f"c{i}", host="h") for i in range(7)]
    view = kafka_groups.KafkaGroup("g", "Stable", members=members)
    assert kafka_groups.member_phrase(view).startswith("7 members (client id c0 on h, ")
    assert kafka_groups.member_phrase(view).endswith("client id c4 on h and 2 more)")
    assert kafka_groups.member_phrase(kafka_groups.KafkaGroup("g", "PreparingRebalance")) == "no member listed yet"


def test_refusal_names_state_members_and_what_to_do():
    view = kafka_groups.KafkaGroup("billing", "Stable", members=[dict(client_id="app", host="h1")])
    line = kafka_groups.refusal(view, 30)
    assert line.startswith("group 'billing' is Stable after waiting 30 s with 1 member (client id app on h1)")
    assert "wait_inactive" in line and "\n" not in line
    assert "after waiting" not in kafka_groups.refusal(view, 0)


@pytest.mark.parametrize("requested, zookeeper_has, kafka_has, storage", [
    ("zookeeper", False, True, "zookeeper"),
    ("kafka", True, False, "kafka"),
    ("auto", True, True, "both"),
    ("auto", True, False, "zookeeper"),
    ("auto", False, True, "kafka"),
    ("auto", None, True, "kafka"),
])
def test_resolve_storage(requested, zookeeper_has, kafka_has, storage):
    assert kafka_groups.resolve_storage("g", requested, zookeeper_has, kafka_has, "ZooKeeper (x)", "Kafka (y)") == storage


def test_a_group_in_neither_store_names_where_it_looked():
    with pytest.raises(OffsetDataError, match=r"^group 'g' has no committed offsets in ZooKeeper \(x\) nor Kafka \(y\): "
                                              r"check the group name and zk_chroot$"):
        kafka_groups.resolve_storage("g", "auto", False, False, "ZooKeeper (x)", "Kafka (y)")
    with pytest.raises(OffsetDataError, match=r"^group 'g' has no committed offsets in Kafka \(y\): check the group name$"):
        kafka_groups.resolve_storage("g", "auto", None, False, "ZooKeeper (x)", "Kafka (y)")


def test_stored_from_kafka_has_no_version():
    stored = kafka_groups.stored_from_kafka({("t", 0): (5, "m", 3)}, [("t", 0), ("t", 1)])
    assert stored == {("t", 0): Stored(5, None), ("t", 1): Stored(None, None)}


def test_combine_agreeing_stores_keeps_zookeeper_versions():
    zookeeper = {("t", 0): Stored(5, 2)}
    current, disagree = kafka_groups.combine_stores(zookeeper, {("t", 0): Stored(5, None)}, None)
    assert current == {("t", 0): Stored(5, 2)} and disagree == []


def test_combine_disagreeing_stores_refuses_without_a_preference():
    zookeeper = {("t", 0): Stored(5, 2), ("t", 1): Stored(None, None, "abc")}
    kafka = {("t", 0): Stored(9, None), ("t", 1): Stored(None, None)}
    with pytest.raises(OffsetDataError, match=r"disagree: t/0 ZooKeeper 5, Kafka 9; t/1 ZooKeeper 'abc', Kafka none; "
                                              r"pass prefer_store"):
        kafka_groups.combine_stores(zookeeper, kafka, None)


@pytest.mark.parametrize("prefer, offsets", [
    ("zookeeper", [5, None, 4]),
    ("kafka", [9, 3, None]),
    ("larger", [9, 3, 4]),
])
def test_combine_disagreeing_stores_with_a_preference(prefer, offsets):
    zookeeper = {("t", 0): Stored(5, 2), ("t", 1): Stored(None, None), ("t", 2): Stored(4, 1)}
    kafka = {("t", 0): Stored(9, None), ("t", 1): Stored(3, None), ("t", 2): Stored(None, None)}
    current, disagree = kafka_groups.combine_stores(zookeeper, kafka, prefer)
    assert [current[("t", p)].offset for p in range(3)] == offsets
    assert [current[("t", p)].version for p in range(3)] == [2, None, 1]
    assert [(d["partition"], d["zookeeper"], d["kafka"]) for d in disagree] == [(0, 5, 9), (1, None, 3), (2, 4, None)]


def test_describe_table_has_kafka_consumer_groups_columns():
    view = kafka_groups.group_view("billing", None, dict(group_state="Stable", members=[MEMBER]), True)
    rows = kafka_groups.offset_rows(view, {("orders", 1): (7, "", -1), ("orders", 2): (12, "m", 4)},
                                    {("orders", 1): (0, 10), ("orders", 2): (0, 12)})
    assert [(r["offset"], r["lag"], r["client_id"], r["metadata"], r["leader_epoch"]) for r in rows] == [
        (7, 3, "billing-app", "", -1), (12, 0, None, "m", 4)]
    table = kafka_groups.describe_table(rows)
    assert table[0].split() == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                                "CONSUMER-ID", "HOST", "CLIENT-ID"]
    assert table[1].split() == ["billing", "orders", "1", "7", "10", "3", "app-1-uuid", "10.0.0.5", "billing-app"]
    assert table[2].split() == ["billing", "orders", "2", "12", "12", "0", "-", "-", "-"]


def test_offset_rows_flag_out_of_range_and_unknown_log_ends():
    view = kafka_groups.KafkaGroup("g", "Empty")
    rows = kafka_groups.offset_rows(view, {("t", 0): (3, "", -1), ("t", 1): (50, "", -1), ("t", 2): (1, "", -1)},
                                    {("t", 0): (5, 9), ("t", 1): (0, 9)})
    assert [(r["below_log_start"], r["above_log_end"], r["lag"]) for r in rows] == [
        (True, False, 6), (False, True, 0), (False, False, None)]


def test_backup_csv_and_sidecar_round_trip():
    before = {("orders", 0): 5, ("orders", 1): None, ("audit", 3): 12}
    assert kafka_groups.backup_csv(before) == "audit,3,12\norders,0,5\n"
    sidecar = kafka_groups.backup_sidecar("billing", before, {("orders", 0): "m", ("audit", 3): ""}, "k1:9092",
                                          "2026-12-01T00:00:00.000Z")
    assert json.loads(sidecar)["absent"] == [dict(topic="orders", partition=1)]
    absent, metadata = kafka_groups.parse_sidecar(sidecar, "billing", "x.meta.json")
    assert absent == [("orders", 1)] and metadata == {("orders", 0): "m"}


def test_a_sidecar_of_another_group_or_not_json_is_refused():
    sidecar = kafka_groups.backup_sidecar("billing", {}, {}, "k", "t")
    with pytest.raises(OffsetDataError, match="backup of group 'billing', not 'audit'"):
        kafka_groups.parse_sidecar(sidecar, "audit", "x.meta.json")
    with pytest.raises(OffsetDataError, match="x.meta.json is not a consumer_offset backup sidecar"):
        kafka_groups.parse_sidecar("{", "billing", "x.meta.json")
