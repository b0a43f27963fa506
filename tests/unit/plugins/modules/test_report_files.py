# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""report_files: planning helpers, and main() through the module-args / exit-json harness."""

from __future__ import annotations

import json
import os
from unittest import mock

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.files import report_files, run_journal
from ansible_collections.kafka_ops.remediation.plugins.modules import report_files as report_files_module
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.file_helpers import (
    failing_once, fsyncs_recorded, heavy_imports_of, listing, mode_of)
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.module_harness import run_module

REPORT = {"report": "skip_corrupt", "group": "billing", "records_lost_total": 3, "skipped": [{"partition": 1}]}
SUMMARY = "# skip_corrupt: consumer group `billing`\n\n- Records lost: **3**\n"


def files_run(args, check_mode=False, diff=False):
    return run_module(report_files_module.main, args, zookeeper=None, check_mode=check_mode, diff=diff)


def both_files(directory, **options):
    """The role's call: the JSON report and the Markdown summary side by side."""
    return dict(options, files=[dict(path=str(directory / "run.json"), json=REPORT),
                                dict(path=str(directory / "run.md"), text=SUMMARY)])


@pytest.fixture(name="written")
def written_fixture(tmp_path):
    """Both files as a first call wrote them."""
    directory = tmp_path / "reports"
    assert files_run(both_files(directory))["changed"] is True
    return directory


# --- writes ---------------------------------------------------------------------------------------------------

def test_writes_json_like_run_journal_and_text_as_is(tmp_path):
    result = files_run(both_files(tmp_path))
    json_text = (tmp_path / "run.json").read_text()
    assert json_text == run_journal.render_journal(REPORT) == json.dumps(REPORT, indent=2) + "\n"
    assert (tmp_path / "run.md").read_text() == SUMMARY
    assert result["changed"] is True
    assert result["files"] == [
        {"path": str(tmp_path / "run.json"), "changed": True, "size": len(json_text.encode())},
        {"path": str(tmp_path / "run.md"), "changed": True, "size": len(SUMMARY.encode())},
    ]
    assert "diff" not in result
    assert listing(tmp_path) == ["run.json", "run.md"]  # no temp file left


@pytest.mark.parametrize("value, expected", [
    ([1, "a"], '[\n  1,\n  "a"\n]\n'), ("text", '"text"\n'), (0, "0\n"), (False, "false\n"), ({}, "{}\n"),
])
def test_any_json_value_but_null_can_be_written(tmp_path, value, expected):
    files_run(dict(files=[dict(path=str(tmp_path / "v.json"), json=value)]))
    assert (tmp_path / "v.json").read_text() == expected


def test_text_is_written_byte_for_byte_without_an_added_newline(tmp_path):
    text = "zürich\r\nno newline at the end"
    result = files_run(dict(files=[dict(path=str(tmp_path / "t.txt"), text=text)]))
    assert (tmp_path / "t.txt").read_bytes() == text.encode("utf-8")
    assert result["files"][0]["size"] == len(text.encode("utf-8"))


def test_missing_directories_are_created_with_directory_mode(tmp_path):
    path = tmp_path / "a" / "b" / "r.md"
    files_run(dict(files=[dict(path=str(path), text="x")], mode="0600", directory_mode="0700"))
    assert path.read_text() == "x"
    assert mode_of(path) == 0o600
    assert mode_of(tmp_path / "a") == 0o700 and mode_of(tmp_path / "a" / "b") == 0o700


def test_existing_directories_keep_their_mode(tmp_path):
    os.chmod(tmp_path, 0o755)
    files_run(dict(files=[dict(path=str(tmp_path / "r.md"), text="x")], directory_mode="0700"))
    assert mode_of(tmp_path) == 0o755


def test_modes_are_applied_whatever_the_umask(tmp_path):
    old_umask = os.umask(0o077)
    try:
        files_run(both_files(tmp_path / "new"))
    finally:
        os.umask(old_umask)
    assert mode_of(tmp_path / "new" / "run.json") == 0o640 and mode_of(tmp_path / "new" / "run.md") == 0o640
    assert mode_of(tmp_path / "new") == 0o750


