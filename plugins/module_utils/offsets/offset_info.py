# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""consumer_offset_info: read many groups' offsets with a few bulk requests, then assemble rows (pure)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.consumer_offsets import (
    NEGATIVE_OFFSET, OffsetDataError, format_table, group_path, ids_path, iso_utc, offset_problem, offsets_path, owners_path,
    parse_offset, stray_offset_path, unreadable_text)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets.kafka_groups import describe_table

STRAY_SINGULAR = "written by Kafka 1.1.0's broker to /offset (singular) by mistake; no consumer reads it"


@dataclass
class OffsetNode:
    group: str
    topic: str
    partition: int
    path: str
    raw: bytes
    mtime_ms: int
    owner: Optional[str] = None


@dataclass
class Snapshot:
    """What ZooKeeper holds for the selected groups, before any judgement."""

    members: dict[str, Optional[list[str]]] = field(default_factory=dict)   # None = group absent
    nodes: list[OffsetNode] = field(default_factory=list)
    topic_partitions: dict[str, Optional[set[int]]] = field(default_factory=dict)  # None = topic gone
    singular_paths: list[str] = field(default_factory=list)
    layout: str = "kafka"


def _keep(name: str, wanted: Optional[list]) -> bool:
    return not wanted or name in wanted


def _partition_number(name: str) -> Optional[int]:
    return int(name) if name.isdigit() else None


def read_kafka_layout(zk, groups: Optional[list[str]], topics: Optional[list[str]],
                      partitions: Optional[list[int]]) -> Snapshot:
    snapshot = Snapshot()
    names = groups or (zk.list_children(["/consumers"])[0] or [])
    listing = zk.list_children([path for g in names for path in (
        group_path(g), ids_path(g), offsets_path(g), owners_path(g), stray_offset_path(g))])
    per_topic_dirs: list[tuple[str, str, str]] = []
    for index, group in enumerate(names):
        exists, ids, offset_topics, owner_topics, singular = listing[index * 5:index * 5 + 5]
        snapshot.members[group] = None if exists is None else (ids or [])
        for topic in offset_topics or []:
            if _keep(topic, topics):
                per_topic_dirs.append((group, topic, "offsets"))
                if topic in (owner_topics or []):
                    per_topic_dirs.append((group, topic, "owners"))
        for topic in singular or []:
            if _keep(topic, topics):
                per_topic_dirs.append((group, topic, "offset"))
    dir_paths = [f"{group_path(g)}/{kind}/{t}" for g, t, kind in per_topic_dirs]
    children = zk.list_children(dir_paths)

    offset_keys: list[tuple[str, str, int, str]] = []
    owner_keys: list[tuple[str, str, int]] = []
    for (group, topic, kind), path, names_found in zip(per_topic_dirs, dir_paths, children):
        for child in names_found or []:
            number = _partition_number(child)
            if kind == "offset":
                snapshot.singular_paths.append(f"{path}/{child}")
            elif number is not None and not _keep(number, partitions):
                continue
            elif kind == "offsets":
                # A child that is not a partition number is kept (as -1) so it is reported as stray.
                offset_keys.append((group, topic, -1 if number is None else number, f"{path}/{child}"))
            elif number is not None:
                owner_keys.append((group, topic, number))
    topic_names = sorted({key[1] for key in offset_keys})
    found = zk.read_nodes([key[3] for key in offset_keys]
                          + [owners_path(g, t, p) for g, t, p in owner_keys]
                          + [f"/brokers/topics/{t}" for t in topic_names])
    offsets_found = found[:len(offset_keys)]
    owners_found = found[len(offset_keys):len(offset_keys) + len(owner_keys)]
    topics_found = found[len(offset_keys) + len(owner_keys):]
    owners = {key: node[0].decode("utf-8", "replace") for key, node in zip(owner_keys, owners_found) if node}
    for (group, topic, partition, path), node in zip(offset_keys, offsets_found):
        if node is not None:
            snapshot.nodes.append(OffsetNode(group, topic, partition, path, node[0], node[1].mtime,
                                             owners.get((group, topic, partition))))
    for topic, node in zip(topic_names, topics_found):
        snapshot.topic_partitions[topic] = _assigned_partitions(node)
    return snapshot


