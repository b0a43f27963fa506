# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The consumer group the module and gate tests drive: group billing on topic orders, in a fake ZooKeeper.

cluster() is the topic with the group's committed offsets, for the offset and cluster modules; group() is the
group alone with its members and offsets, for the group waits; kafka() answers the partitions' log ranges.
"""

import json

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.fake_zookeeper import FakeZooKeeper
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.module_harness import FakeBrokers

ZK_ARGS = dict(zk_hosts="fake:2181", zk_chroot="/kafka")
OFFSETS = "/consumers/billing/offsets/orders"
MEMBER = "billing_app1-1712-abc"


def cluster(partitions=3, offsets=None, members=()):
    nodes = {"/brokers/topics/orders": json.dumps(
        {"version": 2, "partitions": {str(p): [1, 2, 3] for p in range(partitions)}}).encode(),
        "/consumers/billing/ids": b""}
    for member in members:
        nodes[f"/consumers/billing/ids/{member}"] = b"{}"
    for partition, offset in (offsets or {}).items():
        nodes[f"{OFFSETS}/{partition}"] = str(offset).encode()
    return FakeZooKeeper(nodes)


def kafka(partitions=3, start=0, end=100):
    return FakeBrokers({("orders", p): (start, end) for p in range(partitions)})


def group(members=(), offsets=None, name="billing"):
    """A group with live members and committed offsets {(topic, partition): offset}."""
    nodes = {f"/consumers/{name}/ids": b""}
    for member in members:
        nodes[f"/consumers/{name}/ids/{member}"] = b'{"subscription": {"orders": 1}}'
    for (topic, partition), offset in (offsets or {}).items():
        nodes[f"/consumers/{name}/offsets/{topic}/{partition}"] = str(offset).encode()
    return FakeZooKeeper(nodes)


def target(partition, target_offset, topic="orders"):
    return {"topic": topic, "partition": partition, "target_offset": target_offset}
