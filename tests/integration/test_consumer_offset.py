# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""consumer_offset and consumer_offset_info against the lab's real ZooKeeper, brokers and legacy consumer."""

from __future__ import annotations

import json
import pathlib
import threading
import uuid

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection import zookeeper
from ansible_collections.kafka_ops.remediation.plugins.modules import consumer_offset
from lab.scenarios import private_group
from lab.waiting import wait_for
from offsets_helpers import (ZK_CHROOT, ZK_HOSTS, run_companion_playbook, run_in_process, run_module, snapshot,
                             zk_client)

pytestmark = pytest.mark.lab
ZK = dict(zk_hosts=ZK_HOSTS, zk_chroot=ZK_CHROOT)


@pytest.fixture(scope="module")
def consumed_group(lab, tmp_path_factory):
    """A topic with 3x20 records and a group whose legacy consumer read all of it and stopped."""
    suffix = uuid.uuid4().hex[:8]
    topic, group = f"offsets-it-{suffix}", f"offsets-it-{suffix}"
    lab.create_topic(topic, partitions=3)
    lab.produce(topic, 60, partitions=3)
    lab.consumer_configure(group, topic)
    lab.consumer_start(group, topic)
    zk = zk_client()
    try:
        wait_for(lambda: all(zk.exists(f"/consumers/{group}/offsets/{topic}/{p}") and
                             zk.get(f"/consumers/{group}/offsets/{topic}/{p}")[0] == b"20" for p in range(3)),
                 what="the consumer to commit offset 20 on every partition")
    finally:
        lab.consumer_stop(group, topic)
    wait_for(lambda: not zk.get_children(f"/consumers/{group}/ids"), what="the consumer to deregister")
    yield dict(topic=topic, group=group, zk=zk, backups=str(tmp_path_factory.mktemp("backups")))
    zk.stop()
    zk.close()


def test_check_apply_readback_idempotent_and_restore(consumed_group):
    topic, group, zk = consumed_group["topic"], consumed_group["group"], consumed_group["zk"]
    args = dict(ZK, group=group, topics=[topic], target="shift_by", shift_by=-5, backup_dir=consumed_group["backups"])
    before = snapshot(zk, group)

    checked = run_module("consumer_offset", args, check=True, diff=True)
    assert checked["changed"] is True and not checked.get("failed")
    assert [(e["before"], e["after"]) for e in checked["plan"]] == [(20, 15)] * 3
    # ansible prints the diff (and drops it from the result): before/after per partition.
    assert all(f'-    "{topic}/{p}": 20' in checked["_stdout"] and f'+    "{topic}/{p}": 15' in checked["_stdout"]
               for p in range(3))
    assert snapshot(zk, group) == before, "check mode touched ZooKeeper"

    applied = run_module("consumer_offset", args)
    assert applied["changed"] is True and applied["transactions"] == 1
    assert [zk.get(f"/consumers/{group}/offsets/{topic}/{p}")[0] for p in range(3)] == [b"15"] * 3

    again = run_module("consumer_offset", dict(args, target="offset", offset=15, shift_by=None))
    assert again["changed"] is False and again["backup_file"] is None

    restored = run_module("consumer_offset", dict(ZK, group=group, target="file", file=applied["backup_file"],
                                                  backup=False))
    assert restored["changed"] is True
    assert {path: value and value[0] for path, value in snapshot(zk, group).items()} == \
        {path: value and value[0] for path, value in before.items()}


def test_refuses_a_running_consumer_and_names_it(lab, consumed_group):
    topic, group, zk = consumed_group["topic"], consumed_group["group"], consumed_group["zk"]
    lab.consumer_start(group, topic)
    try:
        members = wait_for(lambda: zk.get_children(f"/consumers/{group}/ids"), what="the consumer to register")
        before = snapshot(zk, group)
        refused = run_module("consumer_offset", dict(ZK, group=group, topics=[topic], target="earliest",
                                                     backup_dir=consumed_group["backups"]))
        assert refused.get("failed") and members[0] in refused["msg"] and "force=true" in refused["msg"]
        assert snapshot(zk, group) == before
    finally:
        lab.consumer_stop(group, topic)
    wait_for(lambda: not zk.get_children(f"/consumers/{group}/ids"), what="the consumer to deregister")


