# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""partition_info, partition_reassignment and leader_election through main() against a fake cluster."""

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.kafka_client import KafkaClientError
from ansible_collections.kafka_ops.remediation.plugins.modules import (
    leader_election, partition_info, partition_reassignment)

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.fake_cluster import FakeCluster
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.module_harness import run_module

KAFKA = dict(kafka_bootstrap_servers=["k1:9092"])
CONFIGS = {"orders": {"min.insync.replicas": "2", "unclean.leader.election.enable": "false",
                      "remote.storage.enable": "false", "cleanup.policy": "delete"}}


def cluster(**kwargs):
    return FakeCluster({("orders", 0): dict(replicas=[1, 2, 3], isr=[1, 2, 3], leader=1),
                        ("orders", 1): dict(replicas=[2, 3, 1], isr=[2, 3, 1], leader=3)},
                       configs=CONFIGS, sizes={("orders", 0): {1: 900, 2: 1000, 3: 950}}, **kwargs)


def reassign(fake, partitions, check_mode=False, diff=False, **options):
    args = dict(KAFKA, partitions=partitions, poll_interval=0.001, **options)
    return run_module(partition_reassignment.main, args, None, fake, check_mode=check_mode, diff=diff)


# partition_info -----------------------------------------------------------------------------------------------

def test_partition_info_every_partition_of_a_topic():
    fake = cluster(stuck=[("orders", 1)])
    fake.start(("orders", 1), [2, 3, 4])
    result = run_module(partition_info.main, dict(KAFKA, topics=["orders"]), None, fake)
    assert result["changed"] is False and fake.closed
    assert result["partitions"] == [
        dict(topic="orders", partition=0, replicas=[1, 2, 3], isr=[1, 2, 3], leader=1, reassignment=None,
             size_bytes=1000, configs=dict(min_insync_replicas=2, unclean_leader_election=False,
                                           remote_storage=False, cleanup_policy="delete")),
        dict(topic="orders", partition=1, replicas=[2, 3, 4, 1], isr=[2, 3, 1], leader=3,
             reassignment=dict(adding=[4], removing=[1]), size_bytes=0,
             configs=dict(min_insync_replicas=2, unclean_leader_election=False, remote_storage=False,
                          cleanup_policy="delete"))]


def test_partition_info_listed_partitions_ignore_other_keys_and_run_in_check_mode():
    asked = [dict(topic="orders", partition=1, replicas=[7], damaged=[1])]
    result = run_module(partition_info.main, dict(KAFKA, partitions=asked), None, cluster(), check_mode=True)
    assert [(p["topic"], p["partition"], p["leader"]) for p in result["partitions"]] == [("orders", 1, 3)]


@pytest.mark.parametrize("args, message", [
    (dict(topics=["nope"]), "topic 'nope' does not exist: check its name (kafka-topics --list)"),
    (dict(partitions=[dict(topic="orders", partition=5)]),
     "partition orders-5 does not exist: topic 'orders' has partitions 0, 1; check the partition numbers"),
    (dict(partitions=[dict(topic="orders")]), "partitions entry {'topic': 'orders'} needs a topic and a partition "
                                              "number"),
])
def test_partition_info_unknown_is_one_line(args, message):
    result = run_module(partition_info.main, dict(KAFKA, **args), None, cluster())
    assert result["failed"] and result["msg"] == message and "exception" not in result


def test_partition_info_needs_topics_or_partitions():
    result = run_module(partition_info.main, dict(KAFKA), None, cluster())
    assert result["failed"] and "topics, partitions" in result["msg"]


# partition_reassignment ---------------------------------------------------------------------------------------

