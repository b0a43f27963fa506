# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Helpers for the tests of the code that writes files (run_journal, report_files, the offset backups)."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from unittest import mock


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def listing(directory) -> list[str]:
    return sorted(os.listdir(directory))


@contextlib.contextmanager
def fsyncs_recorded() -> Iterator[list[bool]]:
    """For each os.fsync while active, in order: True when it synced a directory, False for a file."""
    synced: list[bool] = []
    real_fsync = os.fsync

    def recording_fsync(descriptor):
        synced.append(stat.S_ISDIR(os.fstat(descriptor).st_mode))
        real_fsync(descriptor)

    with mock.patch.object(os, "fsync", recording_fsync):
        yield synced


def failing_once(real, error):
    """Wraps real so that its first call raises error; later calls (cleanup, other fsyncs) go through."""
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise error
        return real(*args, **kwargs)
    return wrapper


def heavy_imports_of(module: str) -> list[str]:
    """kazoo, kafka and module_runner modules that importing ``module`` loads, in a fresh interpreter.

    Every import costs each call time in its AnsiballZ process; the file-writing modules need neither client.
    """
    probe = (f"import json, sys; import {module}; "
             "print(json.dumps(sorted(name for name in sys.modules if name.split('.')[0] in ('kazoo', 'kafka') "
             "or name.endswith('module_runner'))))")
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                               env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    return json.loads(completed.stdout)
