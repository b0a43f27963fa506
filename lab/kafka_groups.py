"""Consumer groups whose offsets live in Kafka (`__consumer_offsets`), through kafka-python 3.x's admin client."""

from __future__ import annotations

from lab import topics
from lab.errors import LabError


def committed_offsets(group: str) -> dict[tuple[str, int], int]:
    """(topic, partition) -> committed offset of the group in Kafka; empty when it has committed nothing."""
    admin = topics.admin_client()
    try:
        found = admin.list_group_offsets({group: None}).get(group, {})
    finally:
        admin.close()
    return {(tp.topic, tp.partition): meta.offset for tp, meta in found.items() if meta.offset >= 0}


def describe(group: str) -> dict:
    """DescribeGroups for one group: state, protocol type and members (member_id, client_id, client_host...)."""
    admin = topics.admin_client()
    try:
        return admin.describe_groups([group]).get(group, {})
    finally:
        admin.close()


def state(group: str) -> str | None:
    """The group's state as ListGroups reports it (Stable, Empty, ...); None when the cluster has no such group."""
    admin = topics.admin_client()
    try:
        groups = admin.list_groups()
    finally:
        admin.close()
    for item in groups:
        if item.get("group_id") == group:
            return item.get("group_state")
    return None


def delete(group: str) -> bool:
    """Delete the group from Kafka (it must have no members); True when it was there, False when it was not."""
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
    raise LabError(f"deleting Kafka consumer group {group} failed with {result}: stop its consumers first")
