# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Decisions about consumer groups whose offsets Kafka stores (__consumer_offsets), from what the brokers said:
a group's state and members, where its offsets live, what both stores say together, the describe table and
the backup. Pure: the brokers' answers come in as plain data (see connection/kafka_client.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.consumer_offsets import (
    OffsetDataError, TopicPartition)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.offset_plan import Stored, name

STORAGES = ["auto", "zookeeper", "kafka"]
PREFERENCES = ["zookeeper", "kafka", "larger"]
# A group the coordinator holds no member for. A classic group that never existed describes as Dead.
INACTIVE_STATES = ("Empty", "Dead")
SHOWN = 5


@dataclass
class KafkaGroup:
    """One group as its coordinator sees it. state is Kafka's (Empty, Stable, PreparingRebalance, ...) or
    'absent' when no broker knows the group; members_known is False for a group on the new consumer protocol
    (KIP-848), whose members DescribeGroups does not show."""

    group: str
    state: str
    group_type: str = ""
    protocol_type: str = ""
    members: list[dict[str, Any]] = field(default_factory=list)
    members_known: bool = True

    @property
    def active(self) -> bool:
        return self.state not in INACTIVE_STATES and self.state != "absent"

    def as_result(self) -> dict[str, Any]:
        return dict(group=self.group, storage="kafka", state=self.state, group_type=self.group_type or None,
                    protocol_type=self.protocol_type, members=self.members, members_known=self.members_known)


def _member(raw: dict[str, Any]) -> dict[str, Any]:
    assignment = raw.get("member_assignment") or {}
    partitions = []
    if isinstance(assignment, dict):
        for entry in assignment.get("assigned_partitions") or []:
            partitions += [f"{entry['topic']}/{number}" for number in entry.get("partitions") or []]
    host = raw.get("client_host") or ""
    return dict(member_id=raw.get("member_id") or "", client_id=raw.get("client_id") or "",
                host=host[1:] if host.startswith("/") else host, group_instance_id=raw.get("group_instance_id"),
                partitions=sorted(partitions))


def group_view(group: str, listed: Optional[dict[str, Any]], described: Optional[dict[str, Any]],
               has_offsets: bool) -> KafkaGroup:
    """What the group is, from ListGroups (listed: its entry, None when not listed), DescribeGroups (described)
    and whether it has committed offsets.

    DescribeGroups only knows classic groups: a group on the new consumer protocol describes as Dead with no
    members, however many it has. ListGroups gives such a group's real state and type, so it wins there.
    """
    described = described or {}
    described_state = described.get("group_state") or ""
    if listed is not None and (listed.get("group_type") or "").lower() == "consumer":
        return KafkaGroup(group, listed.get("group_state") or "Unknown", "consumer",
                          listed.get("protocol_type") or "consumer", [], members_known=False)
    if described_state and described_state != "Dead":
        return KafkaGroup(group, described_state, (listed or {}).get("group_type") or "classic",
                          described.get("protocol_type") or "", [_member(m) for m in described.get("members") or []])
    if listed is not None:
        return KafkaGroup(group, listed.get("group_state") or "Empty", listed.get("group_type") or "classic",
                          listed.get("protocol_type") or "")
    # Offsets committed by an admin or an old consumer (no group coordination) leave an Empty group; a group
    # neither listed nor holding offsets is not in Kafka at all.
    return KafkaGroup(group, "Empty" if has_offsets else "absent")


def member_phrase(view: KafkaGroup) -> str:
    """'2 members (client id billing-app on 10.0.0.5, ...)' or the KIP-848 caveat."""
    if not view.members_known:
        return f"members of this new-protocol (KIP-848) group in state {view.state}, which DescribeGroups cannot list"
    shown = ", ".join(f"client id {m['client_id'] or '?'} on {m['host'] or '?'}" for m in view.members[:SHOWN])
    more = f" and {len(view.members) - SHOWN} more" if len(view.members) > SHOWN else ""
    count = len(view.members)
    return f"{count} member{'' if count == 1 else 's'} ({shown}{more})" if count else "no member listed yet"


