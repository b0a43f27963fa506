# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The partition admin bodies on a fake clock: waited seconds, a copy that grows is no stall, a slow leader."""

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import partition_admin
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.kafka_replicas import KafkaReplicas
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.module_runner import ModuleError

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.fake_clock import FakeClock
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.fake_cluster import FakeCluster

TARGET = [dict(topic="orders", partition=0, replicas=[1, 2, 4])]


def fake(**kwargs):
    return FakeCluster({("orders", 0): dict(replicas=[1, 2, 3], isr=[1, 2, 3], leader=3)}, **kwargs)


def test_a_copy_that_keeps_growing_is_waited_for_past_the_stall_timeout():
    # Each metadata read is one 10 s poll and adds 100 bytes: 6 reads take 60 s, twice the stall timeout.
    cluster, clock = fake(steps=6), FakeClock()
    result = partition_admin.reassign(KafkaReplicas(cluster), TARGET, timeout=300, stall_timeout=30,
                                      poll_interval=10, check_mode=False, clock=clock, sleep=clock.sleep)
    assert result["changed"] and result["partitions"][0]["waited"] == 60.0
    assert cluster.partitions[("orders", 0)]["replicas"] == [1, 2, 4] and "describe_log_dirs" in cluster.calls


def test_a_copy_that_stops_growing_is_cancelled_after_the_stall_timeout():
    cluster, clock = fake(stuck=[("orders", 0)]), FakeClock()
    try:
        partition_admin.reassign(KafkaReplicas(cluster), TARGET, timeout=300, stall_timeout=30, poll_interval=10,
                                 check_mode=False, clock=clock, sleep=clock.sleep)
    except ModuleError as error:
        assert "stopped growing for 30 s outside the ISR (broker 4 0 bytes copied); cancelled" in str(error)
        assert error.details["stalled"][0]["seconds"] == 30.0 and clock.now == 30.0
    else:
        raise AssertionError("a stalled copy was not cancelled")
    assert cluster.partitions[("orders", 0)]["running"] is None


def test_no_stall_rule_means_no_log_dir_reads():
    cluster, clock = fake(steps=1), FakeClock()
    partition_admin.reassign(KafkaReplicas(cluster), TARGET, timeout=300, stall_timeout=0, poll_interval=10,
                             check_mode=False, clock=clock, sleep=clock.sleep)
    assert "describe_log_dirs" not in cluster.calls


def test_an_empty_list_changes_nothing():
    cluster = fake()
    assert partition_admin.reassign(KafkaReplicas(cluster), [], 10, 10, 1, False)["changed"] is False
    assert partition_admin.elect_preferred(KafkaReplicas(cluster), [], 10, 1, False)["changed"] is False
    assert "alter_partition_reassignments" not in cluster.calls and "elect_leaders" not in cluster.calls


def test_election_waits_for_the_metadata():
    cluster, clock = fake(), FakeClock()
    result = partition_admin.elect_preferred(KafkaReplicas(cluster), [dict(topic="orders", partition=0)], 60, 1,
                                             False, clock=clock, sleep=clock.sleep)
    assert result["partitions"] == [dict(topic="orders", partition=0, leader_before=3, leader_after=1, preferred=1)]


def test_a_stall_cancels_only_the_stalled_partition_and_names_the_others():
    cluster = FakeCluster({("orders", 0): dict(replicas=[1, 2, 3], isr=[1, 2, 3], leader=1),
                           ("orders", 1): dict(replicas=[1, 2, 3], isr=[1, 2, 3], leader=1)},
                          stuck=[("orders", 0), ("orders", 1)], sizes={("orders", 1): {4: 0}})
    clock = FakeClock()
    grow = cluster.describe_log_dirs

    def growing(wanted, brokers):
        cluster.sizes[("orders", 1)][4] += 10
        return grow(wanted, brokers)

    cluster.describe_log_dirs = growing
    targets = TARGET + [dict(topic="orders", partition=1, replicas=[1, 2, 4])]
    try:
        partition_admin.reassign(KafkaReplicas(cluster), targets, timeout=300, stall_timeout=30, poll_interval=10,
                                 check_mode=False, clock=clock, sleep=clock.sleep)
    except ModuleError as error:
        assert str(error).endswith("; still running, not cancelled: orders-1")
        assert [s["partition"] for s in error.details["stalled"]] == [0]
    else:
        raise AssertionError("a stalled copy was not cancelled")
    assert cluster.partitions[("orders", 0)]["running"] is None and cluster.partitions[("orders", 1)]["running"]


def bursty(cluster):
    """A throttled copy: its added replica grows at every other log size read only, and is in sync after 8."""
    cluster.sizes[("orders", 0)] = {4: 0}
    cluster.stuck.add(("orders", 0))
    reads = []
    grow = cluster.describe_log_dirs

    def every_other(wanted, brokers):
        reads.append(1)
        if len(reads) % 2 == 0:
            cluster.sizes[("orders", 0)][4] += 1024
        if len(reads) == 8:
            cluster.stuck.clear()
        return grow(wanted, brokers)

    cluster.describe_log_dirs = every_other


def test_a_throttled_copy_that_grows_in_bursts_is_no_stall_but_the_same_unthrottled_is():
    # Each read is a 10 s poll; the copy sits still for 20 s between bursts, 4 times the stall timeout.
    cluster, clock = fake(), FakeClock()
    bursty(cluster)
    result = partition_admin.reassign(KafkaReplicas(cluster), TARGET, timeout=300, stall_timeout=5,
                                      poll_interval=10, check_mode=False, clock=clock, sleep=clock.sleep,
                                      throttle=1024)
    assert result["partitions"][0]["waited"] == 80.0 and result["throttle"]["rate"] == 1024
    cluster, clock = fake(), FakeClock()
    bursty(cluster)
    try:
        partition_admin.reassign(KafkaReplicas(cluster), TARGET, timeout=300, stall_timeout=5, poll_interval=10,
                                 check_mode=False, clock=clock, sleep=clock.sleep)
    except ModuleError as error:
        assert error.details["stalled"][0]["partition"] == 0 and "throttle" not in error.details
    else:
        raise AssertionError("an unthrottled copy that sat still was not cancelled")


def test_a_stuck_throttled_copy_is_cancelled_after_two_quota_windows():
    cluster, clock = fake(stuck=[("orders", 0)]), FakeClock()
    try:
        partition_admin.reassign(KafkaReplicas(cluster), TARGET, timeout=300, stall_timeout=5, poll_interval=1,
                                 check_mode=False, clock=clock, sleep=clock.sleep, throttle=1024)
    except ModuleError as error:
        assert error.details["stalled"][0]["seconds"] == 22.0 and error.details["throttle"]["rate"] == 1024
    else:
        raise AssertionError("a stuck throttled copy was not cancelled")
    assert cluster.partitions[("orders", 0)]["running"] is None and not any(cluster.broker_configs.values())