def test_only_if_guard_and_range_check(consumed_group):
    topic, group, zk = consumed_group["topic"], consumed_group["group"], consumed_group["zk"]
    before = snapshot(zk, group)
    current = int(zk.get(f"/consumers/{group}/offsets/{topic}/0")[0])
    skip = dict(ZK, group=group, target="skip", backup_dir=consumed_group["backups"],
                partition_offsets=[dict(topic=topic, partition=0, offset=current - 1)])
    guarded = run_module("consumer_offset", dict(skip, expected_offsets=[dict(topic=topic, partition=0,
                                                                              offset=current - 2)]))
    assert guarded.get("failed") and f"not at the expected {current - 2}" in guarded["msg"]
    too_far = run_module("consumer_offset", dict(skip, partition_offsets=[dict(topic=topic, partition=0,
                                                                               offset=10_000)]))
    assert too_far.get("failed") and "above the log end offset 20" in too_far["msg"]
    assert snapshot(zk, group) == before


def test_guarded_skip_rerun_reports_no_change_then_undo(consumed_group):
    topic, group, zk = consumed_group["topic"], consumed_group["group"], consumed_group["zk"]
    node = f"/consumers/{group}/offsets/{topic}/1"
    seen = int(zk.get(node)[0])
    skip = dict(ZK, group=group, target="skip", backup_dir=consumed_group["backups"],
                partition_offsets=[dict(topic=topic, partition=1, offset=seen - 3)],
                expected_offsets=[dict(topic=topic, partition=1, offset=seen)])
    applied = run_module("consumer_offset", skip)
    assert applied["changed"] is True and not applied["failed"] and zk.get(node)[0] == str(seen - 3).encode()
    version = zk.get(node)[1].version
    again = run_module("consumer_offset", skip)
    assert not again["failed"] and again["changed"] is False, again.get("msg")
    assert again["backup_file"] is None and again["transactions"] == 0
    assert zk.get(node)[1].version == version, "the rerun wrote to ZooKeeper"
    restored = run_module("consumer_offset", dict(ZK, group=group, target="file", file=applied["backup_file"],
                                                  backup=False))
    assert restored["changed"] is True and zk.get(node)[0] == str(seen).encode()


def test_report_shows_an_unreadable_offset_node_and_consumer_offset_sets_it(consumed_group, tmp_path):
    """A hand edit gone wrong: 'abc' in one partition's offset node of a real group. offsets_report.yml shows it in
    its table and JSON and says the group cannot start; the remedy it names (consumer_offset) sets it."""
    topic, group, zk = consumed_group["topic"], consumed_group["group"], consumed_group["zk"]
    node = f"/consumers/{group}/offsets/{topic}/2"
    held = zk.get(node)[0]
    zk.set(node, b"abc")
    try:
        code, output = run_companion_playbook("offsets_report.yml",
                                              {"consumer_groups": group, "report_dir": str(tmp_path)})
        assert code == 0, output[-4000:]
        table = sorted(tmp_path.glob("offsets-*.txt"))[-1].read_text().splitlines()
        lines = {line.split()[2]: line.split() for line in table[1:] if line.split()[0] == group}
        assert sorted(lines) == ["0", "1", "2"], table
        assert lines["2"][3] == "unreadable:'abc'" and lines["2"][4] == "20" and lines["2"][5] == "unknown"
        report = json.loads(sorted(tmp_path.glob("offsets-*.json"))[-1].read_text())
        assert [(u["group"], u["topic"], u["partition"], u["path"], u["raw"], u["reason"])
                for u in report["unreadable_offsets"]] == [(group, topic, 2, node, "abc", "not a decimal offset")]
        assert [row["partition"] for row in report["offsets"]] == [0, 1]
        assert node in [stray["path"] for stray in report["stray_nodes"]]
        [verdict] = report["unstartable_groups"]
        assert verdict["group"] == group and verdict["paths"] == [node]
        assert f"group '{group}' cannot start as it is: {node} holds 'abc'" in verdict["message"]
        assert "kafka_ops.remediation.consumer_offset" in verdict["message"] and "restore a backup" in verdict["message"]
        # The YAML callback folds long lines and doubles single quotes.
        said = " ".join(output.replace("''", "'").split())
        assert f"group '{group}' cannot start as it is: {node} holds 'abc'" in said, "the run does not say it"

        fixed = run_module("consumer_offset", dict(ZK, group=group, target="offset", backup_dir=consumed_group["backups"],
                                                   partition_offsets=[dict(topic=topic, partition=2, offset=20)]))
        assert fixed["changed"] is True and not fixed["failed"], fixed.get("msg")
        assert zk.get(node)[0] == b"20" and fixed["read_back"]["at_target"] == 1
        assert f"# unreadable {node}:abc" in pathlib.Path(fixed["backup_file"]).read_text()
    finally:
        zk.set(node, held)