def test_reassignment_submits_once_and_waits_until_in_sync():
    fake = cluster(steps=2)
    result = reassign(fake, [dict(topic="orders", partition=0, replicas=[2, 3, 4]),
                             dict(topic="orders", partition=1, replicas=[2, 3, 1])], diff=True)
    assert result["changed"] and not result.get("failed"), result.get("msg")
    assert fake.calls.count("alter_partition_reassignments") == 1
    assert fake.partitions[("orders", 0)]["replicas"] == [2, 3, 4] and fake.partitions[("orders", 0)]["leader"] == 2
    first, second = result["partitions"]
    assert (first["before"], first["after"], first["submitted"]) == ([1, 2, 3], [2, 3, 4], True)
    assert first["waited"] >= 0 and second["submitted"] is False and second["before"] == second["after"]
    assert result["plan"]["done"] == [dict(topic="orders", partition=1)]
    assert result["diff"] == dict(before={"orders-0": [1, 2, 3], "orders-1": [2, 3, 1]},
                                  after={"orders-0": [2, 3, 4], "orders-1": [2, 3, 1]})
    assert result["msg"].startswith("reassigned orders-0;")


def test_reassignment_at_target_changes_nothing():
    fake = cluster()
    result = reassign(fake, [dict(topic="orders", partition=0, replicas=[1, 2, 3])])
    assert result["changed"] is False and "alter_partition_reassignments" not in fake.calls


def test_reassignment_check_mode_submits_nothing():
    fake = cluster()
    result = reassign(fake, [dict(topic="orders", partition=0, replicas=[2, 1, 3])], check_mode=True)
    assert result["changed"] and result["plan"]["submit"] == [dict(topic="orders", partition=0, replicas=[2, 1, 3])]
    assert "alter_partition_reassignments" not in fake.calls and fake.partitions[("orders", 0)]["replicas"] == [1, 2, 3]
    assert result["msg"] == "would reassign orders-0; 0 already at their target"


def test_reassignment_running_to_the_same_target_is_waited_for():
    fake = cluster(steps=1)
    fake.start(("orders", 0), [1, 2, 4])
    result = reassign(fake, [dict(topic="orders", partition=0, replicas=[1, 2, 4])])
    assert result["changed"] and "alter_partition_reassignments" not in fake.calls
    assert result["partitions"][0]["before"] == [1, 2, 3] and result["plan"]["wait"] == [dict(topic="orders",
                                                                                              partition=0)]
    assert "waited for orders-0" in result["msg"]


def test_reassignment_running_to_another_target_is_refused():
    fake = cluster(stuck=[("orders", 0)])
    fake.start(("orders", 0), [1, 2, 4])
    result = reassign(fake, [dict(topic="orders", partition=0, replicas=[1, 2, 5])])
    assert result["failed"] and result["msg"] == (
        "partition orders-0: a reassignment to [1, 2, 4] is running (adding [4], removing [3]), not to [1, 2, 5]: "
        "let it finish or cancel it (kafka-reassign-partitions --cancel), then rerun")
    assert "alter_partition_reassignments" not in fake.calls


def test_reassignment_refused_by_the_controller():
    result = reassign(cluster(refuse={("orders", 0): "InvalidReplicationAssignmentError"}),
                      [dict(topic="orders", partition=0, replicas=[1, 2, 9])])
    assert result["failed"] and result["msg"] == ("the controller refused the reassignment for partition orders-0 "
                                                  "(InvalidReplicationAssignmentError)")
    assert result["partitions"][0]["submitted"] is True


def test_reassignment_stall_is_cancelled():
    fake = cluster(stuck=[("orders", 0)])
    fake.sizes[("orders", 0)][4] = 4096
    result = reassign(fake, [dict(topic="orders", partition=0, replicas=[1, 2, 4])], stall_timeout=0.02,
                      timeout=30)
    assert result["failed"] and result["msg"].startswith(
        "the reassignment stalled: partition orders-0: the added replica(s) on brokers [4] stopped growing for ")
    assert "(broker 4 4096 bytes copied); cancelled, its replicas are back to where they were" in result["msg"]
    assert result["stalled"][0]["brokers"] == [4] and fake.partitions[("orders", 0)]["running"] is None
    assert fake.partitions[("orders", 0)]["replicas"] == [1, 2, 3]


def test_reassignment_timeout_leaves_it_running():
    fake = cluster(stuck=[("orders", 0)])
    result = reassign(fake, [dict(topic="orders", partition=0, replicas=[1, 2, 4])], stall_timeout=0, timeout=0.02)
    assert result["failed"] and result["msg"].startswith("the reassignment did not complete within 0.02 s: orders-0 "
                                                         "replicas [1, 2, 4, 3] ISR [1, 2, 3] (target [1, 2, 4], "
                                                         "adding [4]). It keeps running")
    assert result["unfinished"][0]["adding"] == [4] and fake.partitions[("orders", 0)]["running"] is not None


