# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""run_journal's main() through the module-args / exit-json harness: present, absent, check and diff mode, atomicity."""

from __future__ import annotations

import json
import os
from unittest import mock

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.files import run_journal
from ansible_collections.kafka_ops.remediation.plugins.modules import run_journal as run_journal_module

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.file_helpers import (
    failing_once, fsyncs_recorded, heavy_imports_of, listing, mode_of)
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.module_harness import run_module


PLANNED = {"phase": "planned", "group": "billing", "stop_order": [3, 1, 2], "triage": {"targets": []}}


def journal_run(args, check_mode=False, diff=False):
    return run_module(run_journal_module.main, args, zookeeper=None, check_mode=check_mode, diff=diff)


@pytest.fixture(name="journal")
def journal_fixture(tmp_path):
    """An existing journal written the way the playbook's copy task wrote it, mode 0640."""
    path = tmp_path / "state" / "billing.json"
    path.parent.mkdir()
    path.write_text(json.dumps(PLANNED, indent=2) + "\n")
    path.chmod(0o640)
    return path


# --- main(): state=present ----------------------------------------------------------------------------------

def test_create_makes_missing_parent_directories_with_their_modes(tmp_path):
    path = tmp_path / "a" / "b" / "journal.json"
    result = journal_run(dict(path=str(path), update=PLANNED, mode="0600", directory_mode="0700"))
    assert result["changed"] is True and result["existed"] is False
    assert result["journal"] == PLANNED and result["path"] == str(path)
    assert json.loads(path.read_text()) == PLANNED
    assert path.read_text() == json.dumps(PLANNED, indent=2) + "\n"
    assert mode_of(path) == 0o600
    assert mode_of(tmp_path / "a") == 0o700 and mode_of(tmp_path / "a" / "b") == 0o700
    assert listing(path.parent) == ["journal.json"]  # no temp file left


def test_modes_are_applied_whatever_the_umask(tmp_path):
    path = tmp_path / "new" / "journal.json"
    old_umask = os.umask(0o077)
    try:
        journal_run(dict(path=str(path), update={"phase": "planned"}))
    finally:
        os.umask(old_umask)
    assert mode_of(path) == 0o640 and mode_of(path.parent) == 0o750


def test_existing_directories_keep_their_mode(tmp_path):
    (tmp_path / "state").mkdir(mode=0o755)
    os.chmod(tmp_path / "state", 0o755)
    journal_run(dict(path=str(tmp_path / "state" / "j.json"), update={"a": 1}, directory_mode="0700"))
    assert mode_of(tmp_path / "state") == 0o755


def test_empty_update_creates_an_empty_journal(tmp_path):
    path = tmp_path / "j.json"
    result = journal_run(dict(path=str(path)))
    assert result["changed"] is True and result["journal"] == {}
    assert path.read_text() == "{}\n"


def test_update_merges_top_level_keys(journal):
    result = journal_run(dict(path=str(journal), update={"phase": "offsets_moved", "backup_file": "/b/1.offsets",
                                                         "triage": {"targets": [1]}}))
    expected = dict(PLANNED, phase="offsets_moved", triage={"targets": [1]}, backup_file="/b/1.offsets")
    assert result["changed"] is True and result["existed"] is True
    assert result["journal"] == expected
    assert json.loads(journal.read_text()) == expected
    assert mode_of(journal) == 0o640


def test_append_extends_a_list_once_under_the_same_lock(journal):
    first = journal_run(dict(path=str(journal), append={"rolled": ["kafka1"]}))
    second = journal_run(dict(path=str(journal), append={"rolled": ["kafka3", "kafka1"]}))
    again = journal_run(dict(path=str(journal), append={"rolled": "kafka3"}))
    assert first["changed"] is True and first["journal"]["rolled"] == ["kafka1"]
    assert second["journal"]["rolled"] == ["kafka1", "kafka3"]
    assert again["changed"] is False
    assert json.loads(journal.read_text())["rolled"] == ["kafka1", "kafka3"]


def test_append_applies_after_update(journal):
    result = journal_run(dict(path=str(journal), update={"rolled": ["kafka2"]}, append={"rolled": ["kafka1"]}))
    assert result["journal"]["rolled"] == ["kafka2", "kafka1"]


def test_append_to_a_key_that_is_not_a_list_is_refused_and_changes_nothing(journal):
    before = journal.read_text()
    result = journal_run(dict(path=str(journal), append={"phase": ["x"]}))
    assert result["failed"] is True
    assert result["msg"] == "cannot append to journal key 'phase': it holds str, not a list"
    assert journal.read_text() == before


