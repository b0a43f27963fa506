# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""consumer_offset's main() against fake ZooKeeper and Kafka clients."""

import json
import os

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import backup_content, offset_plan
from ansible_collections.kafka_ops.remediation.plugins.modules import consumer_offset

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.billing_group import OFFSETS, ZK_ARGS, cluster, kafka
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.module_harness import FakeBrokers, run_module


def offset_args(tmp_path, **extra):
    return dict(ZK_ARGS, group="billing", topics=["orders"], backup_dir=str(tmp_path / "backups"), **extra)


def test_check_mode_plans_and_writes_nothing(tmp_path):
    zk = cluster(offsets={0: 5, 1: 6})
    before = dict(zk.nodes)
    result = run_module(consumer_offset.main, offset_args(tmp_path, target="offset", offset=10), zk, kafka(),
                        check_mode=True, diff=True)
    assert result["changed"] is True and not result.get("failed")
    assert [(e["partition"], e["before"], e["after"]) for e in result["plan"]] == [(0, 5, 10), (1, 6, 10), (2, None, 10)]
    assert result["diff"]["before"] == {"orders/0": 5, "orders/1": 6, "orders/2": None}
    assert zk.nodes == before and zk.commits == [] and zk.closed
    assert result["backup_file"] is None and not (tmp_path / "backups").exists()
    assert result["backup_content"] is None


def test_the_backup_s_content_written_back_elsewhere_restores_exactly(tmp_path):
    zk = cluster(offsets={0: 5, 1: 6})
    original = {path: value[0] for path, value in zk.nodes.items()}
    result = run_module(consumer_offset.main, offset_args(tmp_path, target="offset", offset=10), zk, kafka())
    with open(result["backup_file"], encoding="utf-8") as handle:
        assert result["backup_content"] == {"group": "billing",
                                            "files": {os.path.basename(result["backup_file"]): handle.read()}}
    files = backup_content.restore_files(result["backup_content"], "billing", str(tmp_path / "elsewhere"))
    for entry in files["files"]:
        os.makedirs(os.path.dirname(entry["path"]), exist_ok=True)
        with open(entry["path"], "w", encoding="utf-8") as handle:
            handle.write(entry["text"])
    restored = run_module(consumer_offset.main, dict(ZK_ARGS, group="billing", target="file",
                                                     file=files["restore_file"], backup=False), zk, kafka())
    assert restored["changed"] and restored["backup_content"] is None
    assert {path: value[0] for path, value in zk.nodes.items()} == original


def test_apply_then_again_is_unchanged_and_backup_restores_exactly(tmp_path):
    zk = cluster(offsets={0: 5, 1: 6})
    original = {path: value[0] for path, value in zk.nodes.items()}
    result = run_module(consumer_offset.main, offset_args(tmp_path, target="offset", offset=10), zk, kafka())
    assert result["changed"] and result["transactions"] == 1
    assert [zk.data(f"{OFFSETS}/{p}") for p in range(3)] == [b"10", b"10", b"10"]
    assert os.path.exists(result["backup_file"])
    again = run_module(consumer_offset.main, offset_args(tmp_path, target="offset", offset=10), zk, kafka())
    assert again["changed"] is False and again["backup_file"] is None
    restored = run_module(consumer_offset.main, dict(ZK_ARGS, group="billing", target="file",
                                                     file=result["backup_file"], backup=False), zk, kafka())
    assert restored["changed"]
    assert {path: value[0] for path, value in zk.nodes.items()} == original


def test_guarded_skip_rerun_is_unchanged_and_writes_no_backup(tmp_path):
    zk = cluster(offsets={0: 5, 1: 5})
    skip = offset_args(tmp_path, target="skip", partition_offsets=[dict(topic="orders", partition=0, offset=9)],
                       expected_offsets=[dict(topic="orders", partition=0, offset=5)])
    first = run_module(consumer_offset.main, skip, zk, kafka(), diff=True)
    assert first["changed"] is True and zk.data(f"{OFFSETS}/0") == b"9"
    commits, backups = len(zk.commits), os.listdir(tmp_path / "backups")
    assert len(backups) == 1
    again = run_module(consumer_offset.main, skip, zk, kafka(), diff=True)
    assert not again.get("failed") and again["changed"] is False
    assert [(e["before"], e["after"]) for e in again["plan"]] == [(9, 9)]
    assert again["diff"]["before"] == again["diff"]["after"] == {}
    assert again["backup_file"] is None and again["backup_time"] is None and again["transactions"] == 0
    assert len(zk.commits) == commits and os.listdir(tmp_path / "backups") == backups
    zk.put(f"{OFFSETS}/0", b"7")
    moved = run_module(consumer_offset.main, skip, zk, kafka())
    assert moved["failed"] and "orders/0 is at 7, not at the expected 5 nor at the target 9" in moved["msg"]
    assert len(zk.commits) == commits and os.listdir(tmp_path / "backups") == backups


