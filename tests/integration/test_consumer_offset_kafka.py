# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""consumer_offset, consumer_offset_info and group_wait on a Kafka-stored group (issue 12), against the lab's real
brokers and its modern consumer, checked with what a user would use: KafkaAdminClient.list_group_offsets and
Kafka's own kafka-consumer-groups (ConsumerGroupCommand)."""

from __future__ import annotations

import pathlib
import threading
import time

import pytest
from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata

from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.kafka_client import KafkaBrokers
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import kafka_offset_store
from lab import cluster as lab_cluster
from lab import processes
from lab.consumer import MODERN_CLIENT_ID
from lab.scenarios import cleanup, unique_name
from lab.waiting import wait_for
from offsets_helpers import (BOOTSTRAP_SERVERS, ZK_CHROOT, ZK_HOSTS, group_command, group_coordinator, kafka_admin,
                             kafka_offset_of, kafka_offsets, kafka_snapshot, run_module)

pytestmark = pytest.mark.lab
BROKERS = dict(kafka_bootstrap_servers=BOOTSTRAP_SERVERS, kafka_request_timeout=10)
ZK = dict(zk_hosts=ZK_HOSTS, zk_chroot=ZK_CHROOT)
# Every failure of bad input must come back within this, with kafka_request_timeout=5.
BOUND = 40


@pytest.fixture(scope="module")
def kafka_group(lab):
    """Topic T (3 partitions x 20 records) that group T's modern consumer read to the end and left (Empty), and
    topic T-b (3 x 10) the group never read. Tests that move offsets put them back at 20."""
    group = unique_name("kafka-offsets")
    other = f"{group}-b"
    lab.produce(group, 60, partitions=3)
    lab.produce(other, 30, partitions=3)
    try:
        lab.consumer_start(group, group, kind="modern")
        wait_for(lambda: kafka_offsets(group) == at(group, 20), f"group {group} to commit offset 20 everywhere")
        lab.consumer_stop(group)
        assert lab.kafka_group_state(group) == "Empty"
        yield dict(group=group, topic=group, other=other)
    finally:
        cleanup(group)
        lab.delete_topic(other)


@pytest.fixture(autouse=True)
def settled(lab, kafka_group):
    """After each test the consumer is stopped and the group back at 20 on T with nothing on T-b, whatever the
    test did (a failed test must not make the next one fail)."""
    yield
    group = kafka_group["group"]
    lab.consumer_stop(group)
    if any(lab_cluster.broker_service(broker).pid() is None for broker in lab.BROKERS):
        lab.start_brokers()
    if kafka_offsets(group) != at(kafka_group["topic"], 20):
        admin = kafka_admin()
        try:
            admin.alter_group_offsets(group, {TopicPartition(kafka_group["topic"], p): OffsetAndMetadata(20, "", -1)
                                              for p in range(3)})
            admin.delete_group_offsets(group, [TopicPartition(kafka_group["other"], p) for p in range(3)])
        finally:
            admin.close()


def at(topic: str, offset: int, partitions: int = 3) -> dict:
    return {(topic, partition): offset for partition in range(partitions)}


def member_phrase(lab, group: str) -> tuple[str, str]:
    """(member id, 'client id <id> on <host>') of the group's one member, as Kafka's DescribeGroups names it."""
    [member] = lab.kafka_group_describe(group)["members"]
    return member["member_id"], f"client id {member['client_id']} on {member['client_host'].lstrip('/')}"


def start_consumer(lab, group: str) -> None:
    lab.consumer_start(group, group, kind="modern")
    wait_for(lambda: lab.kafka_group_state(group) == "Stable", f"group {group} to be Stable")


def offsets_partition(group: str) -> int:
    """The __consumer_offsets partition that holds the group (and whose leader is its coordinator): Kafka's
    Utils.abs(group.hashCode()) % offsets.topic.num.partitions (3 in the lab)."""
    code = 0
    for char in group:
        code = (31 * code + ord(char)) & 0xFFFFFFFF
    signed = code - (1 << 32) if code & 0x80000000 else code
    return (0 if signed == -(1 << 31) else abs(signed)) % 3


