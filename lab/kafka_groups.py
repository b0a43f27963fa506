# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Consumer groups whose offsets live in Kafka (`__consumer_offsets`), through kafka-python 3.x's admin client."""

from __future__ import annotations

import time

from lab import topics
from lab.errors import LabError

# A group coordinator moves or loads its partition of __consumer_offsets after a broker restart or a leader
# election; the lab's restarts make that common, so its reads ask again for a while.
COORDINATOR_ERRORS = ("NotCoordinatorError", "CoordinatorLoadInProgressError", "CoordinatorNotAvailableError")
COORDINATOR_WAIT = 30.0


def _ask(call):
    """call(admin) on a fresh admin client, again on a fresh one while the group's coordinator cannot answer."""
    deadline = time.monotonic() + COORDINATOR_WAIT
    while True:
        admin = topics.admin_client()
        try:
            return call(admin)
        except Exception as error:  # pylint: disable=broad-except
            if type(error).__name__ not in COORDINATOR_ERRORS or time.monotonic() > deadline:
                raise
        finally:
            admin.close()
        time.sleep(0.5)


def committed_offsets(group: str) -> dict[tuple[str, int], int]:
    """(topic, partition) -> committed offset of the group in Kafka; empty when it has committed nothing."""
    found = _ask(lambda admin: admin.list_group_offsets({group: None}).get(group, {}))
    return {(tp.topic, tp.partition): meta.offset for tp, meta in found.items() if meta.offset >= 0}


def describe(group: str) -> dict:
    """DescribeGroups for one group: state, protocol type and members (member_id, client_id, client_host...)."""
    return _ask(lambda admin: admin.describe_groups([group]).get(group, {}))


def states() -> dict[str, str]:
    """Every group Kafka's coordinators know, with its state as ListGroups reports it."""
    return {item["group_id"]: item.get("group_state") for item in _ask(lambda admin: admin.list_groups())}


def state(group: str) -> str | None:
    """The group's state as ListGroups reports it (Stable, Empty, ...); None when the cluster has no such group."""
    groups = _ask(lambda admin: admin.list_groups())
    for item in groups:
        if item.get("group_id") == group:
            return item.get("group_state")
    return None


# A consumer that stopped while its coordinator moved may not have told it that it left: the coordinator then
# drops the member once its session times out (kafka-python's default session.timeout.ms is 10 s).
MEMBERS_LEAVE_WAIT = 45.0


def delete(group: str) -> bool:
    """Delete the group from Kafka (it must have no members); True when it was there, False when it was not.
    Asks again while the coordinator moves or loads, and while members of stopped consumers time out."""
    deadline = time.monotonic() + MEMBERS_LEAVE_WAIT
    while True:
        admin = topics.admin_client()
        try:
            if not hasattr(admin, "delete_groups"):
                raise LabError("this kafka-python has no KafkaAdminClient.delete_groups: the lab needs kafka-python 3.x")
            # kafka-python 3.x answers {group: "OK" or the error's class name}.
            result = admin.delete_groups([group]).get(group)
        finally:
            admin.close()
        if result == "OK":
            return True
        if result == "GroupIdNotFoundError":
            return False
        if result not in COORDINATOR_ERRORS + ("NonEmptyGroupError",) or time.monotonic() > deadline:
            raise LabError(f"deleting Kafka consumer group {group} failed with {result}: stop its consumers first")
        time.sleep(0.5)
