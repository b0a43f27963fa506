# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The unready_partitions filter: start gates judged against the brokers that are up."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kafka_ops.remediation.plugins.filter.partition_health import unready_partitions


def partition(number, replicas, isr, leader):
    return {"topic": "t", "partition": number, "replicas": replicas, "isr": isr, "leader": leader}


@pytest.mark.parametrize(
    ("partitions", "live", "gate", "expected_reasons"),
    [
        # Full stop, first broker back: it led everything, nothing can be in sync yet; all fine.
        ([partition(0, [1, 2, 3], [1], 1)], [1], "all", []),
        # Stale leader in ZooKeeper that is not registered, while an in-sync replica is up.
        ([partition(0, [1, 2, 3], [1, 2], 3)], [1, 2], "leader", ["leader 3 is not registered"]),
        # No leader although an in-sync replica is live.
        ([partition(0, [1, 2], [2], -1)], [2], "leader", ["no leader"]),
        # Every in-sync replica is down: no leader possible yet, not this start's fault.
        ([partition(0, [1, 2, 3], [3], None)], [1, 2], "leader", []),
        # All replicas up but one still catching up.
        ([partition(0, [1, 2, 3], [1, 2], 1)], [1, 2, 3], "in_sync", ["replicas [3] not in sync"]),
        # A replica is still down: under-replication is expected.
        ([partition(0, [1, 2, 3], [1, 2], 1)], [1, 2], "in_sync", []),
        # The leader gate ignores replication, the in_sync gate ignores leaders.
        ([partition(0, [1, 2, 3], [1, 2], 1)], [1, 2, 3], "leader", []),
        ([partition(0, [1, 2, 3], [1, 2, 3], -1)], [1, 2, 3], "in_sync", []),
        # Healthy cluster.
        ([partition(0, [1, 2, 3], [3, 1, 2], 2), partition(1, [2], [2], 2)], ["1", "2", "3"], "all", []),
    ],
)
def test_gates(partitions, live, gate, expected_reasons):
    assert [entry["reason"] for entry in unready_partitions(partitions, live, gate)] == expected_reasons


def test_unknown_gate_is_refused():
    with pytest.raises(AnsibleFilterError, match="gate 'everything' is unknown"):
        unready_partitions([], [1], "everything")


def test_input_must_be_the_partitions_list():
    with pytest.raises(AnsibleFilterError, match="partitions list"):
        unready_partitions({"partitions": []}, [1])