def offsets_leadership(group: str) -> tuple[int, int, list[int]]:
    """(partition of __consumer_offsets, its leader, its replicas in preference order) for the group."""
    partition = offsets_partition(group)
    admin = kafka_admin()
    try:
        [described] = admin.describe_topics(["__consumer_offsets"])
    finally:
        admin.close()
    [found] = [p for p in described["partitions"] if p["partition_index"] == partition]
    return partition, found["leader_id"], list(found["replica_nodes"])


def lead_offsets_partition(partition: int, replicas: list[int]) -> None:
    """Make replicas[0] lead __consumer_offsets-<partition>: the replica order is reassigned (the same brokers, no
    data moves) and a preferred leader election held, as Kafka's own rebalance does after a broker restart."""
    admin = kafka_admin()
    try:
        admin.alter_partition_reassignments({TopicPartition("__consumer_offsets", partition): replicas})
        wait_for(lambda: offsets_replicas(admin, partition) == replicas, f"__consumer_offsets-{partition} to list "
                 f"its replicas as {replicas}", timeout=30, interval=0.1)
        admin.elect_leaders(0, {"__consumer_offsets": [partition]})
    finally:
        admin.close()


def offsets_replicas(admin, partition: int) -> list[int]:
    [described] = admin.describe_topics(["__consumer_offsets"])
    return [list(p["replica_nodes"]) for p in described["partitions"] if p["partition_index"] == partition][0]


def restore_coordinator(group: str, partition: int, replicas: list[int]) -> None:
    """Give the group's __consumer_offsets partition its replica order back with the preferred replica leading (where
    Kafka's own rebalance would put it) and wait until the coordinator there answers for the group."""
    lead_offsets_partition(partition, replicas)

    def answers():
        try:
            return offsets_leadership(group)[1] == replicas[0] and kafka_snapshot(group) is not None
        except Exception:  # pylint: disable=broad-except
            return False
    wait_for(answers, f"the coordinator of {group} to be broker {replicas[0]} again and answer", timeout=60)


def timed(module: str, args: dict, **options) -> tuple[dict, float]:
    began = time.monotonic()
    result = run_module(module, args, **options)
    return result, time.monotonic() - began


def test_info_lists_the_stopped_group_like_kafka_consumer_groups_describe(lab, kafka_group):
    group, topic = kafka_group["group"], kafka_group["topic"]
    described = group_command(lab, "--describe", "--group", group)
    assert described.returncode == 0, described.stderr
    theirs = [line.split() for line in described.stdout.splitlines() if line.split()[:1] in (["GROUP"], [group])]
    assert theirs[0][:4] == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET"] and len(theirs) == 4, described.stdout
    assert {(row[1], int(row[2])): int(row[3]) for row in theirs[1:]} == kafka_offsets(group) == at(topic, 20)

    # Without ZooKeeper (a KRaft-style setup), and with it (brokers found under /brokers/ids, ZooKeeper asked too).
    for connection in (dict(kafka_bootstrap_servers=BOOTSTRAP_SERVERS), ZK):
        info = run_module("consumer_offset_info", dict(connection, groups=[group]))
        assert not info["failed"], info.get("msg")
        [entry] = info["groups"]
        assert (entry["storage"], entry["state"], entry["active"], entry["members"], entry["topics"]) == \
            ("kafka", "Empty", False, [], [topic]), entry
        assert {(row["topic"], row["partition"]): row["offset"] for row in info["offsets"]} == at(topic, 20)
        assert {row["storage"] for row in info["offsets"]} == {"kafka"}
        assert [(row["log_end_offset"], row["lag"]) for row in info["offsets"]] == [(20, 0)] * 3
        # The same table, cell for cell, as Kafka's own tool shows the group (which lists partitions in any order).
        ours = [line.split() for line in info["table"]]
        assert ours[0] == theirs[0] and sorted(ours[1:]) == sorted(theirs[1:]), info["table"]


