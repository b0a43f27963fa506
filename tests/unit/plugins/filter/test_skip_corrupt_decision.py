# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The skip_corrupt_decision filter: what Ansible gathered reaches the engine, and bad input becomes a refusal."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kafka_ops.remediation.plugins.filter.skip_corrupt_decision import skip_corrupt_decision

INVENTORY = {"broker_hosts": ["kafka1"], "broker_ids": [1], "consumers": []}
SETTINGS = {"consumer_group": "billing"}


def test_a_skipped_task_result_counts_as_not_gathered():
    answer = skip_corrupt_decision({"settings": SETTINGS, "inventory": INVENTORY, "journal": {},
                                    "sample": {"skipped": True, "changed": False}, "scans": None, "watch": None})
    assert answer["need"] == "sample"


def test_bad_settings_give_a_refusal_not_an_error():
    answer = skip_corrupt_decision({"settings": {**SETTINGS, "broker_restart": "reboot"}, "inventory": INVENTORY})
    assert answer["action"] == "refuse"
    assert answer["message"] == ("Nothing was changed: broker_restart must be full_stop, rolling or none, "
                                 "got 'reboot'.")
    assert answer["group"] == "billing"


def test_given_a_decision_and_an_offset_change_it_decides_the_rest_of_the_run():
    decision = skip_corrupt_decision({"settings": SETTINGS, "inventory": INVENTORY, "journal": {
        "phase": "offsets_moved", "broker_restart": "none", "stop_order": ["kafka1"],
        "decision": {"targets": [{"topic": "t", "partition": 0, "committed_offset": 1, "target_offset": 2}]}}})
    answer = skip_corrupt_decision({"decision": decision, "offset_change": {"skipped": True}, "check_mode": False})
    assert answer["outcome"]["moved"] is True and answer["journal_update"] is None


def test_anything_but_a_dict_is_refused():
    with pytest.raises(AnsibleFilterError, match="expects a dict of the facts"):
        skip_corrupt_decision(["settings"])


def test_the_report_filter_takes_a_skipped_offset_change_as_none():
    from ansible_collections.kafka_ops.remediation.plugins.filter.skip_corrupt_decision import skip_corrupt_report

    made = skip_corrupt_report({"group": "billing", "targets": []}, {"skipped": True}, [], [], False)
    assert made["group"] == "billing" and made["skipped"] == [] and made["phases"] == []
    with pytest.raises(AnsibleFilterError, match="expects the run state"):
        skip_corrupt_report(None)
