# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""partition_info, partition_reassignment and leader_election against the lab's real brokers: what they report
is compared with what kafka-python's own admin client reads back."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid

import pytest
from kafka import KafkaProducer, TopicPartition
from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType

from offsets_helpers import BOOTSTRAP_SERVERS, ZK_CHROOT, ZK_HOSTS, kafka_admin, run_module, start_module

pytestmark = pytest.mark.lab
ZK = dict(zk_hosts=ZK_HOSTS, zk_chroot=ZK_CHROOT)
THROTTLE_TOPIC_CONFIGS = ("leader.replication.throttled.replicas", "follower.replication.throttled.replicas")
THROTTLE_BROKER_CONFIGS = ("leader.replication.throttled.rate", "follower.replication.throttled.rate")


def described(topic: str) -> dict[int, dict]:
    """{partition: {replicas, isr, leader, reassignment}} as kafka-python's admin client reads them."""
    admin = kafka_admin()
    try:
        meta = admin.describe_topics([topic])[0]
        running = admin.list_partition_reassignments({topic: [p["partition_index"] for p in meta["partitions"]]})
    finally:
        admin.close()
    return {p["partition_index"]: dict(replicas=p["replica_nodes"], isr=sorted(p["isr_nodes"]), leader=p["leader_id"],
                                       reassignment=running.get(TopicPartition(topic, p["partition_index"])))
            for p in meta["partitions"]}


def wait_described(topic: str, partition: int, check, timeout: float = 30.0) -> dict:
    """Metadata reaches every broker a moment after the controller acts: read until check holds."""
    deadline = time.monotonic() + timeout
    while True:
        state = described(topic)[partition]
        if check(state) or time.monotonic() > deadline:
            return state
        time.sleep(0.2)


@pytest.fixture(scope="module")
def topic(lab):
    name = f"partition-admin-it-{uuid.uuid4().hex[:8]}"
    lab.create_topic(name, partitions=2, replication=3)
    lab.produce(name, 400, partitions=2)
    yield name
    lab.delete_topic(name)


def test_partition_info_on_a_three_replica_topic(topic):
    result = run_module("partition_info", dict(ZK, topics=[topic]))
    assert not result["failed"], result.get("msg")
    truth = described(topic)
    assert [(p["topic"], p["partition"]) for p in result["partitions"]] == [(topic, 0), (topic, 1)]
    for info in result["partitions"]:
        state = truth[info["partition"]]
        assert (info["replicas"], sorted(info["isr"]), info["leader"]) == (
            state["replicas"], state["isr"], state["leader"])
        assert len(info["replicas"]) == 3 and info["reassignment"] is None and info["size_bytes"] > 200 * 60
        assert info["configs"]["cleanup_policy"] == "delete" and info["configs"]["remote_storage"] is False
        assert info["configs"]["unclean_leader_election"] is False
        assert isinstance(info["configs"]["min_insync_replicas"], int)
    # The same through the brokers directly, and with the keys a decision adds.
    direct = run_module("partition_info", dict(kafka_bootstrap_servers=BOOTSTRAP_SERVERS,
                                               partitions=[dict(topic=topic, partition=1, replicas=[9], x=1)]))
    assert [p["partition"] for p in direct["partitions"]] == [1]
    unknown = run_module("partition_info", dict(ZK, partitions=[dict(topic=topic, partition=7)]))
    assert unknown["failed"] and unknown["msg"] == (f"partition {topic}-7 does not exist: topic {topic!r} has "
                                                    "partitions 0, 1; check the partition numbers")


def test_reorder_and_preferred_election_move_the_leader(topic):
    before = described(topic)[0]
    first, second, third = before["replicas"]
    assert before["leader"] == first
    target = [second, first, third]
    args = dict(ZK, partitions=[dict(topic=topic, partition=0, replicas=target)], poll_interval=0.2)

    checked = run_module("partition_reassignment", args, check=True, diff=True)
    assert checked["changed"] and checked["plan"]["submit"] == [dict(topic=topic, partition=0, replicas=target)]
    assert described(topic)[0] == before

    done = run_module("partition_reassignment", args)
    assert done["changed"] and done["partitions"][0]["before"] == [first, second, third]
    after = wait_described(topic, 0, lambda s: s["replicas"] == target)
    assert after["replicas"] == target and after["reassignment"] is None and after["leader"] == first

    election = dict(ZK, partitions=[dict(topic=topic, partition=0)], poll_interval=0.2)
    would = run_module("leader_election", election, check=True)
    assert would["changed"] and would["partitions"][0]["leader_before"] == first
    assert described(topic)[0]["leader"] == first
    elected = run_module("leader_election", election)
    assert elected["changed"] and elected["partitions"][0]["leader_after"] == second, elected.get("msg")
    assert wait_described(topic, 0, lambda s: s["leader"] == second)["leader"] == second

    assert not run_module("partition_reassignment", args)["changed"]
    assert not run_module("leader_election", election)["changed"]