def test_restore_removes_parents_that_did_not_exist(tmp_path):
    zk = cluster()
    original = set(zk.nodes)
    result = run_module(consumer_offset.main, offset_args(tmp_path, target="earliest"), zk, kafka(start=3))
    assert zk.data(f"{OFFSETS}/0") == b"3"
    run_module(consumer_offset.main, dict(ZK_ARGS, group="billing", target="file", file=result["backup_file"],
                                          backup=False), zk, kafka(start=3))
    assert set(zk.nodes) == original


def test_active_group_is_refused_naming_members(tmp_path):
    zk = cluster(offsets={0: 5}, members=["billing_app1-1-abc"])
    result = run_module(consumer_offset.main, offset_args(tmp_path, target="offset", offset=7), zk, kafka())
    assert result["failed"]
    assert "billing_app1-1-abc" in result["msg"] and "force=true" in result["msg"] and "wait_inactive" in result["msg"]
    assert zk.commits == []


def test_force_overrides_loudly(tmp_path):
    zk = cluster(offsets={0: 5}, members=["billing_app1-1-abc"])
    result = run_module(consumer_offset.main, offset_args(tmp_path, target="offset", offset=7, partitions=[0],
                                                          force=True), zk, kafka())
    assert result["changed"] and zk.data(f"{OFFSETS}/0") == b"7"
    assert any("force=true" in warning for warning in result["warnings_seen"])


@pytest.mark.parametrize("args, message", [
    (dict(target="skip", partition_offsets=[dict(topic="orders", partition=0, offset=9)],
          expected_offsets=[dict(topic="orders", partition=0, offset=4)]), "not at the expected 4"),
    (dict(target="offset", offset=101), "above the log end offset 100"),
    (dict(target="offset", offset=7, partitions=[7]), "do not exist"),
    (dict(target="shift_by", shift_by=1, topics=["nope"]), "unknown topic"),
])
def test_refusals_change_nothing(tmp_path, args, message):
    zk = cluster(offsets={0: 5, 1: 5, 2: 5})
    before = dict(zk.nodes)
    merged = offset_args(tmp_path)
    merged.update(args)
    result = run_module(consumer_offset.main, merged, zk, kafka())
    assert result["failed"] and message in result["msg"]
    assert "\n" not in result["msg"]
    assert zk.nodes == before


def test_unknown_group(tmp_path):
    zk = cluster(offsets={0: 5})
    result = run_module(consumer_offset.main, dict(offset_args(tmp_path, target="latest"), group="nobody"), zk, kafka())
    assert result["failed"] and result["msg"].startswith(
        "group 'nobody' has no committed offsets in ZooKeeper (/consumers/nobody at fake:2181/kafka) nor Kafka "
        "(__consumer_offsets, asked the brokers): check the group name and zk_chroot")


@pytest.mark.parametrize("args, message", [
    (dict(target="shift_by", shift_by=1), "orders/1 holds 'garbage', not an offset to start from: give it an explicit"),
    (dict(target="current"), "orders/1 holds 'garbage', not an offset to start from"),
    (dict(target="skip", partition_offsets=[dict(topic="orders", partition=1, committed_offset=4, target_offset=9)]),
     "orders/1 holds 'garbage', not at the expected 4 nor at the target 9"),
])
def test_an_unreadable_node_needs_a_target_that_does_not_start_from_it(tmp_path, args, message):
    zk = cluster(offsets={0: 5})
    zk.put(f"{OFFSETS}/1", b"garbage")
    before = dict(zk.nodes)
    result = run_module(consumer_offset.main, dict(offset_args(tmp_path), **args), zk, kafka())
    assert result["failed"] and message in result["msg"] and zk.nodes == before


