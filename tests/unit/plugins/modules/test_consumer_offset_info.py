# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""consumer_offset_info's main() against fake ZooKeeper and Kafka clients."""

from ansible_collections.kafka_ops.remediation.plugins.modules import consumer_offset_info

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.billing_group import OFFSETS, ZK_ARGS, cluster, kafka
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.fake_zookeeper import FakeZooKeeper
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.module_harness import FakeBrokers, run_module


def test_offset_info_rows_table_and_strays():
    zk = cluster(offsets={0: 5, 1: 150})
    zk.put(f"{OFFSETS}/7", b"3")
    zk.put("/consumers/billing/offset/orders/0", b"9")
    zk.put("/consumers/billing/owners/orders/0", b"billing_app1-0")
    result = run_module(consumer_offset_info.main, dict(ZK_ARGS, groups=["billing", "ghost"]), zk, kafka())
    assert [(r["partition"], r["offset"], r["lag"], r["above_log_end"], r["owner"]) for r in result["offsets"]] == [
        (0, 5, 95, False, "billing_app1-0"), (1, 150, -50, True, None)]
    assert [s["path"] for s in result["stray_nodes"]] == ["/consumers/billing/offset/orders/0", f"{OFFSETS}/7"]
    assert [(g["group"], g["state"]) for g in result["groups"]] == [("billing", "inactive"), ("ghost", "absent")]
    assert result["table"][0].split() == ["Group", "Topic", "Pid", "Offset", "logSize", "Lag", "Owner"]
    assert result["changed"] is False


class CountingLogOffsets(FakeBrokers):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked = []

    def log_end_offsets(self, partitions):
        self.asked.append(sorted(partitions))
        return super().log_end_offsets(partitions)


def test_offset_info_samples_twice_and_asks_the_brokers_once(monkeypatch):
    zk = cluster(offsets={0: 5, 1: 6}, members=["billing_app1-1"])
    sleeps = []

    def sleep(seconds):
        # The consumer commits partition 1 while the module waits; partition 0 stays where it is.
        sleeps.append(seconds)
        zk.put(f"{OFFSETS}/1", b"9")

    monkeypatch.setattr(consumer_offset_info.time, "sleep", sleep)
    brokers = CountingLogOffsets({("orders", p): (0, 100) for p in range(3)})
    result = run_module(consumer_offset_info.main, dict(ZK_ARGS, groups=["billing"], sample_interval=3), zk, brokers)
    assert not result.get("failed"), result
    assert len(sleeps) == 1 and 2.5 < sleeps[0] <= 3
    assert [(r["partition"], r["offset"]) for r in result["earlier_offsets"]] == [(0, 5), (1, 6)]
    assert [(r["partition"], r["offset"]) for r in result["offsets"]] == [(0, 5), (1, 9)]
    assert brokers.asked == [[("orders", 0), ("orders", 1)]]
    assert [g["state"] for g in result["groups"]] == ["active"]
    assert "sampled_seconds" in result


def test_offset_info_reads_once_without_a_sample_interval():
    result = run_module(consumer_offset_info.main, dict(ZK_ARGS, groups=["billing"]), cluster(offsets={0: 5}), kafka())
    assert "earlier_offsets" not in result and "sampled_seconds" not in result


def test_offset_info_refuses_a_negative_sample_interval():
    result = run_module(consumer_offset_info.main, dict(ZK_ARGS, sample_interval=-1), cluster(offsets={0: 5}), kafka())
    assert result["failed"] and result["msg"] == "sample_interval must not be negative, got -1"


def test_offset_info_reads_the_cluster_in_the_same_session_when_asked():
    zk = cluster(offsets={0: 5})
    zk.put("/brokers/ids/1", b'{"host":"k1","port":9092,"endpoints":["PLAINTEXT://k1:9092"]}')
    zk.put("/controller", b'{"brokerid":1}')
    for partition in range(3):
        zk.put(f"/brokers/topics/orders/partitions/{partition}/state", b'{"leader":1,"isr":[1],"leader_epoch":1}')
    result = run_module(consumer_offset_info.main, dict(ZK_ARGS, groups=["billing"], cluster=True), zk, kafka())
    assert not result.get("failed"), result
    assert result["cluster"]["broker_ids"] == [1] and result["cluster"]["controller_id"] == 1
    assert [(p["partition"], p["leader"]) for p in result["cluster"]["partitions"]] == [(0, 1), (1, 1), (2, 1)]
    # Replicas 2 and 3 are not registered: the cluster is read as it is, not judged healthy.
    assert result["cluster"]["healthy"] is False
    assert "cluster" not in run_module(consumer_offset_info.main, dict(ZK_ARGS, groups=["billing"]), cluster(offsets={0: 5}), kafka())


def test_offset_info_names_a_chroot_without_kafka_when_asked_for_the_cluster():
    zk = FakeZooKeeper({"/consumers/billing/offsets/orders/0": b"5", "/consumers/billing/ids": b""})
    result = run_module(consumer_offset_info.main, dict(ZK_ARGS, groups=["billing"], cluster=True, log_offsets=False), zk, kafka())
    assert result["failed"] and result["msg"].startswith("no /brokers/topics under chroot '/kafka': is zk_chroot Kafka's "
                                                         "chroot? A KRaft cluster keeps nothing in ZooKeeper")


def test_offset_info_returns_unreadable_offsets_and_shows_them_in_the_table():
    zk = cluster(offsets={0: 5, 2: 7})
    zk.put(f"{OFFSETS}/1", b"abc")
    result = run_module(consumer_offset_info.main, dict(ZK_ARGS, groups=["billing"]), zk, kafka())
    assert [(u["group"], u["topic"], u["partition"], u["path"], u["raw"], u["reason"], u["log_end_offset"])
            for u in result["unreadable_offsets"]] == [
        ("billing", "orders", 1, f"{OFFSETS}/1", "abc", "not a decimal offset", 100)]
    assert [s["path"] for s in result["stray_nodes"]] == [f"{OFFSETS}/1"]
    assert [line.split()[2:4] for line in result["table"][1:]] == [["0", "5"], ["1", "unreadable:'abc'"], ["2", "7"]]