def test_check_mode_and_diff_change_nothing(kafka_group, tmp_path):
    group, topic = kafka_group["group"], kafka_group["topic"]
    before = kafka_snapshot(group)
    backups = tmp_path / "backups"
    checked = run_module("consumer_offset", dict(BROKERS, group=group, topics=[topic], target="shift_by", shift_by=-5,
                                                 backup_dir=str(backups)), check=True, diff=True)
    assert not checked["failed"], checked.get("msg")
    assert checked["changed"] is True and checked["storage"] == "kafka" and checked["group_state"] == "Empty"
    assert [(e["topic"], e["partition"], e["before"], e["after"]) for e in checked["plan"]] == \
        [(topic, p, 20, 15) for p in range(3)]
    assert all(f'-    "{topic}/{p}": 20' in checked["_stdout"] and f'+    "{topic}/{p}": 15' in checked["_stdout"]
               for p in range(3)), checked["_stdout"]
    assert checked["backup_file"] is None and checked["requests"] == 0
    assert kafka_snapshot(group) == before, "check mode changed Kafka's offsets"
    assert not backups.exists(), "check mode wrote a backup"


def test_move_rerun_and_restore_with_the_module_and_with_kafka_consumer_groups(lab, kafka_group, tmp_path):
    """earliest over the group's topic and a topic it never read; an identical rerun changes nothing; the backup
    restores exactly (offsets the group did not have are deleted again). Then target=offset, and Kafka's own
    kafka-consumer-groups --reset-offsets --from-file restores from the module's backup CSV."""
    group, topic, other = kafka_group["group"], kafka_group["topic"], kafka_group["other"]
    before = kafka_snapshot(group)
    assert [kafka_offset_of(group, other, p) for p in range(3)] == [None] * 3
    args = dict(BROKERS, group=group, topics=[topic, other], target="earliest", backup_dir=str(tmp_path))

    moved = run_module("consumer_offset", args)
    assert not moved["failed"] and moved["changed"] is True, moved.get("msg")
    assert (moved["storage"], moved["requests"], moved["read_back"]["at_target"]) == ("kafka", 1, 6)
    assert kafka_offsets(group) == {**at(topic, 0), **at(other, 0)}
    backup = pathlib.Path(moved["backup_file"])
    assert backup.suffix == ".csv" and backup.read_text() == "".join(f"{topic},{p},20\n" for p in range(3))

    again = run_module("consumer_offset", args)
    assert not again["failed"] and again["changed"] is False, again.get("msg")
    assert again["backup_file"] is None and again["requests"] == 0

    restored = run_module("consumer_offset", dict(BROKERS, group=group, target="file", file=str(backup), backup=False))
    assert not restored["failed"] and restored["changed"] is True, restored.get("msg")
    assert kafka_snapshot(group) == before
    assert [kafka_offset_of(group, other, p) for p in range(3)] == [None] * 3, "OffsetDelete did not happen"
    assert lab.java_group_offsets(group) == at(topic, 20)
    restored_again = run_module("consumer_offset", dict(BROKERS, group=group, target="file", file=str(backup),
                                                        backup=False))
    assert not restored_again["failed"] and restored_again["changed"] is False, restored_again.get("msg")

    explicit = dict(BROKERS, group=group, topics=[topic], target="offset", offset=7, backup_dir=str(tmp_path))
    moved = run_module("consumer_offset", explicit)
    assert not moved["failed"] and moved["changed"] is True and kafka_offsets(group) == at(topic, 7), moved.get("msg")
    again = run_module("consumer_offset", explicit)
    assert not again["failed"] and again["changed"] is False and again["backup_file"] is None, again.get("msg")
    reset = group_command(lab, "--group", group, "--reset-offsets", "--from-file", moved["backup_file"], "--execute")
    assert reset.returncode == 0, reset.stdout + reset.stderr
    assert lab.java_group_offsets(group) == kafka_offsets(group) == at(topic, 20)
    assert kafka_snapshot(group) == before


