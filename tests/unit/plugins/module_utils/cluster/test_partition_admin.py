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