def test_remove_a_replica_and_add_it_back_in_sync(topic):
    original = described(topic)[1]["replicas"]
    removed = original[:2]
    remove = run_module("partition_reassignment", dict(ZK, partitions=[dict(topic=topic, partition=1,
                                                                            replicas=removed)], poll_interval=0.2))
    assert remove["changed"] and not remove["failed"], remove.get("msg")
    state = wait_described(topic, 1, lambda s: s["replicas"] == removed)
    assert state["replicas"] == removed and state["isr"] == sorted(removed)

    readd_args = dict(ZK, partitions=[dict(topic=topic, partition=1, replicas=original)], poll_interval=0.2)
    readd = run_module("partition_reassignment", readd_args)
    assert readd["changed"] and not readd["failed"], readd.get("msg")
    info = run_module("partition_info", dict(ZK, partitions=[dict(topic=topic, partition=1)]))["partitions"][0]
    assert info["replicas"] == original and sorted(info["isr"]) == sorted(original) and info["reassignment"] is None
    assert described(topic)[1]["isr"] == sorted(original)

    again = run_module("partition_reassignment", readd_args)
    assert not again["changed"] and again["plan"]["submit"] == [] and again["plan"]["done"] == [
        dict(topic=topic, partition=1)]


def set_throttle(topic: str, on: bool) -> None:
    """Replication throttled to 1 byte/s on every broker for every replica of topic (or the throttle removed):
    a re-added replica copies one fetch and then waits, so its reassignment keeps running."""
    admin = kafka_admin()
    op = AlterConfigOp.SET if on else AlterConfigOp.DELETE
    try:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic,
                                            {name: (op, "*") for name in THROTTLE_TOPIC_CONFIGS})], incremental=True)
        admin.alter_configs([ConfigResource(ConfigResourceType.BROKER, str(broker),
                                            {name: (op, "1") for name in THROTTLE_BROKER_CONFIGS})
                             for broker in (1, 2, 3)], incremental=True, raise_on_unknown=False)
    finally:
        admin.close()


def test_running_reassignment_to_another_target_is_refused_and_a_stall_cancelled(lab):
    name = f"partition-admin-stall-{uuid.uuid4().hex[:8]}"
    lab.create_topic(name, partitions=1, replication=3)
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP_SERVERS, acks="all", linger_ms=50)
    for index in range(3000):
        producer.send(name, value=b"x" * 1024, partition=0)
    producer.flush(timeout=30)
    producer.close()
    original = described(name)[0]["replicas"]
    try:
        shrink = run_module("partition_reassignment", dict(ZK, partitions=[dict(topic=name, partition=0,
                                                                                replicas=original[:2])]))
        assert shrink["changed"], shrink.get("msg")
        set_throttle(name, True)
        admin = kafka_admin()
        try:
            admin.alter_partition_reassignments({TopicPartition(name, 0): original})
        finally:
            admin.close()
        running = wait_described(name, 0, lambda s: s["reassignment"] is not None)
        assert running["reassignment"] is not None

        other = [original[1], original[0], original[2]]
        refused = run_module("partition_reassignment", dict(ZK, partitions=[dict(topic=name, partition=0,
                                                                                 replicas=other)]))
        assert refused["failed"] and refused["msg"].startswith(f"partition {name}-0: a reassignment to {original} "
                                                               "is running")
        assert described(name)[0]["reassignment"] is not None

        stalled = run_module("partition_reassignment", dict(ZK, partitions=[dict(topic=name, partition=0,
                                                                                 replicas=original)],
                                                            stall_timeout=3, poll_interval=0.5, timeout=90))
        assert stalled["failed"] and f"partition {name}-0: the added replica(s) on brokers [{original[2]}]" in \
            stalled["msg"] and "cancelled" in stalled["msg"], stalled["msg"]
        state = wait_described(name, 0, lambda s: s["reassignment"] is None and s["replicas"] == original[:2])
        assert state["replicas"] == original[:2] and state["reassignment"] is None
    finally:
        try:
            set_throttle(name, False)
        finally:
            lab.delete_topic(name)


THROTTLE = 2 * 1024 * 1024


def throttle_configs(admin, topic: str, brokers: list[int]) -> dict[str, dict[str, str]]:
    """The throttle configs set now on each broker itself and on the topic, as DescribeConfigs says."""
    found = admin.describe_configs(
        [ConfigResource(ConfigResourceType.BROKER, str(broker), list(THROTTLE_BROKER_CONFIGS)) for broker in brokers]
        + [ConfigResource(ConfigResourceType.TOPIC, topic, list(THROTTLE_TOPIC_CONFIGS))], config_filter="all")
    set_now = {f"broker {broker}": {name: entry["value"] for name, entry in found["broker"][str(broker)].items()
                                    if entry["config_source"] == "DYNAMIC_BROKER_CONFIG"} for broker in brokers}
    set_now[f"topic {topic}"] = {name: entry["value"] for name, entry in found["topic"][topic].items()
                                 if entry["config_source"] == "DYNAMIC_TOPIC_CONFIG"}
    return set_now