def refusal(view: KafkaGroup, waited: float) -> str:
    """One line for a group that still has members: who they are and what to do."""
    after = f" after waiting {waited:g} s" if waited > 0 else ""
    return (f"group '{view.group}' is {view.state}{after} with {member_phrase(view)}: the coordinator accepts "
            "offset changes only while a group has no member. Stop its consumers (a crashed or static member "
            "leaves after session.timeout.ms), or pass wait_inactive=<seconds>")


def resolve_storage(group: str, requested: str, zookeeper_has: Optional[bool], kafka_has: bool,
                    where_zookeeper: str, where_kafka: str) -> str:
    """zookeeper, kafka or both: where this group's offsets live. zookeeper_has is None when no ZooKeeper was
    given (zk_hosts unset: a KRaft cluster or a Kafka-only setup)."""
    if requested == "zookeeper":
        return "zookeeper"
    if requested == "kafka":
        return "kafka"
    if zookeeper_has and kafka_has:
        return "both"
    if zookeeper_has:
        return "zookeeper"
    if kafka_has:
        return "kafka"
    looked = where_kafka if zookeeper_has is None else f"{where_zookeeper} nor {where_kafka}"
    raise OffsetDataError(f"group '{group}' has no committed offsets in {looked}: check the group name"
                          f"{' and zk_chroot' if zookeeper_has is not None else ''}")


def stored_from_kafka(committed: dict[TopicPartition, tuple[int, str, int]],
                      keys: list[TopicPartition]) -> dict[TopicPartition, Stored]:
    """Kafka's committed offsets as the planner reads stores: no version (Kafka has no compare-and-set)."""
    return {key: Stored(committed[key][0] if key in committed else None, None) for key in keys}


def combine_stores(zookeeper: dict[TopicPartition, Stored], kafka: dict[TopicPartition, Stored],
                   prefer: Optional[str]) -> tuple[dict[TopicPartition, Stored], list[dict[str, Any]]]:
    """One current offset per partition from a group stored in both places, and the partitions where they
    disagree. An old consumer with dual.commit.enabled starts from the larger of the two, so 'larger' is what
    it would do; a disagreement with no preference refuses."""
    current: dict[TopicPartition, Stored] = {}
    disagree = []
    for key in sorted(set(zookeeper) | set(kafka)):
        in_zookeeper, in_kafka = zookeeper.get(key, Stored(None, None)), kafka.get(key, Stored(None, None))
        zk_offset = in_zookeeper.offset if in_zookeeper.unreadable is None else in_zookeeper.unreadable
        if zk_offset != in_kafka.offset:
            disagree.append(dict(topic=key[0], partition=key[1], zookeeper=zk_offset, kafka=in_kafka.offset))
        if prefer == "kafka" or (prefer == "larger" and _larger(in_kafka.offset, in_zookeeper)):
            current[key] = Stored(in_kafka.offset, in_zookeeper.version)
        else:
            current[key] = in_zookeeper
    if disagree and prefer is None:
        shown = "; ".join(f"{name((d['topic'], d['partition']))} ZooKeeper {_shown(d['zookeeper'])}, Kafka "
                          f"{_shown(d['kafka'])}" for d in disagree[:3])
        more = f" (and {len(disagree) - 3} more)" if len(disagree) > 3 else ""
        raise OffsetDataError(f"the group's offsets in ZooKeeper and in Kafka disagree: {shown}{more}; pass "
                              "prefer_store=larger (what a dual-commit consumer starts from), zookeeper or kafka; "
                              "nothing was changed")
    return current, disagree


def _larger(kafka_offset: Optional[int], zookeeper: Stored) -> bool:
    if kafka_offset is None:
        return False
    return zookeeper.offset is None or kafka_offset > zookeeper.offset