def test_refuses_while_a_consumer_is_live_then_waits_for_it_to_leave(lab, kafka_group, tmp_path):
    group, topic = kafka_group["group"], kafka_group["topic"]
    before = kafka_snapshot(group)
    backups = tmp_path / "backups"
    args = dict(BROKERS, group=group, topics=[topic], target="offset", offset=5, backup_dir=str(backups))
    start_consumer(lab, group)
    stopper = threading.Timer(3, lab.consumer_stop, args=(group,))
    try:
        _phrase, names = member_phrase(lab, group)
        assert names.startswith(f"client id {MODERN_CLIENT_ID} on 127.0.0.")
        refused = run_module("consumer_offset", args)
        assert refused["failed"] and refused["changed"] is False
        assert "\n" not in refused["msg"] and names in refused["msg"] and "wait_inactive" in refused["msg"], refused["msg"]
        assert refused["group_state"] == "Stable" and [m["client_id"] for m in refused["members"]] == [MODERN_CLIENT_ID]
        assert kafka_snapshot(group) == before and not backups.exists()

        stopper.start()
        waited, elapsed = timed("consumer_offset", dict(args, wait_inactive=30))
        assert not waited["failed"] and waited["changed"] is True, waited.get("msg")
        assert elapsed > 3 and waited["group_state"] == "Empty"
        assert kafka_offsets(group) == at(topic, 5)
    finally:
        stopper.cancel()
        stopper.join()
        lab.consumer_stop(group)
    restored = run_module("consumer_offset", dict(BROKERS, group=group, target="file", file=waited["backup_file"],
                                                  backup=False))
    assert restored["changed"] is True and kafka_snapshot(group) == before, restored.get("msg")


def test_the_broker_refuses_an_admin_commit_into_a_live_group(lab, kafka_group):
    """No look at the group first: the commit itself goes to the coordinator while the consumer is a member."""
    group, topic = kafka_group["group"], kafka_group["topic"]
    before = kafka_snapshot(group)
    plan = [dict(topic=topic, partition=p, before=20, after=5, log_start_offset=0, log_end_offset=20) for p in range(3)]
    start_consumer(lab, group)
    kafka = KafkaBrokers(dict(kafka_request_timeout=10), BOOTSTRAP_SERVERS)
    try:
        outcome = kafka_offset_store.write_and_read_back(kafka, group, plan, {})
    finally:
        kafka.close()
        lab.consumer_stop(group)
    assert outcome.problem and "a consumer joined the group meanwhile" in outcome.problem, outcome.problem
    assert "\n" not in outcome.problem and outcome.changed is False and outcome.requests == 1
    assert outcome.read_back["as_before"] == 3
    assert kafka_snapshot(group) == before


def test_expected_offsets_guard_refuses_and_writes_nothing(kafka_group, tmp_path):
    group, topic = kafka_group["group"], kafka_group["topic"]
    before = kafka_snapshot(group)
    backups = tmp_path / "backups"
    guarded = run_module("consumer_offset", dict(
        BROKERS, group=group, target="skip", backup_dir=str(backups),
        partition_offsets=[dict(topic=topic, partition=1, offset=10)],
        expected_offsets=[dict(topic=topic, partition=1, offset=19)]))
    assert guarded["failed"] and "not at the expected 19" in guarded["msg"] and "\n" not in guarded["msg"], guarded
    assert kafka_snapshot(group) == before and not backups.exists()