def test_info_log_end_offsets_agree_with_get_offset_shell(lab, consumed_group):
    topic, group = consumed_group["topic"], consumed_group["group"]
    info = run_module("consumer_offset_info", dict(ZK, groups=[group]))
    assert [g["state"] for g in info["groups"]] == ["inactive"]
    ours = {row["partition"]: row["log_end_offset"] for row in info["offsets"]}
    shell = lab.run_tool("org.apache.kafka.tools.GetOffsetShell", "--bootstrap-server", lab.BOOTSTRAP,
                         "--topic", topic, "--time", "-1")
    theirs = {int(line.split(":")[1]): int(line.split(":")[2]) for line in shell.stdout.split() if line.count(":") == 2}
    assert ours == theirs == {0: 20, 1: 20, 2: 20}
    assert info["table"][0].split() == ["Group", "Topic", "Pid", "Offset", "logSize", "Lag", "Owner"]


def test_chroot_is_honoured(consumed_group):
    group = consumed_group["group"]
    outside = run_module("consumer_offset_info", dict(zk_hosts=ZK_HOSTS, groups=[group], log_offsets=False))
    assert [g["state"] for g in outside["groups"]] == ["absent"]
    embedded = run_module("consumer_offset_info", dict(zk_hosts=ZK_HOSTS + ZK_CHROOT, groups=[group],
                                                       log_offsets=False))
    assert [g["state"] for g in embedded["groups"]] == ["inactive"] and len(embedded["offsets"]) == 3
    missing = run_module("consumer_offset_info", dict(zk_hosts=ZK_HOSTS, zk_chroot="/no-such-chroot"))
    assert missing.get("failed") and "chroot '/no-such-chroot' does not exist" in missing["msg"]


def test_unreachable_zookeeper_and_brokers_fail_in_bounded_time(consumed_group):
    group = consumed_group["group"]
    dead_zk = run_module("consumer_offset_info", dict(zk_hosts="127.0.0.10:2999", zk_timeout=2))
    assert dead_zk.get("failed") and "could not connect to ZooKeeper 127.0.0.10:2999 within 2 s" in dead_zk["msg"]
    dead_kafka = run_module("consumer_offset_info", dict(ZK, groups=[group], kafka_bootstrap_servers=["127.0.0.11:1"],
                                                         kafka_request_timeout=3))
    assert dead_kafka.get("failed") and "127.0.0.11:1" in dead_kafka["msg"]


def test_concurrent_commit_during_a_large_change_leaves_nothing_changed(lab):
    """8,000 partitions need two transactions; a writer keeps committing to the last partition meanwhile.

    The topic exists only as ZooKeeper metadata in a private chroot (a real 8,000-partition topic would overload
    the shared lab), so the range check is off (log_offsets=false)."""
    group, topic, count = "race", "race-topic", 8000
    stop = threading.Event()
    with private_group(group, topic, count) as (chroot, zk):
        try:
            before = snapshot(zk, group)
            last = f"/consumers/{group}/offsets/{topic}/{count - 1}"

            def writer():
                while not stop.is_set():
                    zk.set(last, b"7")

            thread = threading.Thread(target=writer, daemon=True)
            thread.start()
            result = run_module("consumer_offset", dict(zk_hosts=ZK_HOSTS, zk_chroot=chroot, group=group,
                                                        topics=[topic], target="offset", offset=9,
                                                        log_offsets=False, backup=False, storage="zookeeper"))
            stop.set()
            thread.join()
        finally:
            stop.set()
        assert result.get("failed"), result
        assert "changed by someone else" in result["msg"] and "undone" in result["msg"]
        assert result["changed"] is False, "the undone transaction counted as a change"
        # The first transaction was committed and then undone, so versions moved on; every value is as before.
        after = snapshot(zk, group)
        assert len(after) == len(before) == count + 1
        assert {p: v[0] for p, v in after.items() if v} == {p: v[0] for p, v in before.items() if v}


