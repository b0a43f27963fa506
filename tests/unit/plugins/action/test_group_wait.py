# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The group_wait action plugin: ZooKeeper and Kafka read on the controller, process_command run on the host."""

import types
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.kafka_ops.remediation.plugins.action import group_wait as group_wait_action
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection import zookeeper
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.module_runner import ModuleRunner

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.billing_group import MEMBER, ZK_ARGS, group, target
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.module_harness import FakeBrokers


def action(args, check_mode=False, answers=()):
    """The action plugin with a fake task and connection; answers are the process command's results in turn."""
    task = types.SimpleNamespace(args=args, check_mode=check_mode, async_val=0, action="group_wait")
    connection = types.SimpleNamespace(_shell=types.SimpleNamespace(tmpdir="/tmp/x"))
    plugin = group_wait_action.ActionModule(task, connection, None, None, None)
    replies = iter(answers)
    plugin._low_level_execute_command = mock.Mock(side_effect=lambda *a, **k: next(replies))
    return plugin


def run_action(plugin, zk, kafka=None):
    with mock.patch.object(ModuleRunner, "zookeeper_factory", lambda _params: zk), \
            mock.patch.object(ModuleRunner, "kafka_factory", lambda _params, _servers: kafka):
        return plugin.run(task_vars={})


def test_action_ends_the_start_gate_when_the_process_exited():
    plugin = action(dict(ZK_ARGS, group="billing", state="active", process_command="consumer-status.sh billing"),
                    answers=[dict(rc=3, stdout="consumer billing not running\n", stderr="")])
    zk = group()
    result = run_action(plugin, zk)
    assert result["failed"]
    assert "(process_command exited 3: consumer billing not running)" in result["msg"]
    plugin._low_level_execute_command.assert_called_once_with("consumer-status.sh billing", sudoable=True)
    assert zk.closed


def test_action_passes_and_asks_kafka_through_the_shared_factory():
    zk = group([MEMBER], {("orders", 1): 20})
    kafka = FakeBrokers({("orders", 1): (0, 20)})
    plugin = action(dict(ZK_ARGS, group="billing", state="flowing", targets=[target(1, 20)],
                         kafka_bootstrap_servers=["k1:9092"]))
    result = run_action(plugin, zk, kafka)
    assert not result.get("failed"), result
    assert result["flowing"][0]["committed_offset"] == 20
    assert zk.closed and kafka.closed


def test_action_in_check_mode_does_not_connect():
    plugin = action(dict(ZK_ARGS, group="billing"), check_mode=True)
    with mock.patch.object(ModuleRunner, "zookeeper_factory", mock.Mock(side_effect=AssertionError("connected"))):
        assert plugin.run(task_vars={}) == dict(changed=False, msg="check mode: not waiting")


@pytest.mark.parametrize(("args", "message"), [
    (dict(ZK_ARGS), "missing required arguments: group"),
    (dict(ZK_ARGS, group="billing", state="gone"), "value of state must be one of: inactive, active, flowing, got: gone"),
    (dict(ZK_ARGS, group="billing", colour="red"), "Unsupported parameters"),
])
def test_action_rejects_bad_arguments(args, message):
    with pytest.raises(AnsibleActionFail) as raised:
        action(args).run(task_vars={})
    assert message in raised.value.message


def test_action_turns_a_zookeeper_error_into_one_line():
    plugin = action(dict(ZK_ARGS, group="billing"))
    error = zookeeper.ZooKeeperError("could not connect to ZooKeeper fake:2181 within 10 s")
    with mock.patch.object(ModuleRunner, "zookeeper_factory", mock.Mock(side_effect=error)):
        result = plugin.run(task_vars={})
    assert result == dict(failed=True, msg="could not connect to ZooKeeper fake:2181 within 10 s")


def test_action_lets_an_unexpected_error_through_with_its_traceback():
    plugin = action(dict(ZK_ARGS, group="billing"))
    with mock.patch.object(ModuleRunner, "zookeeper_factory", mock.Mock(side_effect=RuntimeError("bug"))):
        with pytest.raises(RuntimeError, match="bug"):
            plugin.run(task_vars={})
