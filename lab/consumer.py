# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`lab consumer configure|start|stop|status`: app1's consumers, legacy (ZooKeeper offsets) or modern (Kafka
offsets), through one set of service scripts; the group's config says which kind runs."""

from __future__ import annotations

import json
from pathlib import Path

from lab import layout, processes, zk
from lab.errors import LabError


def _app_dir() -> Path:
    return layout.host_dir(layout.APP_HOST)


def config_file(group: str) -> Path:
    return _app_dir() / "conf" / f"consumer-{group}.json"


def output_file(group: str) -> Path:
    return _app_dir() / "data" / f"consumed-{group}.txt"


def log_file(group: str) -> Path:
    return _app_dir() / "logs" / f"consumer-{group}.log"


def state_file(group: str) -> Path:
    return _app_dir() / "run" / f"consumer-{group}.state.json"


def pid_file(group: str) -> Path:
    return _app_dir() / "run" / f"consumer-{group}.pid"


def script(action: str) -> Path:
    return _app_dir() / "bin" / f"consumer-{action}.sh"


def pid(group: str) -> int | None:
    return processes.running_pid(pid_file(group), str(config_file(group)))


def running_groups() -> list[str]:
    run = _app_dir() / "run"
    groups = [path.name[len("consumer-"):-len(".pid")] for path in run.glob("consumer-*.pid")] if run.exists() else []
    return sorted(group for group in groups if pid(group) is not None)


def _check_group(group: str) -> None:
    if not group or "/" in group or group.startswith("."):
        raise LabError(f"invalid consumer group name {group!r}: use letters, digits, '-', '_' or '.'")


KINDS = ("legacy", "modern")
# The client id the modern consumer gives Kafka: DescribeGroups shows it for each member, naming the lab's app.
MODERN_CLIENT_ID = f"kafka-ops-lab-{layout.APP_HOST}"


def configure(group: str, topics: list[str] | str, kind: str = "legacy", dual_commit: bool = False) -> Path:
    """Write the group's config. kind "modern" runs a Kafka group member; dual_commit (legacy only) also commits
    every offset to Kafka, like the old consumer's offsets.storage=kafka with dual.commit.enabled=true."""
    _check_group(group)
    if kind not in KINDS:
        raise LabError(f"consumer kind {kind!r} is not one of {', '.join(KINDS)}")
    if dual_commit and kind != "legacy":
        raise LabError(f"dual commit is a legacy consumer's option; group {group} is configured as {kind}")
    if kind == "legacy" and layout.mode() == layout.KRAFT:
        raise LabError(f"the legacy consumer keeps its offsets in the cluster's ZooKeeper, which a KRaft lab does not "
                       f"have: configure group {group} with --kind modern")
    topics = [topics] if isinstance(topics, str) else list(topics)
    config = {
        "group": group,
        "kind": kind,
        "dual_commit": dual_commit,
        "client_id": MODERN_CLIENT_ID,
        "topics": topics,
        "zk_hosts": layout.ZK_HOSTS,
        "zk_chroot": layout.ZK_CHROOT,
        "bootstrap_servers": layout.BOOTSTRAP.split(","),
        "output_file": str(output_file(group)),
        "state_file": str(state_file(group)),
        "client_host": layout.APP_HOST,
        "commit_interval_seconds": 1.0,
    }
    path = config_file(group)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def read_config(group: str) -> dict:
    try:
        return json.loads(config_file(group).read_text())
    except (OSError, ValueError):
        return {}


def kind(group: str) -> str:
    """The kind of consumer the group's config runs; legacy for a config written before there were kinds."""
    return read_config(group).get("kind", "legacy")


def start(group: str, topic: str | list[str] | None = None, kind: str = "legacy", dual_commit: bool = False) -> str:
    """Start the group's consumer; with topic, (re)write its config first (kind, dual_commit), else use the
    config there is."""
    _check_group(group)
    if topic is not None:
        configure(group, topic, kind, dual_commit)
    elif not config_file(group).exists():
        raise LabError(f"consumer group {group} has no config: run python -m lab consumer configure --group {group} "
                       "--topic T first")
    result = processes.run_script(script("start"), group, timeout=30)
    if result.returncode != 0:
        raise LabError(f"{script('start')} {group} failed: {(result.stderr or result.stdout).strip()}")
    return result.stdout.strip()


