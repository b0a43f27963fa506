# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""group_wait on the controller: ZooKeeper and Kafka are read in-process, process_command runs on the task's host.

A start gate must notice at once when the consumer process it waits on exits, but that process lives on the
consumer host while ZooKeeper is read from the controller. As an action plugin the wait does both in one
task: each check reads ZooKeeper with the collection's module_utils, and each check that did not pass runs
process_command over the host's connection (no module upload, one shell command per check).
"""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib
from ansible.plugins.action import ActionBase

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import group_gates
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection import kafka_client, zookeeper
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.module_runner import (
    ModuleRunner, close_quietly, known_failure, registered_bootstrap_servers)


def argument_spec() -> dict:
    spec = zookeeper.zookeeper_argument_spec()
    spec["zk_hosts"] = dict(spec["zk_hosts"], required=False)
    spec.update(kafka_client.kafka_argument_spec())
    spec.update(group_gates.group_wait_argument_spec())
    return spec


class ActionModule(ActionBase):
    """Waits on the controller; see plugins/modules/group_wait.py for the documentation."""

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        # Bad arguments raise AnsibleActionFail, which ansible-core turns into the task's one-line failure.
        validation, _args = self.validate_argument_spec(argument_spec=argument_spec())
        params = validation.validated_parameters
        if self._task.check_mode:
            result.update(changed=False, msg="check mode: not waiting")
            return result
        if not zookeeper.HAS_KAZOO:
            result.update(failed=True, msg=missing_required_lib("kazoo"), exception=zookeeper.KAZOO_IMPORT_ERROR)
            return result
        result.update(self._wait(params))
        return result

    def _process_exit(self, command: str):
        def process_exit():
            answer = self._low_level_execute_command(command, sudoable=True)
            return group_gates.process_exit_phrase(answer.get("rc", 1), answer.get("stdout", ""),
                                                   answer.get("stderr", ""))
        return process_exit

    def _wait(self, params: dict) -> dict:
        """The wait with ModuleRunner's client factories (unit tests replace them), clients always closed."""
        clients: dict = {}

        def zk():
            if not params.get("zk_hosts"):
                raise group_gates.GroupWaitFailed("this group needs ZooKeeper, but zk_hosts is not set: give zk_hosts "
                                                  "(and zk_chroot), or storage=kafka")
            if "zookeeper" not in clients:
                clients["zookeeper"] = ModuleRunner.zookeeper_factory(params)
            return clients["zookeeper"]

        def kafka():
            if "kafka" not in clients:
                if not params.get("kafka_bootstrap_servers") and not params.get("zk_hosts"):
                    raise group_gates.GroupWaitFailed(kafka_client.NO_CLUSTER_GIVEN)
                servers = params.get("kafka_bootstrap_servers") or registered_bootstrap_servers(zk(), params)
                clients["kafka"] = ModuleRunner.kafka_factory(params, servers)
            return clients["kafka"]

        command = params.get("process_command")
        try:
            store = group_gates.group_reader(params, zk, kafka)
            return group_gates.wait(store, params, lambda keys: kafka().log_end_offsets(keys),
                                    self._process_exit(command) if command else None)
        except group_gates.GroupWaitFailed as failed:
            return dict(failed.details, failed=True, msg=str(failed))
        except Exception as error:  # pylint: disable=broad-except
            failure = known_failure(error)
            if failure is None:
                raise
            return dict(failure, failed=True)
        finally:
            close_quietly(clients.get("kafka"), clients.get("zookeeper"))