def test_an_unreadable_node_is_set_and_its_text_kept_in_the_backup(tmp_path):
    """The remedy offsets_report names: set the node with consumer_offset; the backup records what it held."""
    zk = cluster(offsets={0: 5})
    zk.put(f"{OFFSETS}/1", b"garbage\xff")
    args = offset_args(tmp_path, target="offset", partition_offsets=[dict(topic="orders", partition=1, offset=40)])
    result = run_module(consumer_offset.main, args, zk, kafka(), diff=True)
    assert result["changed"] is True and not result.get("failed"), result.get("msg")
    assert zk.data(f"{OFFSETS}/1") == b"40" and result["read_back"]["at_target"] == 1
    assert result["plan"][0]["before"] == "garbage\\xff" and result["plan"][0]["records_skipped"] is None
    assert result["diff"]["before"] == {"orders/1": "garbage\\xff"}
    with open(result["backup_file"], encoding="utf-8") as handle:
        assert f"# unreadable {OFFSETS}/1:garbage\\\\xff\n" in handle.read()
    # Restoring that backup leaves the partition alone: there is no offset to put back.
    restored = run_module(consumer_offset.main, dict(ZK_ARGS, group="billing", target="file",
                                                     file=result["backup_file"], backup=False), zk, kafka())
    assert restored["failed"] and "has no offsets for group 'billing'" in restored["msg"]
    latest = run_module(consumer_offset.main, offset_args(tmp_path, target="latest"), zk, kafka())
    assert latest["changed"] and [zk.data(f"{OFFSETS}/{p}") for p in range(3)] == [b"100"] * 3


def test_failed_later_transaction_rolls_back_earlier_ones(tmp_path, monkeypatch):
    zk = cluster(partitions=40, offsets={p: p for p in range(40)})
    before = {path: value[0] for path, value in zk.nodes.items()}
    monkeypatch.setattr(offset_plan, "MAX_MULTI_BYTES", 400)
    zk.fail_commit_at = 2
    result = run_module(consumer_offset.main, offset_args(tmp_path, target="offset", offset=50), zk,
                        kafka(partitions=40))
    assert result["failed"] and "nothing was changed" in result["msg"] and "undone" in result["msg"]
    assert len(zk.commits) >= 4  # two parts committed, the failing one, then the undo
    assert {path: value[0] for path, value in zk.nodes.items()} == before
    # Read back after the undo: every partition holds its previous offset, so nothing changed.
    assert result["changed"] is False and result["transactions"] == 2
    assert (result["read_back"]["as_before"], result["read_back"]["at_target"]) == (40, 0)
    assert "plan" not in result and "report_file" not in result and "read back:" not in result["msg"]


def test_datetime_target_uses_offsets_by_time(tmp_path):
    zk = cluster(offsets={0: 5, 1: 5, 2: 5})
    brokers = FakeBrokers({("orders", p): (0, 100) for p in range(3)}, by_time={("orders", 0): 40})
    result = run_module(consumer_offset.main, offset_args(tmp_path, target="datetime",
                                                          datetime="2026-11-26T10:00:00Z"), zk, brokers)
    assert [e["after"] for e in result["plan"]] == [40, 100, 100]


@pytest.mark.parametrize("applied", [True, False])
def test_lost_answer_is_settled_by_reading_back(tmp_path, monkeypatch, applied):
    zk = cluster(partitions=40, offsets={p: p for p in range(40)})
    before = {path: value[0] for path, value in zk.nodes.items()}
    monkeypatch.setattr(offset_plan, "MAX_MULTI_BYTES", 400)
    zk.lose_answer_at, zk.apply_lost = 1, applied
    result = run_module(consumer_offset.main, offset_args(tmp_path, target="offset", offset=50), zk,
                        kafka(partitions=40))
    if applied:
        assert result["changed"] and not result.get("failed")
        assert all(zk.data(f"{OFFSETS}/{p}") == b"50" for p in range(40))
        assert (result["read_back"]["changed_partitions"], result["read_back"]["at_target"]) == (40, 40)
    else:
        assert result["failed"] and "answer to a transaction was lost" in result["msg"] and "undone" in result["msg"]
        assert {path: value[0] for path, value in zk.nodes.items()} == before
        assert result["changed"] is False


def many_partitions(count):
    return cluster(partitions=count, offsets={p: 7 for p in range(count)}), kafka(partitions=count, end=10**6)