def bad_inputs(kafka_group, tmp_path) -> dict:
    group, topic = kafka_group["group"], kafka_group["topic"]
    quick = dict(BROKERS, kafka_request_timeout=5, backup_dir=str(tmp_path / "backups"))
    foreign = tmp_path / "other-group.csv"
    foreign.write_text("".join(f"someone-else,{topic},{p},3\n" for p in range(3)))
    return {
        "unknown group": (dict(quick, group=f"{group}-nobody", target="earliest"),
                          [f"group '{group}-nobody' has no committed offsets in Kafka", "check the group name"]),
        "unknown group, storage=kafka": (dict(quick, group=f"{group}-nobody", target="earliest", storage="kafka"),
                                         [f"group '{group}-nobody' is not known to Kafka", "check the group name"]),
        "offset outside the log": (dict(quick, group=group, topics=[topic], target="offset", offset=10_000),
                                   ["10000", "above the log end offset 20", "clamp"]),
        "file for another group": (dict(quick, group=group, target="file", file=str(foreign)),
                                   [f"has no offsets for group '{group}' (3 rows are for other groups)"]),
        "brokers unreachable": (dict(quick, group=group, target="earliest", kafka_bootstrap_servers=["127.0.0.11:9999"]),
                                ["127.0.0.11:9999", "within 5 s", "kafka_bootstrap_servers"]),
    }


@pytest.mark.parametrize("case", ["unknown group", "unknown group, storage=kafka", "offset outside the log",
                                  "file for another group", "brokers unreachable"])
def test_bad_input_fails_in_one_line_in_bounded_time_and_writes_nothing(kafka_group, tmp_path, case):
    args, phrases = bad_inputs(kafka_group, tmp_path)[case]
    before = kafka_snapshot(kafka_group["group"])
    failed, elapsed = timed("consumer_offset", args)
    assert failed["failed"] and failed.get("changed") is not True, failed
    assert "\n" not in failed["msg"] and all(phrase in failed["msg"] for phrase in phrases), failed["msg"]
    assert elapsed < BOUND
    assert kafka_snapshot(kafka_group["group"]) == before and not (tmp_path / "backups").exists()


def test_the_group_coordinator_stopped(lab, kafka_group, tmp_path):
    """The broker that is the group's coordinator stops (cleanly, as kafka-stop.sh does). A controlled shutdown
    moves the leadership of its __consumer_offsets partitions first, so another broker becomes the coordinator
    and loads the group: the module follows it and succeeds, within the bound."""
    group, topic = kafka_group["group"], kafka_group["topic"]
    before = kafka_snapshot(group)
    coordinator = group_coordinator(lab, group)
    partition, leader, replicas = offsets_leadership(group)
    assert leader == coordinator, "Kafka's tool and the __consumer_offsets partition disagree on the coordinator"
    service = lab_cluster.broker_service(coordinator)
    stopped = processes.run_script(service.script("stop"), timeout=180)
    assert stopped.returncode == 0, stopped.stderr
    try:
        info, elapsed = timed("consumer_offset_info", dict(BROKERS, kafka_request_timeout=5, groups=[group]))
        assert elapsed < BOUND
        assert not info["failed"], info.get("msg")
        assert {(row["topic"], row["partition"]): row["offset"] for row in info["offsets"]} == at(topic, 20)
        moved, elapsed = timed("consumer_offset", dict(BROKERS, kafka_request_timeout=5, group=group, topics=[topic],
                                                       target="offset", offset=9, backup_dir=str(tmp_path)))
        assert elapsed < BOUND
        assert not moved["failed"] and moved["changed"] is True, moved.get("msg")
        assert kafka_offsets(group) == at(topic, 9)
        assert group_coordinator(lab, group) != coordinator
    finally:
        lab.start_brokers()
        # Leadership stays moved after the restart; put it back now rather than when Kafka's own rebalance does it
        # (up to 5 minutes later, in the middle of another test).
        restore_coordinator(group, partition, replicas)
    restored = run_module("consumer_offset", dict(BROKERS, group=group, target="file", file=moved["backup_file"],
                                                  backup=False))
    assert restored["changed"] is True and kafka_snapshot(group) == before, restored.get("msg")


