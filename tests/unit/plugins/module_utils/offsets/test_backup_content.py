# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A backup's content: read from the files a backup wrote, and written back as the same files to restore from."""

from __future__ import annotations

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import backup_content
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.backup_content import (
    BackupContentError, read_backup_content, restore_files)

ZK_TEXT = "# kafka_ops.remediation consumer_offset backup (ExportZkOffsets format)\n/consumers/g/offsets/t/0:5\n"
CSV_TEXT = "t,0,5\n"
META_TEXT = '{"group": "g", "absent": [{"topic": "t", "partition": 1}]}\n'


def test_files_of_a_backup_add_the_csv_sidecar():
    assert backup_content.files_of_backup(["/b/g-1.offsets", "/b/g-1.csv", "/b/g-1.csv"]) == [
        "/b/g-1.offsets", "/b/g-1.csv", "/b/g-1.csv.meta.json"]


def test_the_content_of_a_backup_in_both_stores_is_every_file_it_wrote(tmp_path):
    for name, text in (("g-1.offsets", ZK_TEXT), ("g-1.csv", CSV_TEXT), ("g-1.csv.meta.json", META_TEXT)):
        (tmp_path / name).write_text(text)
    content = read_backup_content("g", [str(tmp_path / "g-1.offsets"), str(tmp_path / "g-1.csv")])
    assert content == {"group": "g", "files": {"g-1.offsets": ZK_TEXT, "g-1.csv": CSV_TEXT,
                                               "g-1.csv.meta.json": META_TEXT}}


def test_a_csv_without_its_sidecar_is_all_there_is(tmp_path):
    (tmp_path / "g-1.csv").write_text(CSV_TEXT)
    assert read_backup_content("g", [str(tmp_path / "g-1.csv")])["files"] == {"g-1.csv": CSV_TEXT}


def test_restoring_a_zookeeper_backup_restores_its_offsets_file():
    answer = restore_files({"group": "g", "files": {"g-1.offsets": ZK_TEXT}}, "g", "/d")
    assert answer == {"files": [{"path": "/d/g-1.offsets", "text": ZK_TEXT}], "restore_file": "/d/g-1.offsets"}


def test_restoring_a_kafka_backup_restores_its_csv_with_the_sidecar_beside_it():
    answer = restore_files({"files": {"g-1.csv.meta.json": META_TEXT, "g-1.csv": CSV_TEXT}}, "g", "/d")
    assert answer["restore_file"] == "/d/g-1.csv"
    assert [entry["path"] for entry in answer["files"]] == ["/d/g-1.csv", "/d/g-1.csv.meta.json"]


def test_restoring_a_backup_of_both_stores_restores_from_the_offsets_file_with_the_csv_beside_it():
    answer = restore_files({"group": "g", "files": {"g-1.offsets": ZK_TEXT, "g-1.csv": CSV_TEXT,
                                                    "g-1.csv.meta.json": META_TEXT}}, "g", "/d")
    assert answer["restore_file"] == "/d/g-1.offsets" and len(answer["files"]) == 3


@pytest.mark.parametrize("content, message", [
    (None, "must be the kafka_ops_backup_content a run published"),
    ({"files": {}}, "must be the kafka_ops_backup_content a run published"),
    ({"files": ["g-1.offsets"]}, "must be the kafka_ops_backup_content a run published"),
    ({"group": "h", "files": {"h-1.offsets": ZK_TEXT}}, "a backup of group 'h', not of 'g'"),
    ({"files": {"../g-1.offsets": ZK_TEXT}}, "a file name without a directory is expected"),
    ({"files": {".g-1.offsets": ZK_TEXT}}, "a file name without a directory is expected"),
    ({"files": {"g-1.offsets": 5}}, "must hold the file's text, got int"),
    ({"files": {"g-1.txt": ZK_TEXT}}, "names a file 'g-1.txt' that no backup writes"),
    ({"files": {"g-1.offsets": ZK_TEXT, "g-2.offsets": ZK_TEXT}}, "holds files of 2 backups"),
    ({"files": {"g-1.csv.meta.json": META_TEXT}}, "has the sidecar of g-1.csv but not the CSV itself"),
])
def test_content_that_is_not_a_backup_of_the_group_is_refused_in_one_line(content, message):
    with pytest.raises(BackupContentError, match=message):
        restore_files(content, "g", "/d")
