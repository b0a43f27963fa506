# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The session-wide `lab` fixture: one real lab for every integration test.

It brings the lab up when it is not running and stops it at the end only when it started it (LAB_KEEP=1 keeps
it). It holds the lab lock for the whole session unless `flock /tmp/kafka-ops-lab.lock` above pytest already
holds it, so tests of different people never change the shared lab at the same time.
"""

from __future__ import annotations

import os
import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from lab import api as lab_api  # noqa: E402  pylint: disable=wrong-import-position
from lab.lock import lab_lock  # noqa: E402  pylint: disable=wrong-import-position
from lab.scenarios import cleanup, make_stuck_group, unique_name  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="session")
def lab():
    """The lab's Python API (module lab.api), with the lab up."""
    with lab_lock():
        started = False
        if not lab_api.is_up():
            lab_api.up()
            started = True
        yield lab_api
        if started and os.environ.get("LAB_KEEP") != "1":
            lab_api.down()


@pytest.fixture
def stuck_group(lab):
    """(group, what lab.corrupt broke): a group whose consumer is stuck on a record damaged on every replica."""
    group = unique_name("stuck")
    broken = make_stuck_group(group)
    yield group, broken
    cleanup(group)