def test_second_run_with_the_same_update_changes_nothing(tmp_path):
    path = tmp_path / "state" / "j.json"
    args = dict(path=str(path), update={"phase": "planned", "rolled": ["kafka1"]})
    first = journal_run(args)
    stat_after_first = os.stat(path)
    second = journal_run(args)
    assert first["changed"] is True
    assert second["changed"] is False and second["existed"] is True
    assert second["journal"] == {"phase": "planned", "rolled": ["kafka1"]}
    stat_after_second = os.stat(path)
    assert stat_after_second.st_ino == stat_after_first.st_ino  # not replaced
    assert stat_after_second.st_mtime_ns == stat_after_first.st_mtime_ns


def test_same_content_in_another_format_is_left_alone(journal):
    journal.write_text(json.dumps(PLANNED))  # compact, no trailing newline
    before = journal.read_bytes()
    result = journal_run(dict(path=str(journal), update={"phase": "planned"}))
    assert result["changed"] is False
    assert journal.read_bytes() == before


def test_a_wrong_mode_alone_is_fixed_without_rewriting(journal):
    journal.chmod(0o644)
    inode = os.stat(journal).st_ino
    result = journal_run(dict(path=str(journal), update={"phase": "planned"}))
    assert result["changed"] is True
    assert mode_of(journal) == 0o640 and os.stat(journal).st_ino == inode
    assert journal_run(dict(path=str(journal), update={"phase": "planned"}))["changed"] is False


def test_a_relative_path_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = journal_run(dict(path="j.json", update={"a": 1}))
    assert result["path"] == str(tmp_path / "j.json")
    assert json.loads((tmp_path / "j.json").read_text()) == {"a": 1}


@pytest.mark.parametrize("content, problem", [
    ('{"phase": ', "is not valid JSON"),
    ("[]\n", "holds a JSON array, not an object"),
    ("\xff\xfe{}", "is not UTF-8 text"),
])
def test_a_broken_journal_is_refused_and_left_unchanged(journal, content, problem):
    journal.write_bytes(content.encode("latin-1"))
    before = journal.read_bytes()
    result = journal_run(dict(path=str(journal), update={"phase": "offsets_moved"}))
    assert result["failed"] is True
    assert result["msg"].startswith(f"journal '{journal}' {problem}")
    assert "\n" not in result["msg"]
    assert journal.read_bytes() == before
    assert listing(journal.parent) == ["billing.json"]


def test_a_directory_at_the_journal_path_is_refused(tmp_path):
    result = journal_run(dict(path=str(tmp_path), update={"a": 1}))
    assert result["failed"] is True
    assert result["msg"] == f"journal path '{tmp_path}' is a directory: give the path of a file"


def test_a_file_where_a_parent_directory_should_be_is_refused(tmp_path):
    (tmp_path / "state").write_text("not a directory")
    result = journal_run(dict(path=str(tmp_path / "state" / "j.json"), update={"a": 1}))
    assert result["failed"] is True
    assert result["msg"] == f"'{tmp_path / 'state'}' exists and is not a directory: cannot hold the journal"


def test_a_symbolic_mode_is_refused_before_anything_is_written(tmp_path):
    result = journal_run(dict(path=str(tmp_path / "j.json"), update={"a": 1}, mode="u=rw"))
    assert result["failed"] is True and result["msg"].startswith("mode 'u=rw' is not an octal file mode")
    assert listing(tmp_path) == []


# --- main(): state=absent -----------------------------------------------------------------------------------

def test_absent_removes_the_journal(journal):
    result = journal_run(dict(path=str(journal), state="absent"))
    assert result["changed"] is True and result["existed"] is True and result["journal"] == {}
    assert not journal.exists()
    again = journal_run(dict(path=str(journal), state="absent"))
    assert again["changed"] is False and again["existed"] is False and again["journal"] == {}


def test_absent_removes_a_broken_journal_too(journal):
    journal.write_text("[")
    assert journal_run(dict(path=str(journal), state="absent"))["changed"] is True
    assert not journal.exists()


def test_absent_with_a_missing_directory_is_no_change(tmp_path):
    result = journal_run(dict(path=str(tmp_path / "none" / "j.json"), state="absent"))
    assert result["changed"] is False and result["existed"] is False
    assert not (tmp_path / "none").exists()


# --- check mode and diff ------------------------------------------------------------------------------------

def test_check_mode_creates_nothing_and_reports_the_change(tmp_path):
    path = tmp_path / "a" / "b" / "j.json"
    result = journal_run(dict(path=str(path), update=PLANNED), check_mode=True, diff=True)
    assert result["changed"] is True and result["existed"] is False and result["journal"] == PLANNED
    assert result["diff"] == {"before": "", "after": json.dumps(PLANNED, indent=2) + "\n",
                              "before_header": str(path), "after_header": str(path)}
    assert listing(tmp_path) == []