def test_overwrite_after_every_commit_reports_changed_and_stays_short(tmp_path):
    """Thousands of partitions in several transactions; another writer overwrites one node after the last commit.

    ZooKeeper then holds the target on every other partition: the run changed them and must say so, fail
    because the read-back differs, and keep its failure short (the full plan goes into a report file)."""
    count = 10000
    zk, brokers = many_partitions(count)
    overwritten = f"{OFFSETS}/{count - 1}"

    def other_writer(_index):
        if zk.data(overwritten) == b"9":  # only once its own transaction committed
            zk.overwrite(overwritten, b"3")

    zk.after_commit = other_writer
    result = run_module(consumer_offset.main, offset_args(tmp_path, target="offset", offset=9), zk, brokers, diff=True)
    assert result["failed"] and result["changed"] is True
    assert result["transactions"] > 1
    assert sum(zk.data(f"{OFFSETS}/{p}") == b"9" for p in range(count)) == count - 1
    read_back = result["read_back"]
    assert (read_back["changed_partitions"], read_back["at_target"], read_back["as_before"],
            read_back["overwritten"]) == (count, count - 1, 0, 1)
    assert read_back["overwritten_sample"] == [dict(topic="orders", partition=count - 1, before=7, target=9, holds="3")]
    assert 0 < len(read_back["at_target_sample"]) <= 10
    assert "\n" not in result["msg"] and len(result["msg"]) < 600
    assert f"orders/{count - 1} holds '3'" in result["msg"] and f"{count - 1} are at their target" in result["msg"]
    assert result["report_file"] in result["msg"] and result["backup_file"] in result["msg"]
    assert "plan" not in result and "diff" not in result
    assert len(json.dumps(result)) < 4000
    with open(result["report_file"], encoding="utf-8") as handle:
        report = json.load(handle)
    assert len(report["partitions"]) == count and report["backup_file"] == result["backup_file"]
    assert report["partitions"][-1] == dict(topic="orders", partition=count - 1, before=7, target=9, holds="3",
                                            state="overwritten", log_start_offset=0, log_end_offset=10**6)
    assert oct(os.stat(result["report_file"]).st_mode & 0o777) == "0o600"


def test_undo_that_fails_reports_what_stays_changed(tmp_path, monkeypatch):
    """A later transaction fails, and another writer touched a committed node, so the undo fails too: the
    partitions of the committed transactions stay at their target and the run says so."""
    zk = cluster(partitions=40, offsets={p: p for p in range(40)})
    monkeypatch.setattr(offset_plan, "MAX_MULTI_BYTES", 400)
    zk.fail_commit_at = 2
    zk.after_commit = lambda index: index == 0 and zk.overwrite(f"{OFFSETS}/0", b"3")
    result = run_module(consumer_offset.main, offset_args(tmp_path, target="offset", offset=50), zk,
                        kafka(partitions=40))
    assert result["failed"] and result["changed"] is True and "undoing the 2 committed transaction(s) failed" in result["msg"]
    at_target = sum(zk.data(f"{OFFSETS}/{p}") == b"50" for p in range(40))
    assert 0 < at_target < 40 and result["read_back"]["at_target"] == at_target
    assert result["read_back"]["overwritten_sample"][0] == dict(topic="orders", partition=0, before=0, target=50,
                                                                holds="3")
    assert f"read back: {at_target} of 40 partition(s) at their target" in result["msg"]
    assert result["report_file"] in result["msg"] and "plan" not in result and "\n" not in result["msg"]


def test_version_conflict_in_the_only_transaction_changes_nothing(tmp_path):
    zk = cluster(offsets={0: 5, 1: 5, 2: 5})
    zk.fail_commit_at = 0
    result = run_module(consumer_offset.main, offset_args(tmp_path, target="offset", offset=9), zk, kafka())
    assert result["failed"] and result["changed"] is False and result["transactions"] == 0
    assert "changed by someone else" in result["msg"] and "nothing was changed" in result["msg"]
    assert "report_file" not in result and "plan" not in result
    assert [zk.data(f"{OFFSETS}/{p}") for p in range(3)] == [b"5"] * 3


def test_a_failed_read_back_after_a_commit_says_the_offsets_may_have_changed(tmp_path):
    zk = cluster(offsets={0: 5, 1: 5, 2: 5})

    def lose_the_connection(*_args):
        raise type("ConnectionLoss", (Exception,), {})()

    zk.after_commit = lambda index: setattr(zk, "read_nodes", lose_the_connection)
    result = run_module(consumer_offset.main, offset_args(tmp_path, target="offset", offset=9), zk, kafka())
    assert result["failed"] and result["changed"] is True and result["read_back"] is None
    assert result["msg"].startswith("1 transaction(s) committed, but the offsets could not be read back "
                                    "(ConnectionLoss): they may have changed")
    with open(result["report_file"], encoding="utf-8") as handle:
        assert [row["state"] for row in json.load(handle)["partitions"]] == ["unknown"] * 3


