# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run this collection's modules through the real `ansible` CLI and read ZooKeeper and Kafka directly, for lab
tests."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess

from kafka import TopicPartition
from kafka.admin import KafkaAdminClient
from kazoo.client import KazooClient
from lab.layout import ansible_command

from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection import zookeeper
# The unit tests' harness runs a module's main() in-process.
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.module_harness import run_module as run_with_clients

REPO = pathlib.Path(__file__).resolve().parents[2]
ZK_HOSTS = "127.0.0.10:2181"
ZK_CHROOT = "/kafka"
BOOTSTRAP_SERVERS = ["127.0.0.11:9092", "127.0.0.12:9092", "127.0.0.13:9092"]
GROUP_COMMAND = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"


def _ad_hoc(module: str, args: dict, check: bool = False, diff: bool = False) -> tuple[list[str], dict]:
    """The `ansible localhost -m kafka_ops.remediation.<module>` command line and its environment."""
    command = [ansible_command("ansible"), "localhost", "-m", f"kafka_ops.remediation.{module}",
               "-a", json.dumps(args)]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_CALLBACK_RESULT_FORMAT="json",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_NOCOLOR="1")
    return command, env


def start_module(module: str, args: dict) -> subprocess.Popen:
    """The same ad-hoc run, started in a session of its own so a test can kill it mid-run (os.killpg)."""
    command, env = _ad_hoc(module, args)
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def run_module(module: str, args: dict, check: bool = False, diff: bool = False) -> dict:
    """One ad-hoc `ansible localhost -m kafka_ops.remediation.<module>` run; returns the module's result."""
    command, env = _ad_hoc(module, args, check, diff)
    completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
                               check=False)
    # Ad-hoc output is 'localhost | CHANGED => {json}' (after any diff); failures say 'FAILED! =>'.
    marker = re.search(r"^localhost \| ([A-Z!]+) => ", completed.stdout, re.MULTILINE)
    if not marker:
        raise AssertionError(f"no module result from ansible (rc {completed.returncode}): "
                             f"{completed.stdout[-2000:]}{completed.stderr[-2000:]}")
    result = json.loads(completed.stdout[marker.end():])
    result["_stdout"] = completed.stdout
    result["failed"] = marker.group(1) == "FAILED!"
    return result


def run_in_process(main, args: dict, kafka, zookeeper_factory=zookeeper.ZooKeeper) -> dict:
    """A module's main() in this process with real clients (zookeeper_factory builds the ZooKeeper one from the
    module's params), for tests that must act between two of the module's own requests."""
    return run_with_clients(main, args, None, kafka, zookeeper_factory=zookeeper_factory)


def run_companion_playbook(playbook: str, extra: dict, *args: str, env: dict | None = None) -> tuple[int, str]:
    """One `ansible-playbook playbooks/<playbook>` run against the lab inventory, with more arguments (such as
    `-e @file`) and environment; returns (exit code, stdout then stderr)."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", **(env or {}))
    done = subprocess.run([ansible_command("ansible-playbook"), str(REPO / "playbooks" / playbook),
                           "-e", json.dumps(extra), *args], cwd=REPO, env=env, capture_output=True, text=True,
                          check=False, timeout=600)
    return done.returncode, done.stdout + done.stderr


def zk_client(chroot: str = ZK_CHROOT) -> KazooClient:
    client = KazooClient(hosts=ZK_HOSTS + chroot, timeout=10)
    client.start(timeout=10)
    return client


def snapshot(zk: KazooClient, group: str) -> dict:
    """Every node under /consumers/<group>/offsets with its data and version (what 'untouched' means)."""
    state = {}
    base = f"/consumers/{group}/offsets"
    if not zk.exists(base):
        return state
    for topic in zk.get_children(base):
        state[f"{base}/{topic}"] = None
        for partition in zk.get_children(f"{base}/{topic}"):
            data, stat = zk.get(f"{base}/{topic}/{partition}")
            state[f"{base}/{topic}/{partition}"] = (data, stat.version)
    return state


def kafka_admin() -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=BOOTSTRAP_SERVERS, client_id="kafka-ops-itest", request_timeout_ms=30000)


def kafka_snapshot(group: str) -> dict:
    """Every committed offset of a Kafka-stored group with its metadata, as KafkaAdminClient.list_group_offsets
    reads it: {(topic, partition): (offset, metadata)} (what 'untouched' means for Kafka)."""
    admin = kafka_admin()
    try:
        found = admin.list_group_offsets({group: None}).get(group, {})
    finally:
        admin.close()
    return {(tp.topic, tp.partition): (held.offset, held.metadata) for tp, held in found.items() if held.offset >= 0}


def kafka_offsets(group: str) -> dict:
    """{(topic, partition): committed offset} of a Kafka-stored group."""
    return {key: held[0] for key, held in kafka_snapshot(group).items()}


def kafka_offset_of(group: str, topic: str, partition: int):
    """The committed offset of one partition asked by name (OffsetFetch answers -1 when there is none): None
    when the group has no committed offset there."""
    admin = kafka_admin()
    try:
        found = admin.list_group_offsets({group: [TopicPartition(topic, partition)]}).get(group, {})
    finally:
        admin.close()
    held = found.get(TopicPartition(topic, partition))
    return None if held is None or held.offset < 0 else held.offset


def group_command(lab, *args: str) -> subprocess.CompletedProcess:
    """Kafka's own kafka-consumer-groups (ConsumerGroupCommand) from the lab's jars, on the lab's brokers."""
    return lab.run_tool(GROUP_COMMAND, "--bootstrap-server", ",".join(BOOTSTRAP_SERVERS), *args)


def group_coordinator(lab, group: str) -> int:
    """The broker id of the group's coordinator, as `kafka-consumer-groups --describe --state` shows it
    (COORDINATOR (ID) is 'host:port  (id)')."""
    done = group_command(lab, "--describe", "--state", "--group", group)
    found = re.search(r"\s\((\d+)\)\s", done.stdout)
    if done.returncode != 0 or not found:
        raise AssertionError(f"no coordinator in kafka-consumer-groups --describe --state: {done.stdout}{done.stderr}")
    return int(found.group(1))