def test_group_wait_inactive_and_flowing(lab, kafka_group, tmp_path):
    group, topic = kafka_group["group"], kafka_group["topic"]
    wait = dict(BROKERS, group=group, storage="kafka", poll_interval=0.5)
    empty = run_module("group_wait", dict(wait, state="inactive", timeout=10))
    assert not empty["failed"] and empty["members"] == [] and empty["elapsed"] < 5, empty.get("msg")

    start_consumer(lab, group)
    try:
        member_id, names = member_phrase(lab, group)
        live = run_module("group_wait", dict(wait, state="inactive", timeout=3))
        assert live["failed"] and "\n" not in live["msg"], live
        assert f"group '{group}' still has 1 live consumer after 3 s ({member_id} ({names}))" in live["msg"], live["msg"]
    finally:
        lab.consumer_stop(group)

    # Back five records: the stopped group sits exactly at its targets, which are not passed yet.
    back = run_module("consumer_offset", dict(BROKERS, group=group, topics=[topic], target="shift_by", shift_by=-5,
                                              backup_dir=str(tmp_path)))
    assert not back["failed"] and kafka_offsets(group) == at(topic, 15), back.get("msg")
    targets = [dict(topic=topic, partition=p, target_offset=15) for p in range(3)]
    stuck = run_module("group_wait", dict(wait, state="flowing", targets=targets, timeout=2))
    assert stuck["failed"] and f"{topic}/0 (committed 15, target 15)" in stuck["msg"], stuck
    assert "no live consumer" in stuck["msg"]

    starter = threading.Timer(2, lab.consumer_start, args=(group,))
    starter.start()
    try:
        flowing = run_module("group_wait", dict(wait, state="flowing", targets=targets, timeout=60))
        assert not flowing["failed"], flowing.get("msg")
        assert flowing["waiting"] == [] and all(entry["committed_offset"] > 15 for entry in flowing["flowing"])
    finally:
        starter.cancel()
        starter.join()
        lab.consumer_stop(group)
    assert kafka_offsets(group) == at(topic, 20)


def test_group_wait_rides_out_a_coordinator_move(lab, kafka_group, tmp_path):
    """A wait for flowing offsets while the group's coordinator moves between brokers (as it does when Kafka
    rebalances leadership after a broker restart, up to leader.imbalance.check.interval.seconds later) and the
    consumer then starts and passes the targets. A coordinator that moves is transient: the wait should keep
    polling until its timeout, and pass."""
    group, topic = kafka_group["group"], kafka_group["topic"]
    back = run_module("consumer_offset", dict(BROKERS, group=group, topics=[topic], target="shift_by", shift_by=-5,
                                              backup_dir=str(tmp_path)))
    assert not back["failed"] and kafka_offsets(group) == at(topic, 15), back.get("msg")
    partition, leader, replicas = offsets_leadership(group)
    targets = [dict(topic=topic, partition=p, target_offset=15) for p in range(3)]

    def move_then_start():
        for other in [r for r in replicas if r != leader] + [leader]:
            time.sleep(1)
            lead_offsets_partition(partition, [other] + [r for r in replicas if r != other])
        time.sleep(1)
        lab.consumer_start(group)

    mover = threading.Thread(target=move_then_start)
    mover.start()
    try:
        flowing = run_module("group_wait", dict(BROKERS, group=group, storage="kafka", state="flowing", targets=targets,
                                                poll_interval=0.05, timeout=60))
    finally:
        mover.join()
        lab.consumer_stop(group)
        restore_coordinator(group, partition, replicas)
    assert not flowing["failed"], flowing.get("msg")
    assert flowing["waiting"] == [] and all(entry["committed_offset"] > 15 for entry in flowing["flowing"])
