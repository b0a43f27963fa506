# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The session-wide `kraft_lab` fixture: the lab in KRaft mode (Kafka 4.4.0, controller1-3) for the tests here.

Every lab uses the brokers' addresses, so it brings down a ZooKeeper lab (or a KRaft lab of Kafka 3.9.1) that is up
first, then brings the KRaft lab up, and at the end down again unless LAB_KEEP=1 (a KRaft lab left up makes a later
`lab up` of the ZooKeeper tests refuse, with a line that says to run `lab down`). It holds the same lab lock as tests/integration/conftest.py
for the whole session, so it never changes the lab under someone else's tests. Run these tests on their own
(`pytest tests/integration/kraft`), after the ZooKeeper ones: the Makefile's `integration` target does.
"""

from __future__ import annotations

import os

import pytest

from lab import api as lab_api
from lab import cluster, layout
from lab.lock import lab_lock
from lab.scenarios import cleanup, make_stuck_kafka_group, unique_name


@pytest.fixture(scope="session")
def kraft_lab():
    """The lab's Python API (module lab.api), with the lab up in KRaft mode."""
    with lab_lock():
        if not lab_api.is_up(lab_api.KRAFT):
            # A ZooKeeper lab or a KRaft lab of Kafka 3.9.1, whole or in part, holds the brokers' addresses.
            ours = (lab_api.mode(), lab_api.kafka()) == (lab_api.KRAFT, layout.kafka_version(layout.KRAFT))
            if not ours and cluster.running_processes():
                lab_api.down()
            lab_api.up(metadata=lab_api.KRAFT)
        yield lab_api
        if os.environ.get("LAB_KEEP") != "1":
            lab_api.down()


@pytest.fixture
def stuck_group(kraft_lab):  # pylint: disable=unused-argument
    """(group, what lab.corrupt broke): a modern group stuck on a record damaged on every replica."""
    group = unique_name("kraft-stuck")
    broken = make_stuck_kafka_group(group)
    yield group, broken
    cleanup(group)