def _assigned_partitions(node) -> Optional[set[int]]:
    if node is None:
        return None
    try:
        return {int(p) for p in (json.loads(node[0].decode("utf-8")).get("partitions") or {})}
    except (UnicodeDecodeError, ValueError, AttributeError):
        return None


def read_storm_layout(zk, root: str, spouts: Optional[list[str]], topics: Optional[list[str]],
                      partitions: Optional[list[int]]) -> Snapshot:
    """Storm KafkaSpout keeps <zkRoot>/<id>/partition_<n> as JSON with offset and topic; there is no member
    registry, so group state is 'unknown'."""
    snapshot = Snapshot(layout="storm")
    root = root.rstrip("/")
    names = spouts or (zk.list_children([root or "/"])[0] or [])
    listing = zk.list_children([f"{root}/{spout}" for spout in names])
    paths = []
    for spout, children in zip(names, listing):
        snapshot.members[spout] = None if children is None else []
        paths += [(spout, f"{root}/{spout}/{child}") for child in children or [] if child.startswith("partition_")]
    for (spout, path), node in zip(paths, zk.read_nodes([item[1] for item in paths])):
        if node is None:
            continue
        try:
            state = json.loads(node[0].decode("utf-8"))
            topic, partition, offset = state["topic"], int(state["partition"]), state["offset"]
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
            snapshot.nodes.append(OffsetNode(spout, "", -1, path, node[0], node[1].mtime))
            continue
        if _keep(topic, topics) and _keep(partition, partitions):
            snapshot.nodes.append(OffsetNode(spout, topic, partition, path, str(offset).encode(), node[1].mtime))
    topic_names = sorted({n.topic for n in snapshot.nodes if n.topic})
    for topic, node in zip(topic_names, zk.read_nodes([f"/brokers/topics/{t}" for t in topic_names])):
        snapshot.topic_partitions[topic] = _assigned_partitions(node)
    return snapshot


def assemble(snapshot: Snapshot, log_offsets: Callable[[list[tuple[str, int]]], dict]) -> dict[str, Any]:
    """Rows, groups, stray nodes, unreadable offset nodes and the ConsumerOffsetChecker table from a snapshot
    (pure apart from the log_offsets callback, which returns {(topic, partition): (start, end)})."""
    stray = [dict(path=path, reason=STRAY_SINGULAR) for path in snapshot.singular_paths]
    valid: list[tuple[OffsetNode, int]] = []
    unreadable: list[tuple[OffsetNode, str]] = []
    for node in snapshot.nodes:
        known = snapshot.topic_partitions.get(node.topic)
        try:
            offset = parse_offset(node.raw, node.path) if node.partition >= 0 else None
        except OffsetDataError as error:
            stray.append(dict(path=node.path, reason=str(error)))
            problem = offset_problem(node.raw)
            if problem != NEGATIVE_OFFSET:
                unreadable.append((node, problem or ""))
            continue
        if offset is None:
            stray.append(dict(path=node.path, reason="not a partition offset node"))
        elif known is None:
            stray.append(dict(path=node.path, reason=f"topic '{node.topic}' no longer exists"))
        elif node.partition not in known:
            stray.append(dict(path=node.path, reason=f"topic '{node.topic}' has no partition {node.partition} "
                                                     f"(it has {len(known)})"))
        else:
            valid.append((node, offset))
    # Unreadable nodes get the log range too: it bounds the offset an operator will set them to.
    wanted = sorted({(item[0].topic, item[0].partition) for item in valid}
                    | {(item[0].topic, item[0].partition) for item in unreadable
                       if item[0].partition in (snapshot.topic_partitions.get(item[0].topic) or ())})
    ranges = log_offsets(wanted) if wanted else {}
    rows = []
    for node, offset in sorted(valid, key=lambda item: (item[0].group, item[0].topic, item[0].partition)):
        start, end = ranges.get((node.topic, node.partition), (None, None))
        rows.append(dict(
            group=node.group, topic=node.topic, partition=node.partition, offset=offset,
            log_start_offset=start, log_end_offset=end, lag=None if end is None else end - offset,
            owner=node.owner, last_commit=iso_utc(node.mtime_ms),
            below_log_start=start is not None and offset < start,
            above_log_end=end is not None and offset > end, path=node.path))
    unreadable_rows = []
    for node, reason in sorted(unreadable, key=lambda item: (item[0].group, item[0].topic, item[0].partition)):
        start, end = ranges.get((node.topic, node.partition), (None, None))
        unreadable_rows.append(dict(
            group=node.group, topic=node.topic, partition=node.partition, path=node.path, raw=unreadable_text(node.raw),
            reason=reason, log_start_offset=start, log_end_offset=end, owner=node.owner,
            last_commit=iso_utc(node.mtime_ms)))
    groups = []
    for name, members in sorted(snapshot.members.items()):
        if snapshot.layout == "storm":
            state = "absent" if members is None else "unknown"
        else:
            state = "absent" if members is None else ("active" if members else "inactive")
        groups.append(dict(group=name, state=state, members=sorted(members or []),
                           topics=sorted({row["topic"] for row in rows if row["group"] == name})))
    return dict(groups=groups, offsets=rows, stray_nodes=sorted(stray, key=lambda item: item["path"]),
                unreadable_offsets=unreadable_rows)


