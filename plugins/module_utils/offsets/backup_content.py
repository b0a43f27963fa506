# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A backup's content, so that a later job (in AAP, another container) can restore from it.

consumer_offset's backup is one to three files of one stem: ExportZkOffsets lines (``.offsets``) for a group
whose offsets ZooKeeper stores, kafka-consumer-groups' reset CSV (``.csv``) and its sidecar (``.csv.meta.json``,
the partitions that had no offset and each commit's metadata) for one whose offsets Kafka stores, all three for a
group in both stores. The content is those files as they are, ``{group, files: {name: text}}``: no second
format. ``restore_files`` turns it back into the same files in a directory and names the one that
``consumer_offset`` ``target: file`` restores from (it finds the others beside it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

ZOOKEEPER_SUFFIX, KAFKA_SUFFIX, META_SUFFIX = ".offsets", ".csv", ".meta.json"
SIDECAR_SUFFIX = KAFKA_SUFFIX + META_SUFFIX
SUFFIXES = (SIDECAR_SUFFIX, ZOOKEEPER_SUFFIX, KAFKA_SUFFIX)


class BackupContentError(ValueError):
    """Content that is not a backup's; the text is the one-line message."""


def files_of_backup(paths: list[str]) -> list[str]:
    """The files a backup wrote, from the module's backup_file(s): a CSV's sidecar is beside it."""
    files: list[str] = []
    for path in paths:
        for candidate in (path, path + META_SUFFIX if path.endswith(KAFKA_SUFFIX) else None):
            if candidate and candidate not in files:
                files.append(candidate)
    return files


def read_backup_content(group: str, paths: list[str]) -> dict[str, Any]:
    """The content of the backup files just written (the sidecar of a CSV too, when there is one)."""
    files = {}
    for path in files_of_backup(paths):
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                files[os.path.basename(path)] = handle.read()
    return dict(group=group, files=files)


def _stem(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[:-len(suffix)]
    raise BackupContentError(f"backup_content names a file {name!r} that no backup writes: its files end in "
                             f"{', '.join(SUFFIXES)}")


def restore_files(content: Any, group: str, directory: str) -> dict[str, Any]:
    """The files to write in ``directory`` ([{path, text}]) and the one to restore from (``restore_file``).

    Refuses, in one line, content that is not {group, files: {name: text}} as consumer_offset returned it, a
    file name with a directory in it or that no backup writes, files of more than one backup, a sidecar without
    its CSV, and content taken of another group.
    """
    if not isinstance(content, Mapping) or not isinstance(content.get("files"), Mapping) or not content["files"]:
        raise BackupContentError("backup_content must be the kafka_ops_backup_content a run published: "
                                 "{group, files: {<backup file name>: <its text>}}")
    if content.get("group") not in (None, group):
        raise BackupContentError(f"backup_content is a backup of group {content['group']!r}, not of {group!r}: "
                                 "pass the consumer_group it was taken of")
    files = dict(content["files"])
    for name, text in files.items():
        if not isinstance(name, str) or os.path.basename(name) != name or name.startswith("."):
            raise BackupContentError(f"backup_content names {name!r}: a file name without a directory is expected")
        if not isinstance(text, str):
            raise BackupContentError(f"backup_content's {name} must hold the file's text, got {type(text).__name__}")
    stems = sorted({_stem(name) for name in files})
    if len(stems) > 1:
        raise BackupContentError(f"backup_content holds files of {len(stems)} backups ({', '.join(stems)}): "
                                 "pass the content of one")
    stem = os.path.join(directory, stems[0])
    names = set(files)
    if stems[0] + SIDECAR_SUFFIX in names and stems[0] + KAFKA_SUFFIX not in names:
        raise BackupContentError(f"backup_content has the sidecar of {stems[0]}{KAFKA_SUFFIX} but not the CSV itself")
    restore = stem + (ZOOKEEPER_SUFFIX if stems[0] + ZOOKEEPER_SUFFIX in names else KAFKA_SUFFIX)
    return dict(files=[dict(path=os.path.join(directory, name), text=files[name]) for name in sorted(files)],
                restore_file=restore)
