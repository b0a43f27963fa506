# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Prints the collection's declared minimum versions as exact pins, for the test environment that proves them.

Every runtime requirement in requirements.txt is pinned to its `>=` floor, and ansible-core to the floor of
`requires_ansible` in meta/runtime.yml. A requirement without a floor is an error: its minimum would be untested.

    python tools/requirement_floors.py > build/floors.txt
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+(?:\[[A-Za-z0-9_,.-]+\])?)\s*(?P<spec>[^#;]*)")
FLOOR = re.compile(r">=\s*(?P<version>[0-9][0-9A-Za-z.]*)")


def floors(requirements_text: str, runtime_text: str) -> list[str]:
    pins = []
    for line in requirements_text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = REQUIREMENT.match(line)
        floor = FLOOR.search(match.group("spec")) if match else None
        if floor is None:
            raise ValueError(f"requirements.txt: {line!r} declares no minimum (>=): give it one")
        pins.append(f"{match.group('name')}=={floor.group('version')}")
    ansible = re.search(r"^requires_ansible:\s*[\"']?>=\s*([0-9.]+)", runtime_text, re.MULTILINE)
    if ansible is None:
        raise ValueError("meta/runtime.yml: requires_ansible declares no minimum (>=): give it one")
    pins.append(f"ansible-core=={ansible.group(1)}")
    return pins


def main() -> int:
    try:
        pins = floors((REPO / "requirements.txt").read_text(encoding="utf-8"),
                      (REPO / "meta" / "runtime.yml").read_text(encoding="utf-8"))
    except ValueError as error:
        sys.stderr.write(f"{error}\n")
        return 1
    sys.stdout.write("".join(f"{pin}\n" for pin in pins))
    return 0


if __name__ == "__main__":
    sys.exit(main())