@pytest.fixture
def shrunk(lab):
    """(topic, its three replicas, the config reader): a one-partition topic of about 20 MB whose third replica
    was just removed, ready to be added back."""
    name = f"partition-admin-throttle-{uuid.uuid4().hex[:8]}"
    lab.create_topic(name, partitions=1, replication=3)
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP_SERVERS, acks="all", linger_ms=50)
    for index in range(20000):
        producer.send(name, value=b"x" * 1024, partition=0)
    producer.flush(timeout=60)
    producer.close()
    original = described(name)[0]["replicas"]
    admin = kafka_admin()
    try:
        shrink = run_module("partition_reassignment", dict(ZK, partitions=[dict(topic=name, partition=0,
                                                                                replicas=original[:2])]))
        assert shrink["changed"] and not shrink["failed"], shrink.get("msg")
        wait_described(name, 0, lambda s: s["replicas"] == original[:2])
        yield name, original, admin
    finally:
        admin.close()
        lab.delete_topic(name)


def nothing_set(topic: str, brokers: list[int]) -> dict[str, dict]:
    return dict({f"broker {broker}": {} for broker in brokers}, **{f"topic {topic}": {}})


def throttle_set(topic: str, original: list[int], rate: int) -> dict[str, dict]:
    """What the re-add of original[2] sets: the rate on the three brokers, the pairs on the topic."""
    return dict({f"broker {broker}": {config: str(rate) for config in THROTTLE_BROKER_CONFIGS}
                 for broker in original},
                **{f"topic {topic}": {THROTTLE_TOPIC_CONFIGS[0]: ",".join(f"0:{b}" for b in original[:2]),
                                      THROTTLE_TOPIC_CONFIGS[1]: f"0:{original[2]}"}})


def test_throttled_readd_sets_the_throttle_for_the_copy_only(shrunk):
    name, original, admin = shrunk
    args = dict(ZK, partitions=[dict(topic=name, partition=0, replicas=original)], throttle=THROTTLE,
                poll_interval=0.5, timeout=240)

    checked = run_module("partition_reassignment", args, check=True)
    assert checked["changed"] and checked["throttle"] == dict(rate=THROTTLE, brokers=sorted(original), topics={
        name: dict(leader=[f"0:{b}" for b in original[:2]], follower=[f"0:{original[2]}"])})
    assert throttle_configs(admin, name, original) == nothing_set(name, original)
    assert described(name)[0]["reassignment"] is None

    outcome: dict = {}
    run = threading.Thread(target=lambda: outcome.update(run_module("partition_reassignment", args)))
    began = time.monotonic()
    run.start()
    during = []
    while run.is_alive():
        # Only reads with the copy running both before and after them: the lift follows its end at once.
        running = admin.list_partition_reassignments({name: [0]})
        configs = throttle_configs(admin, name, original)
        if running and admin.list_partition_reassignments({name: [0]}):
            during.append(configs)
        time.sleep(0.05)
    run.join()
    took = time.monotonic() - began
    assert outcome["changed"] and not outcome["failed"], outcome.get("msg")
    expected = throttle_set(name, original, THROTTLE)
    assert during and [configs for configs in during if configs != expected] == [], expected
    assert outcome["throttle"] == checked["throttle"] and outcome["msg"].endswith("lifted since")
    assert throttle_configs(admin, name, original) == nothing_set(name, original)
    state = described(name)[0]
    assert state["replicas"] == original and state["isr"] == sorted(original) and state["reassignment"] is None
    print(f"throttled re-add of {name}: {len(during)} reads while it copied, {took:.1f} s in all")

    again = run_module("partition_reassignment", args)
    assert not again["changed"] and not again["failed"] and "throttle" not in again
    assert throttle_configs(admin, name, original) == nothing_set(name, original)


def test_rerun_after_a_killed_throttled_run_converges(shrunk):
    name, original, admin = shrunk
    rate = 1024 * 1024
    args = dict(ZK, partitions=[dict(topic=name, partition=0, replicas=original)], throttle=rate,
                poll_interval=0.5, timeout=240)
    first = start_module("partition_reassignment", args)
    try:
        deadline = time.monotonic() + 60
        while not (admin.list_partition_reassignments({name: [0]})
                   and throttle_configs(admin, name, original) == throttle_set(name, original, rate)):
            assert time.monotonic() < deadline and first.poll() is None, "the throttled copy never started"
            time.sleep(0.05)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    # Killed mid-copy: its reassignment runs on and its throttle stays.
    assert described(name)[0]["reassignment"] is not None
    assert throttle_configs(admin, name, original) == throttle_set(name, original, rate)

    rerun = run_module("partition_reassignment", args)
    assert rerun["changed"] and not rerun["failed"], rerun.get("msg")
    assert rerun["plan"]["wait"] == [dict(topic=name, partition=0)] and rerun["plan"]["submit"] == []
    assert throttle_configs(admin, name, original) == nothing_set(name, original)
    state = described(name)[0]
    assert state["replicas"] == original and state["isr"] == sorted(original) and state["reassignment"] is None