@pytest.mark.parametrize("partitions, message", [
    ([dict(topic="orders", partition=0, replicas=[])], "partition orders-0: no replicas given"),
    ([dict(topic="orders", partition=0, replicas=[1, 1])], "partition orders-0: replicas [1, 1] name a broker twice"),
    ([dict(topic="orders", partition=9, replicas=[1])], "partition orders-9 does not exist"),
])
def test_reassignment_bad_targets(partitions, message):
    result = reassign(cluster(), partitions)
    assert result["failed"] and result["msg"].startswith(message)


# leader_election ----------------------------------------------------------------------------------------------

def test_election_moves_the_leader_to_the_preferred_replica():
    fake = cluster()
    result = run_module(leader_election.main, dict(KAFKA, partitions=[dict(topic="orders", partition=0),
                                                                      dict(topic="orders", partition=1)],
                                                   poll_interval=0.001), None, fake)
    assert result["changed"] and not result.get("failed"), result.get("msg")
    assert result["partitions"] == [
        dict(topic="orders", partition=0, leader_before=1, leader_after=1, preferred=1),
        dict(topic="orders", partition=1, leader_before=3, leader_after=2, preferred=2)]
    assert fake.partitions[("orders", 1)]["leader"] == 2
    assert result["msg"] == "elected the preferred leader of orders-1; 1 already led by it"


def test_election_not_needed_and_check_mode_change_nothing():
    fake = cluster()
    led = run_module(leader_election.main, dict(KAFKA, partitions=[dict(topic="orders", partition=0)]), None, fake)
    assert led["changed"] is False and "elect_leaders" not in fake.calls
    would = run_module(leader_election.main, dict(KAFKA, partitions=[dict(topic="orders", partition=1)]), None, fake,
                       check_mode=True)
    assert would["changed"] and would["partitions"][0]["leader_after"] == 2 and "elect_leaders" not in fake.calls
    assert fake.partitions[("orders", 1)]["leader"] == 3 and would["msg"].startswith("would elect")


def test_election_refusals():
    fake = cluster()
    fake.partitions[("orders", 1)]["isr"] = [3, 1]
    out = run_module(leader_election.main, dict(KAFKA, partitions=[dict(topic="orders", partition=1)]), None, fake)
    assert out["failed"] and out["msg"].startswith("partition orders-1: the preferred replica 2 is not in the ISR")
    refused = run_module(leader_election.main, dict(KAFKA, partitions=[dict(topic="orders", partition=1)]), None,
                         cluster(refuse_election={("orders", 1): 80}))
    assert refused["failed"] and refused["msg"] == (
        "the controller refused the preferred leader election for partition orders-1 "
        "(PreferredLeaderNotAvailableError: The preferred leader was not available.)")


def test_election_timeout_names_the_leader():
    fake = cluster()
    fake.elect_leaders = lambda *args, **kwargs: type("R", (), dict(error_code=0, replica_election_results=[]))()
    out = run_module(leader_election.main, dict(KAFKA, partitions=[dict(topic="orders", partition=1)], timeout=0.01,
                                                poll_interval=0.001), None, fake)
    assert out["failed"] and out["msg"] == ("the preferred replicas did not take the lead within 0.01 s: partition "
                                            "orders-1 led by 3, not 2: check the brokers' controller.log, then rerun")


# partition_reassignment with a throttle ------------------------------------------------------------------------

RATES = ("leader.replication.throttled.rate", "follower.replication.throttled.rate")
LISTS = ("leader.replication.throttled.replicas", "follower.replication.throttled.replicas")
READD = [dict(topic="orders", partition=0, replicas=[1, 2, 4])]
ORDERS_THROTTLE = dict(rate=2048, brokers=[1, 2, 3, 4], topics={"orders": dict(leader=["0:1", "0:2", "0:3"],
                                                                               follower=["0:4"])})


