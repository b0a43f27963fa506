# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading Kafka-stored groups and waiting for them to empty, against fake brokers."""

from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import kafka_offset_store

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.module_harness import FakeBrokers


def test_read_groups_lists_every_group_by_default():
    kafka = FakeBrokers({}, groups={"b": dict(state="Stable", offsets={("t", 0): 4}), "a": dict(state="Empty")})
    views, committed = kafka_offset_store.read_groups(kafka, None)
    assert [(v.group, v.state) for v in views] == [("a", "Empty"), ("b", "Stable")]
    assert committed == {"a": {}, "b": {("t", 0): (4, "", -1)}}
    assert kafka_offset_store.read_groups(FakeBrokers({}), None) == ([], {})


def test_wait_until_inactive_polls_until_empty_or_the_deadline():
    kafka = FakeBrokers({}, groups={"g": dict(state="Stable")})
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds
        if now[0] >= 2:
            kafka.groups["g"]["state"] = "Empty"

    view = kafka_offset_store.wait_until_inactive(kafka, "g", 10, poll=0.5, clock=lambda: now[0], sleep=sleep)
    assert view.state == "Empty" and now[0] == 2.0
    kafka.groups["g"]["state"] = "Stable"
    now[0] = 0.0
    view = kafka_offset_store.wait_until_inactive(kafka, "g", 1, poll=0.4, clock=lambda: now[0],
                                                  sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert view.state == "Stable" and now[0] == 1.0