def test_a_path_with_a_tilde_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    result = files_run(dict(files=[dict(path="~/reports/r.md", text="x")]))
    assert result["files"][0]["path"] == str(tmp_path / "reports" / "r.md")
    assert (tmp_path / "reports" / "r.md").read_text() == "x"


def test_an_empty_list_writes_nothing(tmp_path):
    assert files_run(dict(files=[])) == {"changed": False, "files": [], "warnings_seen": []}


# --- idempotence and modes ------------------------------------------------------------------------------------

def test_a_second_call_changes_nothing_and_replaces_nothing(written):
    before = {name: os.stat(written / name) for name in ("run.json", "run.md")}
    result = files_run(both_files(written), diff=True)
    assert result["changed"] is False
    assert [entry["changed"] for entry in result["files"]] == [False, False]
    assert result["diff"] == []
    for name, old in before.items():
        now = os.stat(written / name)
        assert (now.st_ino, now.st_mtime_ns) == (old.st_ino, old.st_mtime_ns)


def test_only_the_file_that_differs_is_rewritten(written):
    inode_of_json = os.stat(written / "run.json").st_ino
    args = both_files(written)
    args["files"][1]["text"] = SUMMARY + "- Undo with: nothing to undo\n"
    result = files_run(args)
    assert [entry["changed"] for entry in result["files"]] == [False, True]
    assert os.stat(written / "run.json").st_ino == inode_of_json
    assert (written / "run.md").read_text().endswith("nothing to undo\n")


def test_a_changed_file_is_replaced_by_rename(written):
    inode = os.stat(written / "run.json").st_ino
    args = both_files(written)
    args["files"][0]["json"] = dict(REPORT, records_lost_total=4)
    files_run(args)
    assert os.stat(written / "run.json").st_ino != inode
    assert json.loads((written / "run.json").read_text())["records_lost_total"] == 4


def test_the_same_data_in_another_json_format_is_rewritten(written):
    (written / "run.json").write_text(json.dumps(REPORT))  # compact: equal as data, not as a file
    result = files_run(both_files(written))
    assert [entry["changed"] for entry in result["files"]] == [True, False]
    assert (written / "run.json").read_text() == json.dumps(REPORT, indent=2) + "\n"


def test_a_wrong_mode_alone_is_fixed_without_rewriting(written):
    os.chmod(written / "run.md", 0o644)
    inode = os.stat(written / "run.md").st_ino
    result = files_run(both_files(written), diff=True)
    assert [entry["changed"] for entry in result["files"]] == [False, True]
    assert mode_of(written / "run.md") == 0o640 and os.stat(written / "run.md").st_ino == inode
    assert result["diff"] == [{"before": {"mode": "0644"}, "after": {"mode": "0640"},
                               "before_header": f"{written / 'run.md'} (mode 0644)",
                               "after_header": f"{written / 'run.md'} (mode 0640)"}]
    assert files_run(both_files(written))["changed"] is False


@pytest.mark.parametrize("mode, expected", [("0600", 0o600), ("644", 0o644), ("0o660", 0o660), (0o604, 0o604)])
def test_mode_takes_what_run_journal_takes(tmp_path, mode, expected):
    files_run(dict(files=[dict(path=str(tmp_path / "r.md"), text="x")], mode=mode))
    assert mode_of(tmp_path / "r.md") == expected


# --- check mode and diff --------------------------------------------------------------------------------------

def test_check_mode_creates_nothing_and_reports_what_would_change(tmp_path):
    result = files_run(both_files(tmp_path / "a" / "b"), check_mode=True, diff=True)
    assert result["changed"] is True
    assert [entry["changed"] for entry in result["files"]] == [True, True]
    assert result["diff"] == [
        {"before": "", "after": json.dumps(REPORT, indent=2) + "\n", "before_header": str(tmp_path / "a/b/run.json"),
         "after_header": f"{tmp_path / 'a/b/run.json'} (mode 0640)"},
        {"before": "", "after": SUMMARY, "before_header": str(tmp_path / "a/b/run.md"),
         "after_header": f"{tmp_path / 'a/b/run.md'} (mode 0640)"},
    ]
    assert listing(tmp_path) == []


