# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Counts what a playbook run costs in process starts: module runs (a Python start on the target, or on the
controller for delegated ones) and raw commands, per action, and the seconds each task took (from its start to
the next task's), written as JSON to $MODULE_STARTS_FILE at the end.

Only the benchmarks enable it (ANSIBLE_CALLBACKS_ENABLED=module_starts with this directory on
ANSIBLE_CALLBACK_PLUGINS).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: module_starts
type: aggregate
short_description: Count module runs and raw commands per action (benchmarks only)
description:
  - "Writes {modules: {action: count}, module_runs: n, raw: count, tasks: [[name, seconds], ...]} as JSON to the
    file named by MODULE_STARTS_FILE."
requirements:
  - enabled with ANSIBLE_CALLBACKS_ENABLED
"""

# Actions that run on the controller without starting a module: Ansible's own, and group_wait, an action plugin
# that waits in the controller's process (its process_command is a raw command on the target, not a module).
CONTROLLER_ONLY = {
    "set_fact", "debug", "add_host", "group_by", "assert", "fail", "meta", "set_stats", "include_tasks",
    "import_tasks", "include_role", "import_role", "include_vars", "pause", "validate_argument_spec",
    "group_wait",
}


def _short(action: str) -> str:
    return action.rsplit(".", 1)[-1]


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "module_starts"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.modules: Counter = Counter()
        self.task_seconds: Counter = Counter()
        self.current: tuple[str, float] | None = None

    def _close_task(self) -> None:
        if self.current is not None:
            name, began = self.current
            self.task_seconds[name] += time.monotonic() - began
            self.current = None

    def v2_playbook_on_task_start(self, task, is_conditional) -> None:
        self._close_task()
        self.current = (task.get_name(), time.monotonic())

    def v2_playbook_on_play_start(self, play) -> None:
        self._close_task()

    def _count(self, result, looped: bool) -> None:
        action = _short(result._task.action)
        if action in CONTROLLER_ONLY or result._result.get("skipped"):
            return
        if result._task.loop and not looped:
            return  # each item was counted on its own
        self.modules[action] += 1

    def v2_runner_on_ok(self, result) -> None:
        self._count(result, looped=False)

    def v2_runner_on_failed(self, result, ignore_errors=False) -> None:
        self._count(result, looped=False)

    def v2_runner_item_on_ok(self, result) -> None:
        self._count(result, looped=True)

    def v2_runner_item_on_failed(self, result) -> None:
        self._count(result, looped=True)

    def v2_runner_retry(self, result) -> None:
        # An until loop starts the module again for every retry.
        self._count(result, looped=True)

    def v2_playbook_on_stats(self, stats) -> None:
        self._close_task()
        target = os.environ.get("MODULE_STARTS_FILE")
        if target:
            raw = self.modules.pop("raw", 0)
            tasks = [[name, round(seconds, 2)] for name, seconds in self.task_seconds.most_common()]
            with open(target, "w", encoding="utf-8") as handle:
                json.dump({"modules": dict(self.modules), "module_runs": sum(self.modules.values()), "raw": raw,
                           "tasks": tasks}, handle)
