# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The json_query filter: JMESPath over plain and Ansible-wrapped data, clear errors."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kafka_ops.remediation.plugins.filter.json_query import FilterModule, json_query

CLUSTER = {
    "partitions": [
        {"topic": "orders", "partition": 0, "leader": 1, "isr": [1, 2, 3]},
        {"topic": "orders", "partition": 1, "leader": None, "isr": []},
        {"topic": "audit", "partition": 0, "leader": 2, "isr": [2]},
    ],
    "plan": [{"records_skipped": 3}, {"records_skipped": 7}],
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("partitions[?leader == null].partition", [1]),
        # Projections drop nulls, as JMESPath specifies.
        ("partitions[?topic == 'orders'].leader", [1]),
        ("sum(plan[].records_skipped)", 10),
        ("partitions[?length(isr) < `2`].[topic, partition]", [["orders", 1], ["audit", 0]]),
        ("nothing.here", None),
    ],
)
def test_query_selects(expression, expected):
    assert json_query(CLUSTER, expression) == expected


def test_tuples_and_subclassed_strings_are_plain_data():
    class WrappedText(str):
        pass

    data = {WrappedText("rows"): ({"name": WrappedText("a")}, {"name": "b"})}
    assert json_query(data, "rows[].name") == ["a", "b"]


def test_invalid_expression_names_it():
    with pytest.raises(AnsibleFilterError, match=r"'partitions\[\?' is not valid JMESPath"):
        json_query(CLUSTER, "partitions[?")


def test_expression_must_be_text():
    with pytest.raises(AnsibleFilterError, match="must be a string"):
        json_query(CLUSTER, 3)


def test_registered_under_its_name():
    assert FilterModule().filters()["json_query"] is json_query
