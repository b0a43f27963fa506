# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What an AWX/AAP job keeps of a run, for the lab tests: set_stats' data and the failed tasks' messages, written
as JSON to the file named by KAFKA_OPS_JOB_RECORD when the run ends (the stdout callback stays the default)."""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: job_record
type: aggregate
short_description: set_stats' data and the failed tasks' messages, as JSON in a file
description:
  - Writes {custom_stats, failed} to the file named by the KAFKA_OPS_JOB_RECORD environment variable.
requirements:
  - enabled in callbacks_enabled
"""


class CallbackModule(CallbackBase):
    """Keep what AWX/AAP shows of a job: its artifacts (set_stats) and why it failed."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "job_record"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.failed: list = []

    def v2_runner_on_failed(self, result, ignore_errors=False) -> None:
        if not ignore_errors:
            self.failed.append(result._result.get("msg"))  # pylint: disable=protected-access

    def v2_playbook_on_stats(self, stats) -> None:
        path = os.environ.get("KAFKA_OPS_JOB_RECORD")
        if path:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(dict(custom_stats=stats.custom, failed=self.failed), handle, default=str)
