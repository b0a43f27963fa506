"""Helpers for the tests of the modules that write files on the controller (run_journal, report_files)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def listing(directory) -> list[str]:
    return sorted(os.listdir(directory))


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
