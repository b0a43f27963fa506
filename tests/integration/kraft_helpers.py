# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the KRaft tests of either Kafka version (kraft/, kraft39/) look at: the inventory inventories/lab-kraft, the
brokers' and controllers' processes, and a group that read on past its damaged records to the log end."""

from __future__ import annotations

import collections

from lab import layout
from skip_corrupt_helpers import REPO

INVENTORY = str(REPO / "inventories" / "lab-kraft" / "hosts.yml")
BROKER_HOSTS = [f"kafka{broker_id}" for broker_id in layout.BROKERS]
CONTROLLER_HOSTS = [f"controller{node_id - 100}" for node_id in layout.CONTROLLERS]


def node_pids(lab) -> dict[str, int]:
    return {name: pid for name, pid in lab.status()["processes"].items()
            if name in BROKER_HOSTS or name in CONTROLLER_HOSTS}


def assert_reads_every_other_record_once(lab, group: str, broken: dict) -> None:
    ends = lab.end_offsets(group)
    committed = lab.kafka_group_offsets(group)
    assert committed == {(group, p): ends[p] for p in range(3)}, "the group did not read on to the log end"
    seen = collections.Counter((partition, offset) for _topic, partition, offset, _key in lab.consumed_records(group))
    skipped = {(1, offset) for offset in range(broken["first_offset"], broken["last_offset"] + 1)}
    expected = {(p, o) for p in range(3) for o in range(ends[p])} - skipped
    assert set(seen) == expected and set(seen.values()) == {1}, (
        sorted(expected - set(seen))[:10], sorted(set(seen) - expected)[:10],
        sorted(k for k, v in seen.items() if v > 1)[:20])