def test_an_unwritable_backup_dir_fails_before_writing(tmp_path):
    zk = cluster(offsets={0: 5})
    (tmp_path / "file").write_text("")
    result = run_module(consumer_offset.main, dict(offset_args(tmp_path, target="offset", offset=9),
                                                   backup_dir=str(tmp_path / "file" / "backups")), zk, kafka())
    assert result["failed"] and "changed" not in result and zk.commits == []
    assert result["msg"].startswith(f"cannot write the backup in {tmp_path}/file/backups (")
    assert result["msg"].endswith("nothing was changed; fix backup_dir or pass backup=false")


def decision(partition, committed, target):
    """An entry of the skip decision as the decision engine writes it."""
    return dict(topic="orders", partition=partition, committed_offset=committed, target_offset=target,
                records_skipped=target - committed, log_end_offset=100, damaged_brokers=[1, 2],
                damage=[dict(broker_id=1, segment="00000000000000000000.log", position=512, reason="crc")])


def test_skip_takes_the_decision_entries_as_they_are(tmp_path):
    zk = cluster(offsets={0: 5, 1: 6, 2: 7})
    skip = offset_args(tmp_path, target="skip", partition_offsets=[decision(0, 5, 9), decision(2, 7, 12)])
    checked = run_module(consumer_offset.main, skip, zk, kafka(), check_mode=True)
    assert not checked.get("failed"), checked["msg"]
    assert [(e["partition"], e["before"], e["after"]) for e in checked["plan"]] == [(0, 5, 9), (2, 7, 12)]
    applied = run_module(consumer_offset.main, skip, zk, kafka())
    assert applied["changed"] is True and [zk.data(f"{OFFSETS}/{p}") for p in range(3)] == [b"9", b"6", b"12"]
    again = run_module(consumer_offset.main, skip, zk, kafka())
    assert not again.get("failed") and again["changed"] is False


def test_committed_offset_is_the_only_if_guard(tmp_path):
    zk = cluster(offsets={0: 5, 1: 6})
    before = dict(zk.nodes)
    moved = run_module(consumer_offset.main, offset_args(tmp_path, target="skip", partition_offsets=[
        decision(0, 5, 9), decision(1, 4, 9)]), zk, kafka())
    assert moved["failed"] and "orders/1 is at 6, not at the expected 4 nor at the target 9" in moved["msg"]
    assert zk.nodes == before and zk.commits == []


def test_decision_entries_and_the_classic_form_mix(tmp_path):
    zk = cluster(offsets={0: 5, 1: 6})
    result = run_module(consumer_offset.main, offset_args(tmp_path, target="offset", partition_offsets=[
        decision(0, 5, 9), dict(topic="orders", partition=1, offset=8)],
        expected_offsets=[dict(topic="orders", partition=1, offset=6)]), zk, kafka())
    assert result["changed"] and [zk.data(f"{OFFSETS}/{p}") for p in range(2)] == [b"9", b"8"]


def test_a_malformed_decision_entry_is_named_and_nothing_changes(tmp_path):
    zk = cluster(offsets={0: 5})
    before = dict(zk.nodes)
    result = run_module(consumer_offset.main, offset_args(tmp_path, target="skip", partition_offsets=[
        dict(decision(0, 5, 9), target_offset="later")]), zk, kafka())
    assert result["failed"] and result["msg"] == (
        "partition_offsets[0] (orders/0): target_offset 'later' is not an integer; nothing was changed")
    assert zk.nodes == before


def test_a_connection_lost_for_good_while_writing_says_the_offsets_may_have_changed(tmp_path):
    """The answer to the only transaction is lost (it applied) and ZooKeeper cannot be read to settle it, nor
    afterwards: the run cannot tell, so it says the offsets may have changed and counts it as a change."""
    zk = cluster(offsets={0: 5, 1: 5, 2: 5})
    zk.lose_answer_at = 0
    commit = zk.commit

    def lose_the_connection(*_args):
        raise type("ConnectionLoss", (Exception,), {})()

    def commit_then_lose_everything(operations):
        try:
            return commit(operations)
        finally:
            zk.read_nodes = lose_the_connection

    zk.commit = commit_then_lose_everything
    result = run_module(consumer_offset.main, offset_args(tmp_path, target="offset", offset=9), zk, kafka())
    assert result["failed"] and result["changed"] is True and result["read_back"] is None
    assert result["msg"].startswith("ZooKeeper failed while writing: ConnectionLoss; the offsets could not be read "
                                    "back (ConnectionLoss): they may have changed")
    assert [zk.data(f"{OFFSETS}/{p}") for p in range(3)] == [b"9"] * 3 and os.path.exists(result["report_file"])
