# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The run_settings filter: the run's variables reach the settings, and misuse is an error naming the filter."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kafka_ops.remediation.plugins.filter.run_settings import FilterModule, run_settings


def test_it_types_a_survey_s_strings():
    answer = run_settings({"fail_on_damage": "false", "topics": "orders,audit"}, "scan_corruption")
    assert answer["errors"] == []
    assert answer["settings"]["fail_on_damage"] is False and answer["settings"]["topics"] == ["orders", "audit"]


def test_it_needs_the_run_s_variables():
    with pytest.raises(AnsibleFilterError, match="expects a dict of the playbook's variables"):
        run_settings(["fail_on_damage"], "scan_corruption")


def test_an_unknown_playbook_is_an_error():
    with pytest.raises(AnsibleFilterError, match="no settings are known for playbook 'reboot'"):
        run_settings({}, "reboot")


def test_the_filter_is_registered():
    assert FilterModule().filters() == {"run_settings": run_settings}
