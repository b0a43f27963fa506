# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ``unready_partitions`` filter: the health gates of a broker start, given which brokers are up.

The gates themselves live in module_utils/cluster/cluster_state.py, shared with the broker_wait module.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import cluster_state


def unready_partitions(partitions: Any, live_broker_ids: Any, gate: str = "all") -> list[dict]:
    """Partitions that fail ``gate`` given the brokers in ``live_broker_ids`` (see cluster_state)."""
    if not isinstance(partitions, list):
        raise AnsibleFilterError("unready_partitions expects the partitions list returned by cluster_info")
    try:
        return cluster_state.unready_partitions(partitions, live_broker_ids, gate)
    except ValueError as error:
        raise AnsibleFilterError(f"unready_partitions {error}")


class FilterModule:
    """Broker start health gates."""

    def filters(self) -> dict:
        return {"unready_partitions": unready_partitions}