def seen_at_submit(fake):
    """Records the throttle configs as they are when the reassignment is submitted."""
    seen = []
    submit = fake.alter_partition_reassignments

    def recording(asked):
        if any(target is not None for target in asked.values()):
            seen.append(({b: dict(c) for b, c in fake.broker_configs.items()}, dict(fake.configs["orders"])))
        return submit(asked)

    fake.alter_partition_reassignments = recording
    return seen


def test_throttle_is_set_for_the_copy_and_lifted_after():
    fake = cluster(steps=2)
    seen = seen_at_submit(fake)
    result = reassign(fake, READD, throttle=2048)
    assert result["changed"] and not result.get("failed"), result.get("msg")
    assert result["throttle"] == ORDERS_THROTTLE
    brokers_then, topic_then = seen[0]
    assert brokers_then == {b: {RATES[0]: "2048", RATES[1]: "2048"} for b in (1, 2, 3, 4)}
    assert (topic_then[LISTS[0]], topic_then[LISTS[1]]) == ("0:1,0:2,0:3", "0:4")
    assert fake.broker_configs == {b: {} for b in (1, 2, 3, 4)} and fake.configs == CONFIGS
    assert result["msg"].endswith("; replication throttled to 2048 bytes/s on brokers 1, 2, 3, 4 during the copy, "
                                  "lifted since")


def test_throttle_restores_values_that_were_there_and_keeps_others_pairs():
    fake = cluster(steps=1, broker_configs={1: {RATES[0]: "999"}})
    fake.configs = {"orders": dict(CONFIGS["orders"], **{LISTS[0]: "1:3"})}
    reassign(fake, READD, throttle=2048)
    assert fake.broker_configs == {1: {RATES[0]: "999"}, 2: {}, 3: {}, 4: {}}
    assert fake.configs["orders"][LISTS[0]] == "1:3" and LISTS[1] not in fake.configs["orders"]
    assert ("topic orders", LISTS[0], "SET", "1:3,0:1,0:2,0:3") in fake.config_log


def test_throttle_check_mode_reports_and_sets_nothing():
    fake = cluster()
    result = reassign(fake, READD, check_mode=True, throttle=2048)
    assert result["changed"] and result["throttle"] == ORDERS_THROTTLE and fake.config_log == []
    assert result["msg"] == ("would reassign orders-0; 0 already at their target; would throttle replication to "
                             "2048 bytes/s on brokers 1, 2, 3, 4")


def test_throttle_on_a_reorder_or_a_partition_at_its_target_sets_nothing():
    fake = cluster()
    result = reassign(fake, [dict(topic="orders", partition=0, replicas=[2, 1, 3]),
                             dict(topic="orders", partition=1, replicas=[2, 3, 1])], throttle=2048)
    assert result["changed"] and "throttle" not in result and fake.config_log == []
    assert "describe_cluster" not in fake.calls and "describe_configs" not in fake.calls


def test_rerun_after_an_interrupted_throttled_run_converges():
    # The first run set the throttle, submitted, and was killed: its reassignment and throttle are still there.
    fake = cluster(steps=1, broker_configs={b: {RATES[0]: "2048", RATES[1]: "2048"} for b in (1, 2, 3, 4)})
    fake.configs = {"orders": dict(CONFIGS["orders"], **{LISTS[0]: "0:1,0:2,0:3", LISTS[1]: "0:4"})}
    fake.start(("orders", 0), [1, 2, 4])
    result = reassign(fake, READD, throttle=2048)
    assert result["changed"] and result["plan"]["wait"] == [dict(topic="orders", partition=0)]
    assert result["throttle"] == ORDERS_THROTTLE and "alter_partition_reassignments" not in fake.calls
    assert fake.broker_configs == {b: {} for b in (1, 2, 3, 4)} and fake.configs == CONFIGS
    again = reassign(fake, READD, throttle=2048)
    assert again["changed"] is False and "throttle" not in again


def test_throttle_refused_submits_nothing_and_lifts_the_rest():
    fake = cluster(refuse_configs={"broker 3": "[Error 42] InvalidRequestError: no"})
    result = reassign(fake, READD, throttle=2048)
    assert result["failed"] and result["msg"] == ("the replication throttle was refused, nothing was submitted: "
                                                  "broker 3: [Error 42] InvalidRequestError: no")
    assert "alter_partition_reassignments" not in fake.calls and result["throttle"] == ORDERS_THROTTLE
    assert not any(fake.broker_configs.values()) and fake.configs == CONFIGS