def test_wrong_digest_credentials_fail_with_one_line(lab):
    from kazoo.security import make_digest_acl

    chroot = f"/kafka_ops_acl_{uuid.uuid4().hex[:8]}"
    acl = [make_digest_acl("ops", "right", all=True)]
    admin = zk_client("")
    admin.add_auth("digest", "ops:right")
    try:
        admin.create(chroot, b"", acl=acl)
        admin.create(f"{chroot}/consumers", b"", acl=acl)
        admin.create(f"{chroot}/consumers/g1", b"", acl=acl)
        args = dict(zk_hosts=ZK_HOSTS, zk_chroot=chroot, log_offsets=False)
        wrong = run_module("consumer_offset_info", dict(args, zk_auth=[dict(scheme="digest", credential="ops:wrong")]))
        assert wrong["failed"] and "NoAuth" in wrong["msg"] and "zk_auth" in wrong["msg"] and "\n" not in wrong["msg"]
        right = run_module("consumer_offset_info", dict(args, zk_auth=[dict(scheme="digest", credential="ops:right")]))
        assert not right["failed"] and [g["group"] for g in right["groups"]] == ["g1"]
        assert "ops:right" not in right["_stdout"], "the credential must be hidden (no_log)"
    finally:
        admin.delete(chroot, recursive=True)
        admin.stop()
        admin.close()


def test_overwrite_after_the_last_commit_is_reported_as_a_change(lab, tmp_path):
    """10,000 partitions in two transactions on the real ZooKeeper; right after the transaction holding the last
    partition commits, another client overwrites that node, before the module reads back.

    The overwrite comes in through the module's ZooKeeper client factory (ModuleRunner.zookeeper_factory, the
    seam unit tests use for their fake): the module runs in-process with the real client, whose commit lets the
    other client write once its own transaction is in. Private chroot, no brokers (log_offsets=false)."""
    group, topic, count = "overwrite", "overwrite-topic", 10000
    last = f"/consumers/{group}/offsets/{topic}/{count - 1}"
    commits = []
    with private_group(group, topic, count) as (chroot, other):

        class OtherWriterAfterCommit(zookeeper.ZooKeeper):
            def commit(self, operations):
                results = super().commit(operations)
                commits.append(len(operations))
                if any(operation[1] == last for operation in operations):
                    other.set(last, b"3")
                return results

        # A chroot of ZooKeeper metadata only, with no broker to ask whether Kafka also has the group.
        args = dict(zk_hosts=ZK_HOSTS, zk_chroot=chroot, group=group, topics=[topic], target="offset", offset=9,
                    log_offsets=False, backup_dir=str(tmp_path), storage="zookeeper")
        result = run_in_process(consumer_offset.main, args, None, zookeeper_factory=OtherWriterAfterCommit)

        assert result["failed"] and result["changed"] is True, result.get("msg")
        assert len(commits) == result["transactions"] == 2
        held = snapshot(other, group)
        assert sum(value[0] == b"9" for value in held.values() if value) == count - 1 and held[last][0] == b"3"
        read_back = result["read_back"]
        assert (read_back["at_target"], read_back["as_before"], read_back["overwritten"]) == (count - 1, 0, 1)
        assert read_back["overwritten_sample"] == [dict(topic=topic, partition=count - 1, before=7, target=9,
                                                        holds="3")]
        assert f"({topic}/{count - 1} holds '3', not 9)" in result["msg"] and "\n" not in result["msg"]
        assert "plan" not in result and len(json.dumps(result)) < 4000
        report = json.loads(pathlib.Path(result["report_file"]).read_text(encoding="utf-8"))
        assert len(report["partitions"]) == count and report["partitions"][-1]["state"] == "overwritten"

        restored = run_in_process(consumer_offset.main, dict(zk_hosts=ZK_HOSTS, zk_chroot=chroot, group=group,
                                                             target="file", file=result["backup_file"],
                                                             log_offsets=False, backup=False, storage="zookeeper"),
                                  None)
        assert restored["changed"] is True and not restored.get("failed"), restored.get("msg")
        assert restored["read_back"]["at_target"] == count
        assert {value[0] for value in snapshot(other, group).values() if value} == {b"7"}
