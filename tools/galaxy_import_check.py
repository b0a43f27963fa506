# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run galaxy-importer on a built collection tarball the way Galaxy would, and fail on anything it reports.

    .venv-publish/bin/python tools/galaxy_import_check.py build/publish/kafka_ops-remediation-X.Y.Z.tar.gz

The importer exits 0 after a collection it accepts even when it logged problems on the way: ansible-lint's
findings, a role without a description and the like are WARNING lines, a failed ansible-doc an ERROR line. This
check fails on any of them, so a clean import is what passes. Its settings are tools/galaxy-importer.cfg.

galaxy.yml names no repository until the project has a public one, and the importer refuses metadata without
one before it checks anything else. Then the importer is given a copy of the tarball whose MANIFEST.json has
a stand-in address under the reserved .invalid domain, so that every other check still runs, and this says,
on every run, that Galaxy will refuse the real tarball until galaxy.yml names the real repository.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile

CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "galaxy-importer.cfg")
STAND_IN_REPOSITORY = "https://repository-not-set.invalid/"
SUCCESS_LINE = "Importer processing completed successfully"


def with_repository(manifest: dict) -> tuple[dict, bool]:
    """The manifest with a stand-in repository when it names none, and whether one was put in."""
    if manifest.get("collection_info", {}).get("repository"):
        return manifest, False
    info = dict(manifest.get("collection_info", {}), repository=STAND_IN_REPOSITORY)
    return dict(manifest, collection_info=info), True


def import_problems(output: str, returncode: int) -> list[str]:
    """Every problem the importer reported: its ERROR and WARNING lines, a failed exit, no success line."""
    problems = [line for line in output.splitlines() if line.startswith(("ERROR", "WARNING"))]
    if returncode != 0:
        problems.append(f"galaxy-importer exited with {returncode}")
    if SUCCESS_LINE not in output:
        problems.append(f"galaxy-importer did not say '{SUCCESS_LINE}'")
    return problems


def copy_with_manifest(tarball: str, target: str, manifest: dict) -> None:
    """Copy the tarball member by member, with MANIFEST.json replaced."""
    data = json.dumps(manifest, indent=4).encode("utf-8")
    with tarfile.open(tarball) as source, tarfile.open(target, "w:gz") as copy:
        for member in source.getmembers():
            if member.name == "MANIFEST.json":
                member.size = len(data)
                copy.addfile(member, io.BytesIO(data))
            else:
                copy.addfile(member, source.extractfile(member) if member.isfile() else None)


def main(tarball: str) -> int:
    with tarfile.open(tarball) as source:
        manifest = json.load(source.extractfile("MANIFEST.json"))
    manifest, stand_in = with_repository(manifest)
    to_import = os.path.abspath(tarball)
    if stand_in:
        workdir = os.path.join(os.path.dirname(to_import), "repository-stand-in")
        os.makedirs(workdir, exist_ok=True)
        to_import = os.path.join(workdir, os.path.basename(tarball))
        copy_with_manifest(tarball, to_import, manifest)
        print(f"NOT PUBLISHABLE YET: galaxy.yml names no repository, and Galaxy and Automation Hub refuse a "
              f"collection without one. The importer checks a copy with {STAND_IN_REPOSITORY} instead; set "
              f"'repository' in galaxy.yml to the project's real address before publishing.")
    # As on Galaxy: no ansible.cfg of the working tree, whose collections path would show ansible-doc the working
    # tree instead of the tarball. The importer writes importer_result.json into its working directory: keep it
    # beside the tarball it read.
    env = {name: value for name, value in os.environ.items() if name != "ANSIBLE_CONFIG"}
    env["GALAXY_IMPORTER_CONFIG"] = CONFIG
    result = subprocess.run(
        [sys.executable, "-m", "galaxy_importer.main", os.path.basename(to_import)],
        cwd=os.path.dirname(to_import), env=env, capture_output=True, text=True, check=False,
    )
    output = result.stdout + result.stderr
    log = os.path.join(os.path.dirname(to_import), "importer.log")
    with open(log, "w", encoding="utf-8") as file:
        file.write(output)
    for line in output.splitlines():
        if not line.startswith("Loading "):
            print(line)
    problems = import_problems(output, result.returncode)
    if problems:
        print(f"galaxy-importer reported {len(problems)} problem(s) (full log: {log}):", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} COLLECTION_TARBALL")
    sys.exit(main(sys.argv[1]))