def test_throttle_lifted_after_a_stall_and_after_a_timeout():
    fake = cluster(stuck=[("orders", 0)])
    fake.quota_window_samples = "0"
    stalled = reassign(fake, READD, stall_timeout=0.001, timeout=30, throttle=2048)
    assert stalled["failed"] and stalled["msg"].startswith("the reassignment stalled") and stalled["stalled"]
    assert stalled["throttle"] == ORDERS_THROTTLE and fake.broker_configs == {b: {} for b in (1, 2, 3, 4)}
    fake = cluster(stuck=[("orders", 0)])
    timed_out = reassign(fake, READD, stall_timeout=0, timeout=0.02, throttle=2048)
    assert timed_out["failed"] and timed_out["unfinished"] and fake.partitions[("orders", 0)]["running"]
    assert fake.broker_configs == {b: {} for b in (1, 2, 3, 4)} and fake.configs == CONFIGS


def test_throttle_someone_changed_during_the_copy_is_left():
    fake = cluster(steps=1)
    submit = fake.alter_partition_reassignments

    def operator_raises_the_rate(asked):
        fake.broker_configs[2][RATES[0]] = "1000000"
        return submit(asked)

    fake.alter_partition_reassignments = operator_raises_the_rate
    reassign(fake, READD, throttle=2048)
    assert fake.broker_configs == {1: {}, 2: {RATES[0]: "1000000"}, 3: {}, 4: {}}


def test_throttle_not_lifted_fails_naming_it():
    fake = cluster(steps=1, refuse_configs={})
    submit = fake.alter_partition_reassignments

    def broker_goes_down(asked):
        fake.down.add(3)
        return submit(asked)

    fake.alter_partition_reassignments = broker_goes_down
    result = reassign(fake, READD, throttle=2048)
    assert result["failed"] and result["msg"].startswith("the replication throttle was not lifted (broker 3 is not "
                                                         "up): remove it with kafka-configs")
    assert result["partitions"][0]["after"] == [1, 2, 4] and result["throttle"] == ORDERS_THROTTLE
    assert fake.broker_configs[3] == {RATES[0]: "2048", RATES[1]: "2048"}


def test_throttle_not_lifted_after_a_failure_says_both():
    fake = cluster(stuck=[("orders", 0)])
    describe = fake.describe_configs
    reads = []

    def unreadable_later(resources, config_filter=None):
        reads.append(1)
        if len(reads) > 2:
            raise KafkaClientError("brokers did not answer the broker config description (DescribeConfigs) within 1 s")
        return describe(resources, config_filter=config_filter)

    fake.describe_configs = unreadable_later
    result = reassign(fake, READD, stall_timeout=0, timeout=0.02, throttle=2048)
    assert result["failed"] and result["msg"].startswith("the reassignment did not complete within 0.02 s")
    assert "; the replication throttle was not lifted (brokers did not answer the broker config description" in \
        result["msg"]
    assert result["unfinished"] and result["throttle"] == ORDERS_THROTTLE


def test_throttle_must_not_be_negative():
    result = reassign(cluster(), READD, throttle=-1)
    assert result["failed"] and result["msg"] == "throttle must be 0 (none) or a rate in bytes per second, got -1"


def test_throttle_not_lifted_after_a_broker_error_says_both():
    fake = cluster(stuck=[("orders", 0)])
    describe = fake.describe_topics

    def broker_lost(topics):
        if "alter_partition_reassignments" in fake.calls:
            fake.down.add(3)
            raise KafkaClientError("brokers did not answer the topic metadata request within 1 s")
        return describe(topics)

    fake.describe_topics = broker_lost
    result = reassign(fake, READD, throttle=2048)
    assert result["failed"] and result["msg"].startswith(
        "brokers did not answer the topic metadata request within 1 s; the replication throttle was not lifted "
        "(broker 3 is not up)")
    assert result["throttle"] == ORDERS_THROTTLE and fake.broker_configs[1] == {}