def test_check_mode_leaves_an_existing_journal_as_it_is(journal):
    before = journal.read_bytes()
    mtime = os.stat(journal).st_mtime_ns
    result = journal_run(dict(path=str(journal), update={"phase": "offsets_moved"}), check_mode=True)
    assert result["changed"] is True and result["journal"]["phase"] == "offsets_moved"
    assert "diff" not in result
    assert journal.read_bytes() == before and os.stat(journal).st_mtime_ns == mtime


def test_check_mode_does_not_remove(journal):
    result = journal_run(dict(path=str(journal), state="absent"), check_mode=True, diff=True)
    assert result["changed"] is True and result["existed"] is True
    assert result["diff"]["before"] == journal.read_text() and result["diff"]["after"] == ""
    assert journal.exists()


def test_check_mode_refuses_a_broken_journal_as_the_real_run_would(journal):
    journal.write_text("[]")
    result = journal_run(dict(path=str(journal), update={"a": 1}), check_mode=True)
    assert result["failed"] is True and "holds a JSON array" in result["msg"]


def test_diff_shows_the_text_on_disk_before_and_the_merged_text_after(journal):
    journal.write_text(json.dumps(PLANNED))  # the before text is the file as it is, not re-rendered
    result = journal_run(dict(path=str(journal), update={"phase": "offsets_moved"}), diff=True)
    assert result["diff"]["before"] == json.dumps(PLANNED)
    assert result["diff"]["after"] == json.dumps(dict(PLANNED, phase="offsets_moved"), indent=2) + "\n"
    assert result["diff"]["after"] == journal.read_text()


def test_diff_of_an_unchanged_journal_is_equal_texts(journal):
    result = journal_run(dict(path=str(journal), update={"phase": "planned"}), diff=True)
    assert result["changed"] is False
    assert result["diff"]["before"] == result["diff"]["after"] == journal.read_text()


# --- atomicity ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["replace", "fsync"])
def test_a_failed_write_keeps_the_old_journal_and_leaves_no_temp_file(journal, target):
    before = journal.read_bytes()
    broken = failing_once(getattr(os, target), OSError(28, "No space left on device"))
    with mock.patch.object(run_journal.os, target, broken):
        result = journal_run(dict(path=str(journal), update={"phase": "offsets_moved"}))
    assert result["failed"] is True
    assert result["msg"] == f"cannot update journal '{journal}': No space left on device"
    assert journal.read_bytes() == before
    assert listing(journal.parent) == ["billing.json"]


def test_a_failed_serialisation_keeps_the_old_journal_and_leaves_no_temp_file(journal):
    before = journal.read_bytes()
    with pytest.raises(TypeError):
        with run_journal.locked_directory(str(journal.parent)) as descriptor:
            run_journal.write_atomically(str(journal), {"phase": object()}, 0o640, descriptor)
    assert journal.read_bytes() == before
    assert listing(journal.parent) == ["billing.json"]


def test_a_failure_between_writing_and_renaming_removes_the_temp_file(journal):
    before = journal.read_bytes()
    with mock.patch.object(run_journal.os, "fchmod", side_effect=PermissionError(1, "Operation not permitted")):
        result = journal_run(dict(path=str(journal), update={"phase": "offsets_moved"}))
    assert result["failed"] is True and "Operation not permitted" in result["msg"]
    assert journal.read_bytes() == before
    assert listing(journal.parent) == ["billing.json"]


def test_the_journal_is_replaced_by_rename_and_the_directory_is_synced(journal):
    inode = os.stat(journal).st_ino
    with fsyncs_recorded() as synced:
        journal_run(dict(path=str(journal), update={"phase": "offsets_moved"}))
    assert os.stat(journal).st_ino != inode  # a new file took the old one's name
    assert synced == [False, True]  # the temp file, then the directory after the rename


def test_writers_take_the_directory_lock(journal):
    locks = []
    real_flock = run_journal.fcntl.flock

    def recording_flock(descriptor, operation):
        locks.append((os.fstat(descriptor).st_ino, operation))
        real_flock(descriptor, operation)

    with mock.patch.object(run_journal.fcntl, "flock", recording_flock):
        journal_run(dict(path=str(journal), update={"phase": "offsets_moved"}))
    assert locks == [(os.stat(journal.parent).st_ino, run_journal.fcntl.LOCK_EX)]


# --- light imports ------------------------------------------------------------------------------------------

def test_the_module_imports_neither_kazoo_nor_kafka():
    """Every import costs each call time in its AnsiballZ process; this module needs neither client."""
    assert heavy_imports_of("ansible_collections.kafka_ops.remediation.plugins.modules.run_journal") == []
