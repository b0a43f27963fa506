# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""lab.topics.create_topic right after a start, with a fake admin client (no cluster needed)."""

from __future__ import annotations

import pytest
from kafka.errors import InvalidReplicationFactorError

from lab import topics


class FakeAdmin:
    """Refuses the replication factor `refusals` times, as a controller that has not seen every broker yet."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.calls = 0
        self.closed = False

    def create_topics(self, new_topics):
        self.calls += 1
        if self.calls <= self.refusals:
            raise InvalidReplicationFactorError("Replication factor: 3 larger than available brokers: 2.")

    def close(self):
        self.closed = True


@pytest.fixture(name="admin")
def admin_fixture(monkeypatch):
    def install(refusals: int) -> FakeAdmin:
        fake = FakeAdmin(refusals)
        monkeypatch.setattr(topics, "_admin", lambda: fake)
        monkeypatch.setattr(topics, "topic_exists", lambda topic: False)
        monkeypatch.setattr(topics, "wait_topic_ready", lambda topic: None)
        monkeypatch.setattr(topics.time, "sleep", lambda seconds: None)
        return fake
    return install


def test_a_replication_factor_the_controller_does_not_see_yet_is_retried(admin):
    fake = admin(refusals=2)
    assert topics.create_topic("orders", partitions=3, replication=3) is True
    assert fake.calls == 3 and fake.closed


def test_a_replication_factor_above_the_lab_brokers_fails_at_once(admin):
    fake = admin(refusals=1)
    with pytest.raises(InvalidReplicationFactorError):
        topics.create_topic("orders", partitions=3, replication=4)
    assert fake.calls == 1 and fake.closed


def test_a_controller_that_never_sees_the_brokers_fails_after_the_topic_wait(admin, monkeypatch):
    fake = admin(refusals=10**6)
    clock = iter(range(0, 10**6, 10))
    monkeypatch.setattr(topics.time, "monotonic", lambda: next(clock))
    with pytest.raises(InvalidReplicationFactorError):
        topics.create_topic("orders", partitions=3, replication=3)
    assert 1 < fake.calls < 10 and fake.closed
