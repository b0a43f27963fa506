# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""group_wait's main() through the module-args / exit-json harness: passes, fails with one sentence, check mode."""

from unittest import mock

import pytest

from ansible_collections.kafka_ops.remediation.plugins.modules import group_wait

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.billing_group import MEMBER, ZK_ARGS, group, target
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.module_harness import FakeBrokers, run_module


def test_module_passes_and_closes_its_clients():
    zk = group([MEMBER], {("orders", 1): 20})
    kafka = FakeBrokers({("orders", 1): (0, 20)})
    result = run_module(group_wait.main, dict(ZK_ARGS, group="billing", state="flowing",
                                              targets=[target(1, 20)]), zk, kafka)
    assert not result.get("failed"), result
    assert result["waiting"] == [] and result["changed"] is False
    assert zk.closed and kafka.closed


def test_module_fails_with_the_sentence_and_the_last_read():
    result = run_module(group_wait.main, dict(ZK_ARGS, group="billing", timeout=0.1, poll_interval=0.05),
                        group([MEMBER]))
    assert result["failed"]
    assert result["msg"].startswith("group 'billing' still has 1 live consumer after 0.1 s")
    assert result["members"] == [MEMBER]


def test_module_in_check_mode_does_not_wait():
    zk = group([MEMBER])
    result = run_module(group_wait.main, dict(ZK_ARGS, group="billing"), zk, check_mode=True)
    assert result == dict(changed=False, msg="check mode: not waiting", warnings_seen=[])


@pytest.mark.parametrize(("rc", "failed"), [(0, False), (3, True)])
def test_module_runs_process_command_where_it_runs(rc, failed):
    zk = group([MEMBER] if not failed else [])
    with mock.patch("ansible.module_utils.basic.AnsibleModule.run_command", return_value=(rc, "", "")) as command:
        result = run_module(group_wait.main, dict(ZK_ARGS, group="billing", state="active", process_command="status",
                                                  timeout=5), zk)
    assert bool(result.get("failed")) is failed
    if failed:
        assert command.call_args == mock.call("status", use_unsafe_shell=True)
        assert "(process_command exited 3)" in result["msg"]