def wait_registered(group: str, timeout: float = 30.0) -> None:
    """Wait until the consumer has registered in ZooKeeper (legacy) or got its partitions from the group
    coordinator (modern), or raise naming its log."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid(group) is None:
            raise LabError(f"consumer {group} exited: see {log_file(group)}")
        state = read_state(group)
        if state.get("registered"):
            return
        time.sleep(0.1)
    raise LabError(f"consumer {group} did not register within {timeout:.0f} s: see {log_file(group)}")


def stop(group: str) -> str:
    _check_group(group)
    result = processes.run_script(script("stop"), group, timeout=60)
    if result.returncode != 0:
        raise LabError(f"{script('stop')} {group} failed: {(result.stderr or result.stdout).strip()}")
    return result.stdout.strip()


def read_state(group: str) -> dict:
    try:
        return json.loads(state_file(group).read_text())
    except (OSError, ValueError):
        return {}


def status(group: str) -> dict:
    """Per partition: the committed offset (ZooKeeper for a legacy group, Kafka for a modern one), whether the
    consumer is stuck there and its last error."""
    # A KRaft lab has no ZooKeeper groups: whatever the config says, its groups live in Kafka.
    if kind(group) == "modern" or layout.mode() == layout.KRAFT:
        return _modern_status(group)
    state = read_state(group) if pid(group) is not None else {}
    partitions = []
    with zk.client() as client:
        members = zk.children(client, f"/consumers/{group}/ids")
        for topic in zk.children(client, f"/consumers/{group}/offsets"):
            for partition in sorted(zk.children(client, f"/consumers/{group}/offsets/{topic}"), key=int):
                committed = int(zk.read_text(client, f"/consumers/{group}/offsets/{topic}/{partition}") or -1)
                live = state.get("partitions", {}).get(f"{topic}/{partition}", {})
                partitions.append({"topic": topic, "partition": int(partition), "committed_offset": committed,
                                   "position": live.get("position"), "stuck": bool(live.get("stuck")),
                                   "last_error": live.get("last_error")})
    return {"group": group, "kind": "legacy", "running": pid(group) is not None, "pid": pid(group),
            "members": members, "partitions": partitions, "log_file": str(log_file(group)),
            "output_file": str(output_file(group))}


def _modern_status(group: str) -> dict:
    from lab import kafka_groups

    state = read_state(group) if pid(group) is not None else {}
    live = state.get("partitions", {})
    committed = kafka_groups.committed_offsets(group)
    keys = sorted(set(committed) | {(key.rsplit("/", 1)[0], int(key.rsplit("/", 1)[1])) for key in live})
    partitions = []
    for topic, partition in keys:
        item = live.get(f"{topic}/{partition}", {})
        partitions.append({"topic": topic, "partition": partition,
                           "committed_offset": committed.get((topic, partition), -1), "position": item.get("position"), "stuck": bool(item.get("stuck")),
                           "last_error": item.get("last_error")})
    description = kafka_groups.describe(group)
    members = [f"{m.get('client_id')}{m.get('client_host')} {m.get('member_id')}" for m in description.get("members", [])]
    return {"group": group, "kind": "modern", "running": pid(group) is not None, "pid": pid(group),
            "members": members, "group_state": description.get("group_state"), "partitions": partitions,
            "log_file": str(log_file(group)), "output_file": str(output_file(group))}


def format_status(current: dict) -> str:
    running = f"running pid {current['pid']}" if current["running"] else "not running"
    lines = [f"{current.get('kind', 'legacy')} consumer group {current['group']}: {running}, "
             f"{len(current['members'])} registered member(s); log {current['log_file']}"]
    for item in current["partitions"]:
        line = f"  {item['topic']} partition {item['partition']}: committed {item['committed_offset']}"
        if item["stuck"]:
            line += f", STUCK: {item['last_error']}"
        lines.append(line)
    return "\n".join(lines)


def consumed_records(group: str) -> list[tuple[str, int, int, str]]:
    path = output_file(group)
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        topic, partition, offset, key = line.split(" ", 3)
        records.append((topic, int(partition), int(offset), key))
    return records
