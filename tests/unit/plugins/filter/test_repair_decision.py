# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The filters of repair_replicas.yml: unwrapping what Ansible gathered, bad input as a refusal."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kafka_ops.remediation.plugins.filter import repair_decision

INVENTORY = {"broker_hosts": ["kafka1"], "broker_ids": [1]}


def test_skipped_results_are_not_gathered_yet():
    answer = repair_decision.repair_replicas_decision(
        dict(settings=dict(topic="orders"), inventory=INVENTORY, infos={"skipped": True}, found=None))
    assert answer["need"] == "info"


def test_partition_info_results_are_unwrapped():
    answer = repair_decision.repair_replicas_decision(dict(
        settings=dict(topic="orders"), inventory=INVENTORY,
        infos={"partitions": [dict(topic="orders", partition=0, replicas=[1], leader=1)]}))
    assert answer["need"] == "found" and list(answer["scan_requests"]) == ["kafka1"]


def test_bad_settings_are_a_refusal_in_one_line():
    answer = repair_decision.repair_replicas_decision(dict(settings=dict(topic="orders", remedy="x"),
                                                           inventory=INVENTORY))
    assert answer["action"] == "refuse" and answer["message"] == (
        "Nothing was changed: remedy must be auto, repair or skip, got 'x'.")


@pytest.mark.parametrize("facts", [None, "x", {}])
def test_input_that_is_not_gathered_facts_is_an_error(facts):
    with pytest.raises(AnsibleFilterError):
        if facts == {}:
            repair_decision.repair_verdict(facts)
        else:
            repair_decision.repair_replicas_decision(facts)


def test_the_verdict_of_nothing_repaired():
    verdict = repair_decision.repair_verdict(dict(repair=dict(repairs=[]), scans=None, infos=None))
    assert verdict["ok"] and verdict["partitions"] == []


def test_the_filters_are_registered():
    assert set(repair_decision.FilterModule().filters()) == {"repair_replicas_decision", "repair_verdict"}
