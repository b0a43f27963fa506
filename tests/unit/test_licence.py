# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One licence, GPL-3.0-or-later: in galaxy.yml, in every role's meta and in the header of every tracked script."""

from __future__ import annotations

import pathlib
import subprocess

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
LICENCE = "GPL-3.0-or-later"
SPDX_LINE = "# SPDX-License-Identifier: " + LICENCE
# The header is the first lines of a file: a shebang and a coding line may come before it.
HEADER_LINES = 6


def tracked_files() -> list[str]:
    """Every file git tracks in the repository, as paths relative to its root."""
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True,
    ).stdout.decode("utf-8")
    return [path for path in listing.split("\0") if path]


def is_script(path: str, text: str) -> bool:
    """A Python file or a shell script, by its name or by its shebang."""
    if path.endswith((".py", ".sh")):
        return True
    first = text.split("\n", 1)[0]
    return first.startswith("#!") and any(word in first for word in ("sh", "python"))


def leading_comments(text: str) -> list[str]:
    """The comment lines a file starts with (blank lines between them included), where a licence header is."""
    comments = []
    for line in text.split("\n"):
        if line.startswith("#"):
            comments.append(line)
        elif line.strip():
            break
    return comments


def header_problem(path: str, text: str) -> str | None:
    """What is wrong with the licence header of one script, or None.

    An empty ``__init__.py`` needs none: it holds nothing to license, and ansible-test's empty-init check
    requires those under tests/unit to stay empty.
    """
    if text == "" and path.endswith("__init__.py"):
        return None
    header = text.split("\n")[:HEADER_LINES]
    if SPDX_LINE not in header:
        return f"{path}: no '{SPDX_LINE}' line in its first {HEADER_LINES} lines"
    if any("Apache License" in line or "Apache-2.0" in line for line in leading_comments(text)):
        return f"{path}: its header still names the Apache licence"
    return None


@pytest.mark.parametrize(
    ("path", "text", "problem"),
    [
        ("plugins/modules/x.py", "#!/usr/bin/python\n# -*- coding: utf-8 -*-\n" + SPDX_LINE + "\n", None),
        ("lab/x.py", '"""Docstring."""\n', "lab/x.py: no"),
        ("lab/x.sh", "#!/bin/sh\n# SPDX-License-Identifier: Apache-2.0\n", "lab/x.sh: no"),
        ("lab/x.py", SPDX_LINE + '\n"""Apache Kafka\'s jars."""\n', None),
        ("x.py", "# Apache License 2.0 (see LICENSE)\n" + SPDX_LINE + "\n", "x.py: its header still names"),
        ("y.py", "\n".join([SPDX_LINE] + ["#"] * 6 + ["# Apache License 2.0 (see LICENSE)", "import os"]),
         "y.py: its header still names"),
        ("x.py", "\n" * HEADER_LINES + SPDX_LINE + "\n", "x.py: no"),
        ("tests/unit/__init__.py", "", None),
        ("lab/__init__.py", "import os\n", "lab/__init__.py: no"),
    ],
)
def test_header_problem(path, text, problem):
    found = header_problem(path, text)
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem)


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        ("a.py", "", True),
        ("a.sh", "", True),
        (".ci/run", "#!/usr/bin/env bash\nexec make test\n", True),
        ("tools/x", "#!/usr/bin/env python3\n", True),
        ("README.md", "# Title\n", False),
        ("playbooks/x.yml", "---\n", False),
    ],
)
def test_is_script(path, text, expected):
    assert is_script(path, text) is expected


def test_every_tracked_script_has_the_spdx_header():
    problems = []
    for path in tracked_files():
        file = REPO / path
        if not file.is_file() or file.is_symlink():
            continue
        text = file.read_text(encoding="utf-8", errors="replace")
        if is_script(path, text):
            problem = header_problem(path, text)
            if problem:
                problems.append(problem)
    assert problems == []


def test_galaxy_yml_names_only_gpl3():
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text(encoding="utf-8"))
    assert galaxy.get("license") == [LICENCE]
    assert "license_file" not in galaxy


def test_every_role_meta_names_only_gpl3():
    metas = sorted(REPO.glob("roles/*/meta/main.yml"))
    assert metas, "no roles/*/meta/main.yml found"
    wrong = {}
    for meta in metas:
        licence = yaml.safe_load(meta.read_text(encoding="utf-8"))["galaxy_info"].get("license")
        if licence != LICENCE:
            wrong[str(meta.relative_to(REPO))] = licence
    assert wrong == {}


def test_only_the_gpl3_text_ships():
    assert (REPO / "COPYING").is_file()
    assert "GNU GENERAL PUBLIC LICENSE" in (REPO / "COPYING").read_text(encoding="utf-8")
    assert not (REPO / "LICENSE").exists()
