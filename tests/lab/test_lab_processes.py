# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""lab.processes: a process found by its pid file, also while it execs its next program."""

from __future__ import annotations

import os
import subprocess
import sys

from lab import processes


def test_a_running_process_is_found_by_its_pid_file_and_marker(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "marker-42"])
    try:
        pid_file = tmp_path / "child.pid"
        pid_file.write_text(f"{child.pid}\n")
        assert processes.running_pid(pid_file, "marker-42") == child.pid
        assert processes.running_pid(pid_file, "another-marker") is None
    finally:
        child.kill()
        child.wait()
    assert processes.running_pid(pid_file, "marker-42", exec_wait=0.05) is None


def test_an_empty_command_line_of_a_live_process_is_looked_at_again(tmp_path, monkeypatch):
    pid_file = tmp_path / "self.pid"
    pid_file.write_text(str(os.getpid()))
    answers = iter(["", "", "python consumer.py --config marker-7"])
    monkeypatch.setattr(processes, "cmdline", lambda pid: next(answers))
    assert processes.running_pid(pid_file, "marker-7") == os.getpid()


def test_a_live_process_with_an_empty_command_line_for_too_long_is_not_running(tmp_path, monkeypatch):
    pid_file = tmp_path / "self.pid"
    pid_file.write_text(str(os.getpid()))
    monkeypatch.setattr(processes, "cmdline", lambda pid: "")
    assert processes.running_pid(pid_file, "marker-7", exec_wait=0.05) is None


def test_a_missing_or_unreadable_pid_file_is_not_running(tmp_path):
    assert processes.running_pid(tmp_path / "none.pid", "marker") is None
    (tmp_path / "bad.pid").write_text("not a pid")
    assert processes.running_pid(tmp_path / "bad.pid", "marker") is None