def merge_stores(zookeeper: dict[str, Any], kafka: dict[str, Any], named: Optional[list[str]]) -> dict[str, Any]:
    """One result from both stores: every row and group says its storage; a group of both stores has an entry
    for each; a named group neither store has is one 'absent' entry."""
    for row in zookeeper["offsets"]:
        row["storage"] = "zookeeper"
    in_kafka = {entry["group"] for entry in kafka["groups"]}
    groups = []
    for entry in zookeeper["groups"]:
        if entry["state"] == "absent":
            if entry["group"] in in_kafka:
                continue
            entry.update(storage=None, active=False)
        else:
            entry.update(storage="zookeeper", active=entry["state"] == "active")
        groups.append(entry)
    seen = {entry["group"] for entry in groups} | in_kafka
    groups += [dict(group=name, storage=None, state="absent", active=False, members=[], topics=[])
               for name in named or [] if name not in seen]
    groups += kafka["groups"]
    return dict(zookeeper, groups=sorted(groups, key=lambda entry: (entry["group"], entry["storage"] or "")),
                offsets=zookeeper["offsets"] + kafka["offsets"])


def tables(rows: list[dict[str, Any]], unreadable: list[dict[str, Any]]) -> list[str]:
    """ConsumerOffsetChecker's table for ZooKeeper-stored offsets, kafka-consumer-groups --describe's for
    Kafka-stored ones; both, a blank line apart, when a call read both."""
    in_zookeeper = [row for row in rows if row.get("storage") != "kafka"]
    in_kafka = [row for row in rows if row.get("storage") == "kafka"]
    parts = []
    if in_zookeeper or unreadable or not in_kafka:
        parts.append(format_table(in_zookeeper, unreadable))
    if in_kafka:
        parts.append(describe_table(in_kafka))
    return [line for index, part in enumerate(parts) for line in ([""] if index else []) + part]


def unstartable_groups(unreadable_offsets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The groups that cannot start as they are, one per group with its unreadable offset nodes and one line
    that says which node holds what and what to do. A legacy consumer parses every offset node of its
    partitions when it starts or rebalances; text that is not a decimal offset stops it there."""
    by_group: dict[str, list[dict[str, Any]]] = {}
    for node in unreadable_offsets:
        by_group.setdefault(node["group"], []).append(node)
    verdicts = []
    for group, nodes in sorted(by_group.items()):
        shown = "; ".join(f"{node['path']} holds {node['raw']!r}, {node['reason']}" for node in nodes[:3])
        more = f" (and {len(nodes) - 3} more)" if len(nodes) > 3 else ""
        first = nodes[0]
        message = (f"group '{group}' cannot start as it is: {shown}{more}. Set each node to the next offset to read "
                   f"with kafka_ops.remediation.consumer_offset (target=offset, partition_offsets: [{{topic: "
                   f"{first['topic']}, partition: {first['partition']}, offset: <offset>}}]), or restore a backup "
                   "taken before it changed (target=file)")
        verdicts.append(dict(group=group, paths=[node["path"] for node in nodes], message=message))
    return verdicts
