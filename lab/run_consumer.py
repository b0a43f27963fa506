# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one program app1's consumer scripts start: it reads the group's config and becomes the consumer its
`kind` names (exec, so the pid in the pid file and the config path the scripts look for stay the same).

`python run_consumer.py --config <json>`; kind "legacy" (the default, for configs written before there was a
kind) runs legacy_consumer.py, "modern" runs modern_consumer.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

PROGRAMS = {"legacy": "legacy_consumer.py", "modern": "modern_consumer.py"}


def program(config: dict) -> str:
    """The consumer program file for a group config, next to this file."""
    kind = config.get("kind", "legacy")
    if kind not in PROGRAMS:
        raise SystemExit(f"consumer kind {kind!r} of group {config.get('group')!r} is not one of {', '.join(PROGRAMS)}")
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), PROGRAMS[kind])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the group's JSON config written by lab consumer configure")
    args = parser.parse_args()
    with open(args.config, encoding="utf-8") as handle:
        config = json.load(handle)
    path = program(config)
    os.execv(sys.executable, [sys.executable, path, "--config", args.config])
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
