# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""tools/galaxy_import_check.py: what counts as a problem in the importer's log, and the repository stand-in."""

from __future__ import annotations

import importlib.util
import io
import json
import pathlib
import tarfile

import pytest

TOOL = pathlib.Path(__file__).resolve().parents[2] / "tools" / "galaxy_import_check.py"
_SPEC = importlib.util.spec_from_file_location("galaxy_import_check", TOOL)
check = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(check)

CLEAN = "Importing with galaxy-importer 0.4.44\nLoading role broker_service\n" + check.SUCCESS_LINE + "\n"


@pytest.mark.parametrize(
    ("output", "returncode", "expected"),
    [
        (CLEAN, 0, []),
        (
            "ERROR: The import failed for the following reason: No role readme found.\n",
            1,
            [
                "ERROR: The import failed for the following reason: No role readme found.",
                "galaxy-importer exited with 1",
                f"galaxy-importer did not say '{check.SUCCESS_LINE}'",
            ],
        ),
        (
            "WARNING: roles/x/tasks/main.yml:3: name[casing]: All names should start with an uppercase letter.\n"
            + CLEAN,
            0,
            ["WARNING: roles/x/tasks/main.yml:3: name[casing]: All names should start with an uppercase letter."],
        ),
        ("Importing with galaxy-importer 0.4.44\n", 0, [f"galaxy-importer did not say '{check.SUCCESS_LINE}'"]),
    ],
)
def test_import_problems(output, returncode, expected):
    assert check.import_problems(output, returncode) == expected


def test_a_manifest_without_repository_gets_the_stand_in():
    manifest = {"collection_info": {"namespace": "kafka_ops", "repository": None}, "format": 1}
    patched, stand_in = check.with_repository(manifest)
    assert stand_in is True
    assert patched["collection_info"] == {"namespace": "kafka_ops", "repository": check.STAND_IN_REPOSITORY}
    assert patched["format"] == 1
    assert manifest["collection_info"]["repository"] is None


def test_a_manifest_with_repository_is_left_alone():
    manifest = {"collection_info": {"repository": "https://git.example.org/kafka_ops/remediation"}}
    assert check.with_repository(manifest) == (manifest, False)


def test_copy_with_manifest_replaces_only_the_manifest(tmp_path):
    source = tmp_path / "kafka_ops-remediation-1.0.0.tar.gz"
    files = {"MANIFEST.json": b'{"collection_info": {}}', "README.md": b"# kafka_ops.remediation\n"}
    with tarfile.open(source, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    target = tmp_path / "copy.tar.gz"
    check.copy_with_manifest(str(source), str(target), {"collection_info": {"repository": "x"}})
    with tarfile.open(target) as tar:
        assert tar.getnames() == ["MANIFEST.json", "README.md"]
        assert json.load(tar.extractfile("MANIFEST.json")) == {"collection_info": {"repository": "x"}}
        assert tar.extractfile("README.md").read() == files["README.md"]
