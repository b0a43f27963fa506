# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The unstartable_groups filter: consumer_offset_info's unreadable_offsets judged per group."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kafka_ops.remediation.plugins.filter.offsets_report import FilterModule, unstartable_groups


def test_filter_returns_the_verdict_per_group():
    found = unstartable_groups([dict(group="g", topic="t", partition=0, path="/consumers/g/offsets/t/0", raw="abc",
                                     reason="not a decimal offset")])
    assert [(v["group"], v["paths"]) for v in found] == [("g", ["/consumers/g/offsets/t/0"])]
    assert FilterModule().filters()["unstartable_groups"] is unstartable_groups


@pytest.mark.parametrize("value, message", [
    ("abc", "expects the unreadable_offsets list"),
    ([1], "expects the unreadable_offsets list"),
    ([dict(group="g", topic="t", partition=0)], "an unreadable_offsets entry has no 'path'"),
])
def test_filter_refuses_other_input(value, message):
    with pytest.raises(AnsibleFilterError, match=message):
        unstartable_groups(value)