def test_check_mode_leaves_existing_files_and_modes_as_they_are(written):
    os.chmod(written / "run.md", 0o644)
    args = both_files(written)
    args["files"][0]["json"] = {"other": True}
    before = {name: (written / name).read_bytes() for name in ("run.json", "run.md")}
    mtimes = {name: os.stat(written / name).st_mtime_ns for name in before}
    result = files_run(args, check_mode=True)
    assert [entry["changed"] for entry in result["files"]] == [True, True]
    assert {name: (written / name).read_bytes() for name in before} == before
    assert {name: os.stat(written / name).st_mtime_ns for name in before} == mtimes
    assert mode_of(written / "run.md") == 0o644
    assert listing(written) == ["run.json", "run.md"]


def test_check_mode_refuses_a_bad_entry_as_the_real_run_would(tmp_path):
    result = files_run(dict(files=[dict(path=str(tmp_path), text="x")]), check_mode=True)
    assert result["failed"] is True and "is a directory" in result["msg"]


def test_diff_shows_the_file_on_disk_before_and_the_new_text_after(written):
    (written / "run.md").write_text("old summary\n")
    os.chmod(written / "run.md", 0o640)
    result = files_run(both_files(written), diff=True)
    path = str(written / "run.md")
    assert result["diff"] == [{"before": "old summary\n", "after": SUMMARY,
                               "before_header": path, "after_header": path}]


def test_diff_of_a_large_file_says_it_is_too_large(tmp_path):
    big = "x" * (report_files.MAX_DIFF_BYTES + 1)
    (tmp_path / "big.txt").write_text(big)
    result = files_run(dict(files=[dict(path=str(tmp_path / "big.txt"), text="small")]), diff=True)
    assert "before" not in result["diff"][0] and "after" not in result["diff"][0]
    assert result["diff"][0]["dst_larger"] == report_files.MAX_DIFF_BYTES and "src_larger" not in result["diff"][0]
    result = files_run(dict(files=[dict(path=str(tmp_path / "big.txt"), text=big)]), diff=True, check_mode=True)
    assert result["diff"][0]["src_larger"] == report_files.MAX_DIFF_BYTES


def test_diff_of_a_binary_file_says_so(tmp_path):
    (tmp_path / "r.md").write_bytes(b"\xff\xfe binary")
    result = files_run(dict(files=[dict(path=str(tmp_path / "r.md"), text="text")]), diff=True)
    assert result["diff"][0]["dst_binary"] == 1 and "before" not in result["diff"][0]
    assert (tmp_path / "r.md").read_text() == "text"


# --- bad input: one line, the entry named, nothing written ---------------------------------------------------

def assert_refused_and_nothing_written(result, message, directory, expected_listing):
    assert result["failed"] is True
    assert result["msg"] == message
    assert "\n" not in result["msg"]
    assert listing(directory) == expected_listing


@pytest.mark.parametrize("entry, found", [
    ({}, "neither json nor text"),
    ({"json": None}, "neither json nor text"),
    ({"json": {"a": 1}, "text": "x"}, "both json and text"),
    ({"json": [], "text": ""}, "both json and text"),
])
def test_an_entry_needs_exactly_one_of_json_and_text(tmp_path, entry, found):
    path = tmp_path / "bad.md"
    args = dict(files=[dict(path=str(tmp_path / "good.md"), text="x"), dict(entry, path=str(path))])
    assert_refused_and_nothing_written(
        files_run(args), f"files[1] ('{path}') has {found}: give exactly one of them", tmp_path, [])


def test_a_directory_at_a_file_path_is_refused_before_any_file_is_written(tmp_path):
    (tmp_path / "reports").mkdir()
    args = dict(files=[dict(path=str(tmp_path / "good.md"), text="x"), dict(path=str(tmp_path / "reports"), text="y")])
    assert_refused_and_nothing_written(
        files_run(args), f"files[1] path '{tmp_path / 'reports'}' is a directory: give the path of a file",
        tmp_path, ["reports"])


