# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Where a group's offsets live, asked of the stores the module can reach (kafka_groups.resolve_storage decides)."""

from __future__ import annotations

from typing import Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import kafka_groups, kafka_offset_store
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.consumer_offsets import group_path

STORAGES = kafka_groups.STORAGES


def detect(runner, group: str) -> tuple[str, Optional[tuple[kafka_groups.KafkaGroup, dict]]]:
    """(zookeeper, kafka or both, what Kafka said about the group when it was asked). storage=auto asks
    ZooKeeper when zk_hosts is set and the brokers always: a modern group leaves nothing in ZooKeeper."""
    requested = runner.params["storage"]
    if requested == "zookeeper":
        return "zookeeper", None
    zookeeper_has: Optional[bool] = None
    where_zookeeper = ""
    if requested == "auto" and runner.params.get("zk_hosts"):
        # ZooKeeper first: its connection problems are the ones to report, and it names the brokers.
        zk = runner.zookeeper()
        zookeeper_has = zk.list_children([group_path(group)])[0] is not None
        where_zookeeper = f"ZooKeeper ({group_path(group)} at {zk.hosts})"
    found = kafka_offset_store.read_group(runner.kafka(), group)
    if requested == "kafka":
        return "kafka", found
    where_kafka = f"Kafka (__consumer_offsets, asked {','.join(runner.bootstrap_servers()) or 'the brokers'})"
    storage = kafka_groups.resolve_storage(group, "auto", zookeeper_has, found[0].state != "absent",
                                           where_zookeeper, where_kafka)
    return storage, found
