# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A fake Kafka cluster behind KafkaBrokers.admin_call, answering kafka-python 3.x's admin calls with their shapes
(describe_topics, list_partition_reassignments, describe_log_dirs, describe_configs, alter_configs,
alter_partition_reassignments, elect_leaders), so the unit tests drive kafka_replicas and the modules' main().

Topic configs set on a topic are ``configs``; configs set on a broker itself are ``broker_configs`` {broker:
{name: value}}. ``config_log`` records each config change, ``refuse_configs`` {'broker 1': error} refuses one;
``quota_window_samples`` is every broker's replication.quota.window.num.

A reassignment completes after ``steps`` metadata reads (0: at the next read); a partition in ``stuck`` never
completes and its added replicas never grow. An election takes effect at the next metadata read.

KRaft: ``voters`` {node: (log end offset, last caught-up timestamp)} and ``quorum_leader`` answer
describe_metadata_quorum (``voters=None``: ZooKeeper-mode brokers, which do not support it);
describe_topic_partitions pages ``page`` partitions at a time and reports ``elr`` {(topic, partition): [...]}
(``elr=None``: brokers before 3.7, which do not support it). ``brokers`` are the registered ids, ``down`` the
fenced ones.
"""

from __future__ import annotations

from types import SimpleNamespace

from kafka import TopicPartition
from kafka import errors as kafka_errors

from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.kafka_client import UnsupportedByBrokers


class FakeCluster:

    def __init__(self, partitions, configs=None, sizes=None, steps=0, stuck=(), refuse=None, refuse_election=None,
                 broker_configs=None, refuse_configs=None, voters=None, quorum_leader=1, elr=None, page=2000,
                 brokers=range(1, 6), observers=None):
        # partitions: {(topic, partition): {"replicas": [...], "isr": [...], "leader": id}}
        self.partitions = {key: dict(state, running=None) for key, state in partitions.items()}
        self.configs = configs or {}
        self.sizes = sizes or {}
        self.steps = steps
        self.stuck = set(stuck)
        self.refuse = refuse or {}
        self.refuse_election = refuse_election or {}
        self.calls = []
        self.closed = False
        self.elections = {}
        self.down = set()
        self.broker_configs = broker_configs or {}
        self.refuse_configs = refuse_configs or {}
        self.config_log = []
        self.quota_window_samples = "11"
        self.voters = voters
        self.observers = observers or {}
        self.quorum_leader = quorum_leader
        self.elr = elr
        self.page = page
        self.brokers = list(brokers)

    # KafkaBrokers' entry point ----------------------------------------------------------------------------
    def admin_call(self, what, method, *args, **kwargs):
        self.calls.append(method)
        return getattr(self, method)(*args, **kwargs)

    def close(self):
        self.closed = True

    # Cluster behaviour -------------------------------------------------------------------------------------
    def start(self, key, target):
        """A reassignment as the controller starts it: the replicas become the target followed by those
        removed, the added ones are out of the ISR."""
        state = self.partitions[key]
        original = list(state["replicas"])
        adding = [b for b in target if b not in original]
        removing = [b for b in original if b not in target]
        state["running"] = dict(target=list(target), adding=adding, removing=removing, left=self.steps)
        state["replicas"] = list(target) + removing

    def tick(self):
        for key, state in self.partitions.items():
            if key in self.elections:
                state["leader"] = self.elections.pop(key)
            running = state["running"]
            if running is None or key in self.stuck:
                continue
            if running["left"] > 0:
                running["left"] -= 1
                for broker in running["adding"]:
                    self.sizes.setdefault(key, {})[broker] = self.sizes.get(key, {}).get(broker, 0) + 100
                continue
            state["replicas"] = running["target"]
            state["isr"] = [b for b in running["target"] if b in state["isr"] or b in running["adding"]]
            if state["leader"] not in running["target"]:
                state["leader"] = running["target"][0]
            state["running"] = None

    # kafka-python's admin calls ----------------------------------------------------------------------------
    def describe_topics(self, topics):
        self.tick()
        found = []
        for topic in sorted({t for t, _p in self.partitions}) if topics is None else topics:
            parts = [dict(error_code=0, partition_index=p, leader_id=-1 if s["leader"] is None else s["leader"],
                          leader_epoch=0, replica_nodes=list(s["replicas"]), isr_nodes=list(s["isr"]),
                          offline_replicas=[])
                     for (t, p), s in sorted(self.partitions.items()) if t == topic]
            found.append(dict(error_code=0 if parts else 3, name=topic, partitions=parts))
        return found

    def list_partition_reassignments(self, wanted):
        return {TopicPartition(topic, p): dict(replicas=list(self.partitions[(topic, p)]["replicas"]),
                                               adding_replicas=list(self.partitions[(topic, p)]["running"]["adding"]),
                                               removing_replicas=list(self.partitions[(topic, p)]["running"]["removing"]))
                for topic, parts in wanted.items() for p in parts
                if (topic, p) in self.partitions and self.partitions[(topic, p)]["running"]}

    def describe_cluster(self):
        return dict(cluster_id="fake", controller_id=1, brokers=[
            dict(broker_id=b, host=f"k{b}", port=9092, rack=None, is_fenced=b in self.down)
            for b in self.brokers])

    def describe_metadata_quorum(self):
        if self.voters is None:
            raise UnsupportedByBrokers("the brokers do not support DescribeQuorum (UnsupportedVersionError)")

        def state(node, held):
            return dict(replica_id=node, log_end_offset=held[0], last_fetch_timestamp=held[1],
                        last_caught_up_timestamp=held[1])
        return dict(topics=[dict(topic_name="__cluster_metadata", partitions=[dict(
            partition_index=0, leader_id=self.quorum_leader, leader_epoch=7, high_watermark=100, error=None,
            current_voters=[state(n, held) for n, held in self.voters.items()],
            observers=[state(n, held) for n, held in self.observers.items()])])])

    def describe_topic_partitions(self, topics, response_partition_limit=2000, cursor=None):
        if self.elr is None:
            raise UnsupportedByBrokers("the brokers do not support DescribeTopicPartitions (UnsupportedVersionError)")
        assert response_partition_limit == 2000, "Kafka's own page limit"
        self.tick()
        keys = sorted(key for key in self.partitions if not topics or key[0] in topics)
        if cursor is not None:
            keys = [key for key in keys if key >= (cursor["topic_name"], cursor["partition_index"])]
        shown, rest = keys[:self.page], keys[self.page:]
        found = {}
        for topic, p in shown:
            held = self.partitions[(topic, p)]
            elr = self.elr.get((topic, p))
            found.setdefault(topic, []).append(dict(
                error_code=0, partition_index=p, leader_id=-1 if held["leader"] is None else held["leader"],
                leader_epoch=0, replica_nodes=list(held["replicas"]), isr_nodes=list(held["isr"]),
                eligible_leader_replicas=elr or None,
                last_known_elr=None, offline_replicas=[]))
        answer = [dict(error_code=0, name=topic, partitions=parts) for topic, parts in found.items()]
        answer += [dict(error_code=3, name=topic, partitions=[]) for topic in topics or []
                   if not any(key[0] == topic for key in self.partitions)]
        next_cursor = dict(topic_name=rest[0][0], partition_index=rest[0][1]) if rest else None
        return dict(topics=answer, next_cursor=next_cursor)

    def describe_log_dirs(self, wanted, brokers):
        assert not set(brokers) & self.down, "DescribeLogDirs sent to a broker that is down"
        answers = []
        for broker in brokers:
            topics = {}
            for topic, parts in wanted.items():
                for p in parts:
                    size = self.sizes.get((topic, p), {}).get(broker)
                    if size is not None:
                        topics.setdefault(topic, []).append(dict(partition_index=p, partition_size=size,
                                                                 offset_lag=0, is_future_key=False))
            future = [dict(name="other", partitions=[dict(partition_index=0, partition_size=7, offset_lag=0,
                                                          is_future_key=True)])]
            answers.append(dict(broker=broker, log_dirs=[
                dict(error_code=0, log_dir="/data", topics=[dict(name=t, partitions=ps) for t, ps in topics.items()]),
                dict(error_code=0, log_dir="/data2", topics=future),
                dict(error_code=56, log_dir="/broken", topics=[])]))
        return answers

    def describe_configs(self, resources, config_filter=None):
        assert config_filter == "all"
        found = {}
        for resource in resources:
            if resource.resource_type.name == "BROKER":
                assert int(resource.name) not in self.down, "DescribeConfigs sent to a broker that is down"
                held = {name: dict(value=value, config_source="DYNAMIC_BROKER_CONFIG")
                        for name, value in self.broker_configs.get(int(resource.name), {}).items()}
                held.setdefault("replication.quota.window.num",
                                dict(value=self.quota_window_samples, config_source="DEFAULT_CONFIG"))
                found.setdefault("broker", {})[resource.name] = {
                    name: entry for name, entry in held.items() if name in resource.configs}
            else:
                found.setdefault("topic", {})[resource.name] = {
                    name: dict(value=value, config_source="DYNAMIC_TOPIC_CONFIG")
                    for name, value in self.configs.get(resource.name, {}).items()}
        return found

    def alter_configs(self, resources, raise_on_unknown=True, incremental=None):
        assert incremental is True and raise_on_unknown is False
        answers = {}
        for resource in resources:
            kind = resource.resource_type.name.lower()
            label = f"{kind} {resource.name}"
            if label in self.refuse_configs:
                answers.setdefault(kind, {})[resource.name] = self.refuse_configs[label]
                continue
            held = (self.broker_configs.setdefault(int(resource.name), {}) if kind == "broker"
                    else self.configs.setdefault(resource.name, {}))
            for name, (op, value) in resource.configs.items():
                self.config_log.append((label, name, op.name, value))
                if op.name == "DELETE":
                    held.pop(name, None)
                else:
                    held[name] = value
            answers.setdefault(kind, {})[resource.name] = "OK"
        return answers

    def alter_partition_reassignments(self, asked):
        answers = {}
        for tp, target in asked.items():
            key = (tp.topic, tp.partition)
            if key in self.refuse:
                answers[tp] = getattr(kafka_errors, self.refuse[key])
                continue
            if target is None:
                running = self.partitions[key]["running"]
                if running is None:
                    answers[tp] = kafka_errors.NoReassignmentInProgressError
                    continue
                self.partitions[key]["replicas"] = [b for b in self.partitions[key]["replicas"]
                                                    if b not in running["adding"]]
                self.partitions[key]["running"] = None
            else:
                self.start(key, target)
            answers[tp] = None
        return answers

    def elect_leaders(self, election_type, wanted, raise_errors=True):
        assert election_type == 0 and raise_errors is False
        results = []
        for topic, parts in wanted.items():
            outcome = []
            for p in parts:
                key = (topic, p)
                state = self.partitions[key]
                if key in self.refuse_election:
                    code = self.refuse_election[key]
                elif state["leader"] == state["replicas"][0]:
                    code = kafka_errors.ElectionNotNeededError.errno
                else:
                    code = 0
                    self.elections[key] = state["replicas"][0]
                outcome.append(SimpleNamespace(partition_id=p, error_code=code, error_message=None))
            results.append(SimpleNamespace(topic=topic, partition_result=outcome))
        return SimpleNamespace(error_code=0, replica_election_results=results)
