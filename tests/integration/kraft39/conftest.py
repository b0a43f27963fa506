# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The session-wide `kraft39_lab` fixture: the lab in KRaft mode on Kafka 3.9.1 (controller1-3, the ZooKeeper lab's
jars), for the one test here that proves the collection on a 3.9 KRaft cluster.

Every lab uses the brokers' addresses, so it brings down whatever lab is up (ZooKeeper, or KRaft of another Kafka
version), then brings this one up, and at the end down again unless LAB_KEEP=1. It holds the same lab lock as
tests/integration/conftest.py for the whole session, so it never changes the lab under someone else's tests. Run
these tests on their own (`pytest tests/integration/kraft39`), after the others: the Makefile's `integration`
target does.
"""

from __future__ import annotations

import os

import pytest

from lab import api as lab_api
from lab import cluster
from lab.lock import lab_lock

KAFKA = "3.9.1"


@pytest.fixture(scope="session")
def kraft39_lab():
    """The lab's Python API (module lab.api), with the lab up in KRaft mode on Kafka 3.9.1."""
    with lab_lock():
        if not lab_api.is_up(lab_api.KRAFT, KAFKA):
            if cluster.running_processes():
                lab_api.down()
            lab_api.up(metadata=lab_api.KRAFT, kafka=KAFKA)
        yield lab_api
        if os.environ.get("LAB_KEEP") != "1":
            lab_api.down()
