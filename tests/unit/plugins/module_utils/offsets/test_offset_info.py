# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""offset_info: unreadable offset nodes found, reported distinctly, and judged per group."""

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import consumer_offsets as co
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import offset_info as oi
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.offset_info import OffsetNode, Snapshot

PATH = "/consumers/billing/offsets/orders"


def snapshot(*nodes):
    return Snapshot(members={"billing": [], "audit": []}, nodes=list(nodes),
                    topic_partitions={"orders": {0, 1, 2}})


def node(partition, raw, group="billing", topic="orders"):
    return OffsetNode(group, topic, partition, f"/consumers/{group}/offsets/{topic}/{partition}", raw, 1795699666110)


def ranges(partitions):
    return {key: (0, 100) for key in partitions}


def test_unreadable_nodes_are_returned_distinctly_and_stay_stray():
    result = oi.assemble(snapshot(node(0, b"5"), node(1, b"abc"), node(2, b""), node(7, b"x")), ranges)
    assert [row["partition"] for row in result["offsets"]] == [0]
    assert result["unreadable_offsets"] == [
        dict(group="billing", topic="orders", partition=1, path=f"{PATH}/1", raw="abc", reason="not a decimal offset",
             log_start_offset=0, log_end_offset=100, owner=None, last_commit="2026-11-26T13:27:46.110Z"),
        dict(group="billing", topic="orders", partition=2, path=f"{PATH}/2", raw="",
             reason="empty, not a decimal offset", log_start_offset=0, log_end_offset=100, owner=None,
             last_commit="2026-11-26T13:27:46.110Z"),
        dict(group="billing", topic="orders", partition=7, path=f"{PATH}/7", raw="x", reason="not a decimal offset",
             log_start_offset=None, log_end_offset=None, owner=None, last_commit="2026-11-26T13:27:46.110Z"),
    ]
    assert [stray["path"] for stray in result["stray_nodes"]] == [f"{PATH}/1", f"{PATH}/2", f"{PATH}/7"]
    assert "holds b'abc', not a decimal offset" in result["stray_nodes"][0]["reason"]


@pytest.mark.parametrize("raw, text", [
    (b"\xffabc", "\\xffabc"),
    (b"a" * 500, "a" * co.UNREADABLE_CHARS),
    (b"12 34", "12 34"),
])
def test_raw_text_is_escaped_and_bounded(raw, text):
    assert oi.assemble(snapshot(node(1, raw)), ranges)["unreadable_offsets"][0]["raw"] == text


def test_negative_offsets_are_decimal_and_stay_stray_only():
    result = oi.assemble(snapshot(node(1, b"-3")), ranges)
    assert result["unreadable_offsets"] == [] and result["offsets"] == []
    assert "negative offset -3" in result["stray_nodes"][0]["reason"]


def test_not_a_partition_node_is_not_an_unreadable_offset():
    result = oi.assemble(snapshot(OffsetNode("billing", "orders", -1, f"{PATH}/tmp", b"abc", 0)), ranges)
    assert result["unreadable_offsets"] == [] and result["stray_nodes"][0]["reason"] == "not a partition offset node"


def test_log_offsets_are_asked_for_readable_and_unreadable_partitions_once():
    asked = []

    def log_offsets(partitions):
        asked.append(partitions)
        return ranges(partitions)

    oi.assemble(snapshot(node(0, b"5"), node(1, b"abc"), node(9, b"zz")), log_offsets)
    assert asked == [[("orders", 0), ("orders", 1)]]


def unreadable(group, partition, raw="abc"):
    return dict(group=group, topic="orders", partition=partition, path=f"/consumers/{group}/offsets/orders/{partition}",
                raw=raw, reason="not a decimal offset")


def test_unstartable_groups_name_the_node_what_it_holds_and_what_to_do():
    verdicts = oi.unstartable_groups([unreadable("billing", 1), unreadable("audit", 0, raw="")])
    assert [(v["group"], v["paths"]) for v in verdicts] == [
        ("audit", ["/consumers/audit/offsets/orders/0"]), ("billing", ["/consumers/billing/offsets/orders/1"])]
    assert verdicts[1]["message"] == (
        "group 'billing' cannot start as it is: /consumers/billing/offsets/orders/1 holds 'abc', not a decimal "
        "offset. Set each node to the next offset to read with kafka_ops.remediation.consumer_offset "
        "(target=offset, partition_offsets: [{topic: orders, partition: 1, offset: <offset>}]), or restore a backup "
        "taken before it changed (target=file)")


def test_unstartable_groups_stay_one_line_per_group():
    verdicts = oi.unstartable_groups([unreadable("billing", p) for p in range(50)])
    assert len(verdicts) == 1 and len(verdicts[0]["paths"]) == 50
    assert "(and 47 more)" in verdicts[0]["message"] and "\n" not in verdicts[0]["message"]
    assert oi.unstartable_groups([]) == []
