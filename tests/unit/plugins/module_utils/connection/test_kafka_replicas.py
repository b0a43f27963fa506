# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kafka_replicas turns kafka-python's admin answers into plain dicts keyed by (topic, partition)."""

from types import SimpleNamespace

from kafka import TopicPartition

from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection import kafka_client
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.kafka_replicas import KafkaReplicas

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.fake_cluster import FakeCluster


class Answers:
    """A KafkaBrokers stand-in that answers each admin call with a canned value and records the arguments."""

    def __init__(self, **answers):
        self.answers = answers
        self.asked = []

    def admin_call(self, what, method, *args, **kwargs):
        self.asked.append((method, args, kwargs))
        return self.answers[method]


def test_empty_questions_ask_nothing():
    brokers = Answers()
    replicas = KafkaReplicas(brokers)
    assert (replicas.partition_states([]), replicas.reassignments([]), replicas.log_sizes([("t", 0)], []),
            replicas.log_sizes([], [1]), replicas.topic_configs([]), replicas.reassign({}),
            replicas.elect_preferred([]), replicas.broker_configs([], ["x"]), replicas.topic_overrides([], ["x"]),
            replicas.alter_configs({}, {"t": {}})) == ({}, {}, {}, {}, {}, {}, {}, {}, {}, {})
    assert brokers.asked == []


def test_partition_states_unknown_topic_and_no_leader():
    brokers = Answers(describe_topics=[
        dict(error_code=0, name="t",
             partitions=[dict(partition_index=0, leader_id=-1, replica_nodes=[2, 1], isr_nodes=[])]),
        dict(error_code=3, name="gone", partitions=[])])
    assert KafkaReplicas(brokers).partition_states(["t", "gone"]) == {
        "t": {0: dict(replicas=[2, 1], isr=[], leader=None)}, "gone": None}
    assert brokers.asked[0][1] == (["gone", "t"],)


def test_log_sizes_sum_log_dirs_and_skip_future_and_failed_dirs():
    fake = FakeCluster({("t", 0): dict(replicas=[1], isr=[1], leader=1)}, sizes={("t", 0): {1: 10, 2: 20}})
    assert KafkaReplicas(fake).log_sizes([("t", 0), ("t", 0)], [2, 1, 3]) == {("t", 0): {1: 10, 2: 20}}
    fake.down = {2}
    assert KafkaReplicas(fake).log_sizes([("t", 0)], [2, 1]) == {("t", 0): {1: 10}}
    fake.down = {1, 2}
    assert KafkaReplicas(fake).log_sizes([("t", 0)], [2, 1]) == {}
    two_dirs = [dict(error_code=0, topics=[dict(name="t", partitions=[dict(partition_index=0, partition_size=size)])])
                for size in (5, 6)]
    brokers = Answers(describe_cluster=dict(brokers=[dict(broker_id=1), dict(broker_id=2, is_fenced=True)]),
                      describe_log_dirs=[dict(broker=1, log_dirs=two_dirs)])
    assert KafkaReplicas(brokers).log_sizes([("t", 0)], [1]) == {("t", 0): {1: 11}}
    assert KafkaReplicas(brokers).log_sizes([("t", 0)], [1, 2]) == {("t", 0): {1: 11}}
    assert brokers.asked[1] == ("describe_log_dirs", ({"t": [0]}, [1]), {})


def test_topic_configs_ask_for_the_four_with_defaults():
    fake = FakeCluster({}, configs={"t": {"cleanup.policy": "compact"}})
    assert KafkaReplicas(fake).topic_configs(["t"]) == {"t": {
        "min.insync.replicas": None, "unclean.leader.election.enable": None, "remote.storage.enable": None,
        "cleanup.policy": "compact"}}


def test_reassign_reports_refusals_and_silence():
    brokers = Answers(alter_partition_reassignments={TopicPartition("t", 0): None,
                                                     TopicPartition("t", 1): kafka_client.load_kafka().errors
                                                     .NoReassignmentInProgressError})
    refused = KafkaReplicas(brokers).reassign({("t", 0): ["2", 1], ("t", 1): None, ("t", 2): [1]})
    assert refused == {("t", 1): "NoReassignmentInProgressError", ("t", 2): "no answer"}
    assert brokers.asked[0][1][0] == {TopicPartition("t", 0): [2, 1], TopicPartition("t", 1): None,
                                      TopicPartition("t", 2): [1]}


