# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The journal of a remediation run: a JSON object on the controller that a rerun resumes from.

One call reads the journal, merges top-level keys into it and, when the content changes, replaces the file
atomically (files/atomic_file.py: temp file in the same directory, fsync, rename, fsync of the directory), so
that a crash leaves either the old or the new journal, never a torn one. Writers hold an exclusive flock on the
journal's directory for the whole read-modify-write, so two runs cannot lose each other's update. Standard
library only: the module runs in its own AnsiballZ process and must start fast.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
from collections.abc import Iterator
from typing import Any, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.files.atomic_file import (
    fsync_directory, write_text_atomically)

MAX_MODE = 0o7777
JSON_TYPE_NAMES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean",
                   type(None): "null"}


class JournalError(Exception):
    """A journal that cannot be read, merged or written; the message is one line for fail_json."""


def parse_mode(value: Any, option: str) -> int:
    """Octal string ('0640', '640', '0o640') or an int holding the mode bits, as the file module takes them."""
    if isinstance(value, bool):
        raise JournalError(f"{option} {value!r} is not a file mode: give a quoted octal string like '0640'")
    if isinstance(value, int):
        mode = value
    else:
        try:
            mode = int(str(value).strip(), 8)
        except ValueError:
            raise JournalError(f"{option} '{value}' is not an octal file mode: give a quoted octal string like "
                               f"'0640' (symbolic modes are not supported)") from None
    if not 0 <= mode <= MAX_MODE:
        raise JournalError(f"{option} {value!r} is out of range: give a quoted octal string like '0640'")
    return mode


def render_journal(journal: Any) -> str:
    """The file's text for a JSON value: indented like to_nice_json, keys in insertion order, trailing newline."""
    return json.dumps(journal, indent=2) + "\n"


def parse_journal(path: str, text: str) -> dict:
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        raise JournalError(f"journal '{path}' is not valid JSON (line {error.lineno} column {error.colno}: "
                           f"{error.msg}): fix or remove the file") from None
    if not isinstance(content, dict):
        raise JournalError(f"journal '{path}' holds a JSON {JSON_TYPE_NAMES[type(content)]}, not an object: "
                           f"fix or remove the file")
    return content


def read_text(path: str) -> Optional[str]:
    """The journal file's text, None when there is no file."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise JournalError(f"journal path '{path}' is a directory: give the path of a file") from None
    except OSError as error:
        raise JournalError(f"cannot read journal '{path}': {error.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise JournalError(f"journal '{path}' is not UTF-8 text (byte {error.start}): fix or remove the file") from None


def merge_journal(current: dict, update: dict, append: Optional[dict] = None) -> dict:
    """Shallow merge: keys in update replace the journal's; existing keys keep their place. Each list in append
    extends the journal's list of that key (created when missing) with the items it does not hold yet, so a
    retried append changes nothing."""
    merged = dict(current)
    merged.update(update)
    for key, items in (append or {}).items():
        existing = merged.get(key)
        if existing is None:
            existing = []
        if not isinstance(existing, list):
            raise JournalError(f"cannot append to journal key '{key}': it holds {type(existing).__name__}, not a list")
        merged[key] = existing + [item for item in items if item not in existing]
    return merged


def content_differs(before: Optional[dict], after: dict) -> bool:
    # Compare the rendered JSON, not the dicts: in Python 1 == 1.0 == True, yet the file would change.
    return before is None or render_journal(before) != render_journal(after)


def missing_directories(directory: str, content: str = "the journal") -> list[str]:
    """Directories to create for directory to exist, outermost first; content names what they are to hold."""
    missing = []
    while not os.path.isdir(directory):
        if os.path.lexists(directory):
            raise JournalError(f"'{directory}' exists and is not a directory: cannot hold {content}")
        missing.append(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return list(reversed(missing))


def create_directories(directories: list[str], mode: int) -> None:
    for directory in directories:
        try:
            os.mkdir(directory)
        except FileExistsError:
            continue  # another run created it in between
        # chmod because mkdir's mode is filtered through the umask.
        os.chmod(directory, mode)
        fsync_directory(os.path.dirname(directory))


@contextlib.contextmanager
def locked_directory(directory: str) -> Iterator[int]:
    """An open descriptor of directory under an exclusive flock, released on exit."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield descriptor
    finally:
        os.close(descriptor)  # closing releases the lock


def write_atomically(path: str, journal: dict, mode: int, directory_descriptor: int) -> None:
    """Replace path with the rendered journal; on any failure the old file stays and no temp file is left."""
    write_text_atomically(path, render_journal(journal), mode, directory_descriptor)


def file_mode(path: str) -> Optional[int]:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None


def plan_present(path: str, before_text: Optional[str], update: dict, mode: int, current_mode: Optional[int],
                 append: Optional[dict] = None) -> dict:
    """What state=present does to the journal whose text is before_text (None: no file); touches nothing."""
    before = parse_journal(path, before_text) if before_text is not None else None
    after = merge_journal(before or {}, update, append)
    write = content_differs(before, after)
    return {
        "changed": write or current_mode != mode,
        "write": write,
        "journal": after,
        "existed": before is not None,
        "before": before_text or "",
        "after": render_journal(after),
    }


def journal_present(path: str, update: dict, mode: int, directory_mode: int, check_mode: bool,
                    append: Optional[dict] = None) -> dict:
    """Merge update (and append) into the journal at path; returns changed, write, journal, existed, before, after
    (texts)."""
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    to_create = missing_directories(directory)
    if check_mode:
        if to_create:
            return plan_present(path, None, update, mode, None, append)
        return plan_present(path, read_text(path), update, mode, file_mode(path), append)
    create_directories(to_create, directory_mode)
    with locked_directory(directory) as directory_descriptor:
        result = plan_present(path, read_text(path), update, mode, file_mode(path), append)
        if result["write"]:
            write_atomically(path, result["journal"], mode, directory_descriptor)
        elif result["changed"]:
            os.chmod(path, mode)
    return result


def journal_absent(path: str, check_mode: bool) -> dict:
    """Remove the journal; returns changed, journal ({}), existed, before, after (texts)."""
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    if os.path.isdir(path):
        raise JournalError(f"journal path '{path}' is a directory: give the path of a file")
    if not os.path.lexists(path):
        return {"changed": False, "journal": {}, "existed": False, "before": "", "after": ""}
    before_text = ""
    with contextlib.suppress(JournalError):
        before_text = read_text(path) or ""  # an unreadable journal can still be removed
    if not check_mode:
        with locked_directory(directory) as directory_descriptor:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            os.fsync(directory_descriptor)
    return {"changed": True, "journal": {}, "existed": True, "before": before_text, "after": ""}