def test_a_file_where_a_directory_should_be_is_refused(tmp_path):
    (tmp_path / "reports").write_text("not a directory")
    path = tmp_path / "reports" / "r.md"
    args = dict(files=[dict(path=str(tmp_path / "good.md"), text="x"), dict(path=str(path), text="y")])
    assert_refused_and_nothing_written(
        files_run(args), f"'{tmp_path / 'reports'}' exists and is not a directory: cannot hold files[1] ('{path}')",
        tmp_path, ["reports"])


def test_an_unwritable_directory_is_refused_before_any_file_is_written(tmp_path):
    # The tests may run as root, who can write anywhere: access() stands in for the kernel's answer.
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    with mock.patch.object(report_files.os, "access",
                           lambda path, how: False if str(path) == str(locked) else real_access(path, how)):
        args = dict(files=[dict(path=str(tmp_path / "good.md"), text="x"),
                           dict(path=str(locked / "new" / "r.md"), text="y")])
        result = files_run(args)
    assert_refused_and_nothing_written(
        result, f"files[1] ('{locked / 'new' / 'r.md'}'): directory '{locked}' is not writable: give a path in a "
                f"directory you can write to", tmp_path, ["locked"])
    assert listing(locked) == []


def test_the_same_path_twice_is_refused(tmp_path):
    args = dict(files=[dict(path=str(tmp_path / "r.md"), text="x"), dict(path=str(tmp_path / "." / "r.md"), json=1)])
    assert_refused_and_nothing_written(
        files_run(args), f"files[1] path '{tmp_path / 'r.md'}' is also files[0]: give each file once", tmp_path, [])


@pytest.mark.parametrize("option", ["mode", "directory_mode"])
@pytest.mark.parametrize("value, message", [
    ("u=rw", "{option} 'u=rw' is not an octal file mode: give a quoted octal string like '0640' (symbolic modes "
             "are not supported)"),
    ("17777", "{option} '17777' is out of range: give a quoted octal string like '0640'"),
    (True, "{option} True is not a file mode: give a quoted octal string like '0640'"),
])
def test_a_bad_mode_is_refused_before_anything_is_written(tmp_path, option, value, message):
    args = both_files(tmp_path / "new", **{option: value})
    assert_refused_and_nothing_written(files_run(args), message.format(option=option), tmp_path, [])


def test_a_path_is_required(tmp_path):
    result = files_run(dict(files=[dict(text="x")]))
    assert result["failed"] is True and "path" in result["msg"] and "\n" not in result["msg"]


# --- atomicity ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["replace", "fsync"])
def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp_file(written, target):
    before = (written / "run.json").read_bytes()
    args = both_files(written)
    args["files"][0]["json"] = {"other": True}
    broken = failing_once(getattr(os, target), OSError(28, "No space left on device"))
    with mock.patch.object(run_journal.os, target, broken):
        result = files_run(args)
    assert result["failed"] is True
    assert result["msg"] == f"cannot write files[0] ('{written / 'run.json'}'): No space left on device"
    assert (written / "run.json").read_bytes() == before
    assert listing(written) == ["run.json", "run.md"]


def test_a_failure_after_a_written_file_says_which_were_written(tmp_path):
    real_replace = os.replace
    replaced = []

    def replace_then_fail(source, target):
        if replaced:
            raise OSError(13, "Permission denied")
        replaced.append(target)
        real_replace(source, target)

    with mock.patch.object(run_journal.os, "replace", replace_then_fail):
        result = files_run(both_files(tmp_path))
    assert result["msg"] == (f"cannot write files[1] ('{tmp_path / 'run.md'}'): Permission denied "
                             f"(files[0] was written)")
    assert listing(tmp_path) == ["run.json"]


def test_each_file_is_replaced_by_rename_and_its_directory_synced(tmp_path):
    (tmp_path / "run.json").write_text("old")
    with fsyncs_recorded() as synced:
        files_run(both_files(tmp_path))
    # Per file: the temp file, then the directory after the rename.
    assert synced == [False, True, False, True]


# --- light imports --------------------------------------------------------------------------------------------

def test_the_module_imports_neither_kazoo_nor_kafka():
    """Every import costs each call time in its AnsiballZ process; this module needs neither client."""
    assert heavy_imports_of("ansible_collections.kafka_ops.remediation.plugins.modules.report_files") == []
