# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one atomic file replace of the collection: a crash leaves the old file or the new one, never a torn one.

The text goes to a temp file in the same directory, which is flushed, given its mode and fsynced, renamed over
the file, and then the directory is fsynced, because the rename is durable only once the directory entry is on
disk. The run journal, the report files and the offset backups all write through it. Standard library only:
the modules that use it run in their own AnsiballZ process and must start fast.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Optional


def fsync_directory(directory: str) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_text_atomically(path: str, text: str, mode: int, directory_descriptor: Optional[int] = None) -> None:
    """Replace path with text (UTF-8) and the given mode; on any failure the old file stays and no temp file is left.

    directory_descriptor is an open descriptor of path's directory when the caller holds one (under its lock),
    fsynced after the rename; without it the directory is opened for that fsync.
    """
    directory, name = os.path.split(path)
    descriptor, temp_path = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_path)
        raise
    if directory_descriptor is None:
        fsync_directory(directory)
    else:
        os.fsync(directory_descriptor)
