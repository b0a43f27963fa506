# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one atomic replace: temp file in the same directory, fsync, rename, fsync of the directory."""

import os
import stat
from unittest import mock

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.files import atomic_file

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.file_helpers import fsyncs_recorded


def test_the_file_is_replaced_with_its_mode_and_the_directory_opened_for_the_fsync(tmp_path):
    target = tmp_path / "report.md"
    target.write_text("old")
    inode = os.stat(target).st_ino
    with fsyncs_recorded() as synced:
        atomic_file.write_text_atomically(str(target), "new\n", 0o600)
    assert target.read_text() == "new\n" and stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert os.stat(target).st_ino != inode  # a new file took the old one's name
    assert synced == [False, True]  # the temp file, then the directory after the rename
    assert os.listdir(tmp_path) == ["report.md"]


def test_a_descriptor_the_caller_holds_is_the_one_synced(tmp_path):
    descriptor = os.open(tmp_path, os.O_RDONLY)
    try:
        with mock.patch.object(atomic_file, "fsync_directory") as opened, fsyncs_recorded() as synced:
            atomic_file.write_text_atomically(str(tmp_path / "a"), "x", 0o640, descriptor)
    finally:
        os.close(descriptor)
    assert synced == [False, True] and not opened.called


@pytest.mark.parametrize("target", ["fchmod", "fsync", "replace"])
def test_a_failure_keeps_the_old_file_and_leaves_no_temp_file(tmp_path, target):
    path = tmp_path / "journal.json"
    path.write_text("old")
    with mock.patch.object(atomic_file.os, target, side_effect=OSError(28, "No space left on device")):
        with pytest.raises(OSError, match="No space left on device"):
            atomic_file.write_text_atomically(str(path), "new", 0o640)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["journal.json"]
