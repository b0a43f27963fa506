# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lab lock (/tmp/kafka-ops-lab.lock) that every command changing the shared lab must hold.

Callers usually take it with `flock /tmp/kafka-ops-lab.lock <command>`. Code that can also run on its own (the
pytest session fixture) takes it unless a process above it already holds it, which /proc/locks tells.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Iterator

from lab.errors import LabError

LOCK_FILE = Path("/tmp/kafka-ops-lab.lock")


def _ancestors() -> set[int]:
    found = set()
    pid = os.getpid()
    while pid > 1:
        found.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat[stat.rindex(")") + 2:].split()[1])
    return found


def held_by_ancestor(path: Path = LOCK_FILE) -> bool:
    """True when this process or one of its parents holds the flock on path (e.g. `flock <lock> pytest`)."""
    try:
        inode = path.stat().st_ino
    except OSError:
        return False
    holders = set()
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "->" in fields:  # a waiter, not a holder
            continue
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5].rsplit(":", 1)[-1] == str(inode):
            holders.add(int(fields[4]))
    return bool(holders & _ancestors())


@contextlib.contextmanager
def lab_lock(timeout: float = 1800.0, path: Path = LOCK_FILE) -> Iterator[None]:
    if held_by_ancestor(path):
        yield
        return
    handle = open(path, "a+")  # pylint: disable=consider-using-with
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LabError(f"{path} is still held by another lab user after {timeout:.0f} s") from None
                time.sleep(1)
        yield
    finally:
        handle.close()