def _shown(value: Any) -> str:
    return "none" if value is None else repr(value) if isinstance(value, str) else str(value)


def describe_table(rows: list[dict[str, Any]]) -> list[str]:
    """kafka-consumer-groups --describe's columns, one line per committed partition."""
    header = ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST",
              "CLIENT-ID"]

    def cell(value: Any) -> str:
        return "-" if value is None or value == "" else str(value)

    cells = [header] + [[cell(row[column]) for column in ("group", "topic", "partition", "offset", "log_end_offset",
                                                          "lag", "consumer_id", "host", "client_id")]
                        for row in sorted(rows, key=lambda row: (row["group"], row["topic"], row["partition"]))]
    widths = [max(len(line[column]) for line in cells) for column in range(len(header))]
    return ["  ".join(value.ljust(width) for value, width in zip(line, widths)).rstrip() for line in cells]


def offset_rows(view: KafkaGroup, committed: dict[TopicPartition, tuple[int, str, int]],
                ranges: dict[TopicPartition, tuple[Optional[int], Optional[int]]]) -> list[dict[str, Any]]:
    """consumer_offset_info's rows for a Kafka-stored group, with the member that owns each partition."""
    owners = {partition: member for member in view.members for partition in member["partitions"]}
    rows = []
    for key in sorted(committed):
        offset, metadata, epoch = committed[key]
        start, end = ranges.get(key, (None, None))
        member = owners.get(name(key)) or {}
        rows.append(dict(group=view.group, topic=key[0], partition=key[1], offset=offset, log_start_offset=start,
                         log_end_offset=end, lag=None if end is None else max(0, end - offset),
                         owner=member.get("member_id"), consumer_id=member.get("member_id"), host=member.get("host"),
                         client_id=member.get("client_id"), last_commit=None,
                         below_log_start=start is not None and offset < start,
                         above_log_end=end is not None and offset > end, path=None, storage="kafka",
                         metadata=metadata, leader_epoch=epoch))
    return rows


def backup_csv(before: dict[TopicPartition, Optional[int]]) -> str:
    """The partitions that had a committed offset, in kafka-consumer-groups' reset CSV (topic,partition,offset),
    so that --reset-offsets --from-file reads it too."""
    return "".join(f"{topic},{partition},{offset}\n" for (topic, partition), offset in sorted(before.items())
                   if offset is not None)


def backup_sidecar(group: str, before: dict[TopicPartition, Optional[int]],
                   metadata: dict[TopicPartition, str], origin: str, taken: str) -> str:
    """What the CSV cannot say: the partitions that had no committed offset (a restore deletes theirs) and the
    metadata each commit carried (a restore writes it back)."""
    return json.dumps(dict(
        format="kafka_ops.remediation consumer_offset backup sidecar", group=group, kafka=origin, taken=taken,
        absent=[dict(topic=t, partition=p) for (t, p), offset in sorted(before.items()) if offset is None],
        metadata=[dict(topic=t, partition=p, metadata=text) for (t, p), text in sorted(metadata.items()) if text],
        restore="kafka_ops.remediation.consumer_offset target=file file=<the .csv beside this file>",
    ), indent=1) + "\n"


def parse_sidecar(text: str, group: str, source: str) -> tuple[list[TopicPartition], dict[TopicPartition, str]]:
    """(partitions that had no offset, metadata per partition) from a backup's sidecar."""
    try:
        data = json.loads(text)
        if data.get("group") != group:
            raise OffsetDataError(f"{source} is the backup of group '{data.get('group')}', not '{group}': "
                                  "pick this group's backup")
        absent = [(item["topic"], int(item["partition"])) for item in data.get("absent") or []]
        metadata = {(item["topic"], int(item["partition"])): str(item["metadata"]) for item in data.get("metadata") or []}
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise OffsetDataError(f"{source} is not a consumer_offset backup sidecar ({type(error).__name__}): restore "
                              "from the .csv alone or fix the file")
    return absent, metadata