def test_elect_preferred_top_level_error_and_messages():
    result = SimpleNamespace(topic="t", partition_result=[
        SimpleNamespace(partition_id=0, error_code=0, error_message=None),
        SimpleNamespace(partition_id=1, error_code=84, error_message="not needed"),
        SimpleNamespace(partition_id=2, error_code=80, error_message="broker 3 is down")])
    brokers = Answers(elect_leaders=SimpleNamespace(error_code=0, replica_election_results=[result]))
    assert KafkaReplicas(brokers).elect_preferred([("t", 0), ("t", 1), ("t", 2)]) == {
        ("t", 2): "PreferredLeaderNotAvailableError: broker 3 is down"}
    assert brokers.asked[0][1] == (0, {"t": [0, 1, 2]}) and brokers.asked[0][2] == dict(raise_errors=False)
    denied = Answers(elect_leaders=SimpleNamespace(error_code=31, replica_election_results=[
        SimpleNamespace(topic="t", partition_result=[SimpleNamespace(partition_id=0, error_code=0,
                                                                     error_message=None)])]))
    assert list(KafkaReplicas(denied).elect_preferred([("t", 0)]).values())[0].startswith(
        "ClusterAuthorizationFailedError: ")
    nothing = Answers(elect_leaders=SimpleNamespace(error_code=41, replica_election_results=[]))
    assert KafkaReplicas(nothing).elect_preferred([("t", 0), ("u", 1)]) == {
        ("t", 0): "NotControllerError: This is not the correct controller for this cluster.",
        ("u", 1): "NotControllerError: This is not the correct controller for this cluster."}


def test_admin_call_is_the_clients_own_call():
    brokers = kafka_client.KafkaBrokers({}, ["k1:9092"])
    brokers._admin = SimpleNamespace(list_partition_reassignments=lambda wanted: {"asked": wanted})  # pylint: disable=protected-access
    assert brokers.admin_call("the listing", "list_partition_reassignments", {"t": [0]}) == {"asked": {"t": [0]}}


def test_broker_configs_and_topic_overrides_keep_kafkas_source():
    brokers = Answers(describe_configs={
        "broker": {"1": {"leader.replication.throttled.rate": dict(value="5", config_source="DYNAMIC_BROKER_CONFIG")}},
        "topic": {"t": {"leader.replication.throttled.replicas": dict(value="0:1", config_source="DYNAMIC_TOPIC_CONFIG"),
                        "follower.replication.throttled.replicas": dict(value="", config_source="DEFAULT_CONFIG")}}})
    replicas = KafkaReplicas(brokers)
    assert replicas.broker_configs([2, 1], ["leader.replication.throttled.rate"]) == {
        1: {"leader.replication.throttled.rate": dict(value="5", source="DYNAMIC_BROKER_CONFIG")}, 2: {}}
    asked = brokers.asked[0][1][0]
    assert [(r.resource_type.name, r.name, r.configs) for r in asked] == [
        ("BROKER", "1", ["leader.replication.throttled.rate"]), ("BROKER", "2", ["leader.replication.throttled.rate"])]
    assert replicas.topic_overrides(["t", "u"], ["leader.replication.throttled.replicas",
                                                 "follower.replication.throttled.replicas"]) == {
        "t": {"leader.replication.throttled.replicas": "0:1", "follower.replication.throttled.replicas": None},
        "u": {"leader.replication.throttled.replicas": None, "follower.replication.throttled.replicas": None}}


def test_alter_configs_is_incremental_and_names_refusals():
    brokers = Answers(alter_configs={"broker": {"1": "OK", "2": "[Error 42] InvalidRequestError: bad"},
                                     "topic": {}})
    refused = KafkaReplicas(brokers).alter_configs({1: {"a": "5"}, 2: {"a": None}, 3: {}}, {"t": {"b": "0:1"}})
    assert refused == {"broker 2": "[Error 42] InvalidRequestError: bad", "topic t": "no answer"}
    method, args, kwargs = brokers.asked[0]
    assert method == "alter_configs" and kwargs == dict(raise_on_unknown=False, incremental=True)
    assert [(r.resource_type.name, r.name, {k: (op.name, v) for k, (op, v) in r.configs.items()}) for r in args[0]] == [
        ("BROKER", "1", {"a": ("SET", "5")}), ("BROKER", "2", {"a": ("DELETE", None)}), ("TOPIC", "t", {"b": ("SET", "0:1")})]
