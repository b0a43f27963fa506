# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The report files of a run, written on the controller in one call, each replaced atomically.

Every entry is validated and planned before any file is written, so a bad entry leaves every file as it was.
Each write is the collection's atomic replace (files/atomic_file.py: temp file in the same directory, fsync,
rename, fsync of the directory): a crash leaves the old file or the new one, never a torn one. A file that
already holds the asked content with the asked mode is left alone, so a rerun reports no change. Standard
library only: the module runs in its own AnsiballZ process and must start fast.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.files.atomic_file import write_text_atomically
from ansible_collections.kafka_ops.remediation.plugins.module_utils.files.run_journal import (
    create_directories, file_mode, locked_directory, missing_directories, render_journal)

# Ansible's default MAX_FILE_SIZE_FOR_DIFF: a bigger file is reported as too large to show, as copy and
# template do, instead of flooding the output.
MAX_DIFF_BYTES = 104448


class ReportFilesError(Exception):
    """A file entry that cannot be written; the message is one line for fail_json."""


def entry_text(index: int, path: str, entry: dict) -> str:
    """The text entry asks for: its text as is, or its json rendered as run_journal renders a journal."""
    # The module receives an absent option as None, so a JSON null cannot be told apart from no json.
    has_json = entry.get("json") is not None
    has_text = entry.get("text") is not None
    if has_json == has_text:
        found = "both json and text" if has_json else "neither json nor text"
        raise ReportFilesError(f"files[{index}] ('{path}') has {found}: give exactly one of them")
    return render_journal(entry["json"]) if has_json else entry["text"]


def encode_text(index: int, path: str, text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ReportFilesError(f"files[{index}] ('{path}') text cannot be written as UTF-8 (character "
                               f"{error.start}): pass text or json without undecodable bytes") from None


def writable_parent(index: int, path: str, directory: str, to_create: list[str]) -> None:
    """Refuse a file whose directory (or nearest existing ancestor, when directories are missing) is not writable."""
    existing = os.path.dirname(to_create[0]) if to_create else directory
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ReportFilesError(f"files[{index}] ('{path}'): directory '{existing}' is not writable: give a path in "
                               f"a directory you can write to")


def read_bytes(index: int, path: str) -> Optional[bytes]:
    """The file's current content, None when there is no file."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ReportFilesError(f"cannot read files[{index}] ('{path}'): {error.strerror}: fix its permissions or "
                               f"give another path") from None


def plan_file(index: int, entry: dict, mode: int) -> dict:
    """What writing entry does; validates it and touches nothing."""
    path = os.path.abspath(entry["path"])
    text = entry_text(index, path, entry)
    data = encode_text(index, path, text)
    if os.path.isdir(path):
        raise ReportFilesError(f"files[{index}] path '{path}' is a directory: give the path of a file")
    directory = os.path.dirname(path)
    to_create = missing_directories(directory, f"files[{index}] ('{path}')")
    writable_parent(index, path, directory, to_create)
    before = None if to_create else read_bytes(index, path)
    current_mode = None if before is None else file_mode(path)
    write = before != data
    return {
        "path": path,
        "text": text,
        "size": len(data),
        "before": before,
        "current_mode": current_mode,
        "to_create": to_create,
        "write": write,
        "changed": write or current_mode != mode,
    }


def plan_files(entries: list[dict], mode: int) -> list[dict]:
    """Plan every entry, refusing the first bad one before anything is written."""
    plans = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        plan = plan_file(index, entry, mode)
        if plan["path"] in seen:
            raise ReportFilesError(f"files[{index}] path '{plan['path']}' is also files[{seen[plan['path']]}]: "
                                   f"give each file once")
        seen[plan["path"]] = index
        plans.append(plan)
    return plans


def apply_plan(plan: dict, mode: int, directory_mode: int) -> None:
    create_directories(plan["to_create"], directory_mode)
    # run_journal's lock on the directory: writers of one directory take turns, and its descriptor is the one
    # fsynced after the rename.
    with locked_directory(os.path.dirname(plan["path"])) as directory_descriptor:
        if plan["write"]:
            write_text_atomically(plan["path"], plan["text"], mode, directory_descriptor)
        elif plan["changed"]:
            os.chmod(plan["path"], mode)


def with_mode(path: str, mode: Optional[int], shown: bool) -> str:
    return f"{path} (mode {mode:04o})" if shown and mode is not None else path


def diff_entry(plan: dict, mode: int) -> dict:
    """Before and after of one changed file, as copy and template show it; the mode only when it changes."""
    mode_changes = plan["current_mode"] != mode
    entry: dict[str, Any] = {
        "before_header": with_mode(plan["path"], plan["current_mode"], mode_changes),
        "after_header": with_mode(plan["path"], mode, mode_changes),
    }
    if not plan["write"]:
        entry.update(before={"mode": f"{plan['current_mode']:04o}"}, after={"mode": f"{mode:04o}"})
        return entry
    before = plan["before"] or b""
    if len(before) > MAX_DIFF_BYTES or plan["size"] > MAX_DIFF_BYTES:
        # Keys Ansible's diff display understands: it prints that the diff was skipped and why.
        if len(before) > MAX_DIFF_BYTES:
            entry["dst_larger"] = MAX_DIFF_BYTES
        if plan["size"] > MAX_DIFF_BYTES:
            entry["src_larger"] = MAX_DIFF_BYTES
        return entry
    try:
        entry["before"] = before.decode("utf-8")
    except UnicodeDecodeError:
        entry["dst_binary"] = 1
        return entry
    entry["after"] = plan["text"]
    return entry


def write_report_files(entries: list[dict], mode: int, directory_mode: int, check_mode: bool) -> dict:
    """Write entries ({path, json or text}); returns changed, files ({path, changed, size}) and diff (a list)."""
    plans = plan_files(entries, mode)
    if not check_mode:
        for index, plan in enumerate(plans):
            try:
                apply_plan(plan, mode, directory_mode)
            except OSError as error:
                written = {0: "", 1: " (files[0] was written)"}.get(
                    index, f" (files[0] to files[{index - 1}] were written)")
                where = f" at '{error.filename}'" if error.filename and error.filename != plan["path"] else ""
                raise ReportFilesError(f"cannot write files[{index}] ('{plan['path']}'): {error.strerror or error}"
                                       f"{where}{written}") from None
    return {
        "changed": any(plan["changed"] for plan in plans),
        "files": [{"path": plan["path"], "changed": plan["changed"], "size": plan["size"]} for plan in plans],
        "diff": [diff_entry(plan, mode) for plan in plans if plan["changed"]],
    }
