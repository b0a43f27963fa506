# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ``unstartable_groups`` filter: groups whose offset nodes stop a legacy consumer from starting.

The judgement lives in module_utils/offsets/offset_info.py, beside the reader that finds the unreadable nodes.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import offset_info


def unstartable_groups(unreadable_offsets: Any) -> list[dict]:
    """One entry per group with unreadable offset nodes (see offset_info.unstartable_groups)."""
    if not isinstance(unreadable_offsets, list) or not all(isinstance(item, dict) for item in unreadable_offsets):
        raise AnsibleFilterError("unstartable_groups expects the unreadable_offsets list returned by "
                                 "consumer_offset_info")
    try:
        return offset_info.unstartable_groups(unreadable_offsets)
    except KeyError as error:
        raise AnsibleFilterError(f"unstartable_groups: an unreadable_offsets entry has no {error}")


class FilterModule:
    """Offsets report judgements."""

    def filters(self) -> dict:
        return {"unstartable_groups": unstartable_groups}
