# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """Where cluster metadata comes from (plugins/module_utils/cluster/metadata_backend.py metadata_argument_spec)."""

    DOCUMENTATION = r"""
options:
  quorum_fetch_timeout_ms:
    description:
      - The controllers' C(controller.quorum.fetch.timeout.ms) (KRaft). A voter counts as caught up while the
        leader's last caught-up time is less than this many milliseconds ahead of the voter's (Strimzi's rule).
      - Ignored in ZooKeeper mode.
    type: int
    default: 2000
notes:
  - "The metadata source follows the options: ZooKeeper when O(zk_hosts) is set (a ZooKeeper-mode cluster), the
    Admin API of the brokers in O(kafka_bootstrap_servers) when only they are set (a KRaft cluster, Kafka 3.3 and
    later, and every Kafka 4 cluster). Both give the same result fields."
  - A ZooKeeper at O(zk_hosts) that holds no Kafka brokers or topics while the brokers at
    O(kafka_bootstrap_servers) answer as a KRaft quorum fails with a message to drop O(zk_hosts); brokers that do
    not answer C(DescribeQuorum) (ZooKeeper mode) with only O(kafka_bootstrap_servers) fail with a message to set
    O(zk_hosts).
  - On KRaft the active controller is the controller quorum's leader (C(DescribeQuorum)), not the controller
    C(DescribeCluster) names, which a KRaft broker picks at random.
"""
