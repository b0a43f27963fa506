# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""consumer_offset's main() for groups whose offsets Kafka stores, against fake brokers (no ZooKeeper given)."""

import json
import os

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import backup_content
from ansible_collections.kafka_ops.remediation.plugins.modules import consumer_offset

from ansible_collections.kafka_ops.remediation.tests.unit.helpers.billing_group import ZK_ARGS, cluster
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.module_harness import FakeBrokers, run_module

BROKERS = dict(kafka_bootstrap_servers=["k1:9092"])
MEMBER = dict(member_id="m-1", client_id="billing-app", client_host="/10.0.0.5", group_instance_id=None,
              member_assignment=dict(assigned_partitions=[dict(topic="orders", partitions=[0, 1, 2])]))


def brokers(state="Empty", offsets=None, members=(), group_type="classic", **extra):
    groups = {"billing": dict(state=state, type=group_type, members=list(members),
                              offsets=dict(offsets if offsets is not None else {("orders", 0): 5, ("orders", 1): 6}))}
    return FakeBrokers({("orders", p): (0, 100) for p in range(3)}, groups=groups, **extra)


def args(tmp_path, **extra):
    return dict(BROKERS, group="billing", backup_dir=str(tmp_path / "backups"), **extra)


def never_connect(_params):
    raise AssertionError("no ZooKeeper was given: the module must not connect to one")


def run(tmp_path, kafka, check_mode=False, diff=False, **extra):
    return run_module(consumer_offset.main, args(tmp_path, **extra), None, kafka, check_mode=check_mode, diff=diff,
                      zookeeper_factory=never_connect)


def test_check_mode_plans_and_commits_nothing(tmp_path):
    kafka = brokers()
    result = run(tmp_path, kafka, check_mode=True, diff=True, target="shift_by", shift_by=3, partitions=[0, 1])
    assert not result.get("failed"), result["msg"]
    assert result["changed"] and result["storage"] == "kafka" and result["group_state"] == "Empty"
    assert [(e["partition"], e["before"], e["after"]) for e in result["plan"]] == [(0, 5, 8), (1, 6, 9)]
    assert result["diff"]["before_header"] == "group billing in Kafka (__consumer_offsets)"
    assert result["diff"]["after"] == {"orders/0": 8, "orders/1": 9}
    assert not [call for call in kafka.calls if call[0] != "committed_offsets"]
    assert result["backup_file"] is None and not (tmp_path / "backups").exists()


def test_one_commit_a_csv_backup_and_an_exact_undo(tmp_path):
    kafka = brokers()
    result = run(tmp_path, kafka, target="offset",
                 partition_offsets=[dict(topic="orders", partition=p, offset=10) for p in range(3)])
    assert not result.get("failed"), result["msg"]
    assert result["changed"] and result["requests"] == 1 and result["read_back"]["at_target"] == 3
    commits = [call for call in kafka.calls if call[0] == "commit_offsets"]
    assert len(commits) == 1 and sorted(commits[0][2]) == [("orders", 0), ("orders", 1), ("orders", 2)]
    assert result["backup_file"].endswith(".csv")
    with open(result["backup_file"], encoding="utf-8") as handle:
        assert handle.read() == "orders,0,5\norders,1,6\n"
    with open(result["backup_file"] + ".meta.json", encoding="utf-8") as handle:
        assert json.load(handle)["absent"] == [dict(topic="orders", partition=2)]
    assert oct(os.stat(result["backup_file"]).st_mode & 0o777) == "0o600"
    again = run(tmp_path, kafka, target="offset",
                partition_offsets=[dict(topic="orders", partition=p, offset=10) for p in range(3)])
    assert again["changed"] is False and again["backup_file"] is None
    undo = run(tmp_path, kafka, target="file", file=result["backup_file"], backup=False)
    assert undo["changed"] and undo["requests"] == 2
    assert kafka.groups["billing"]["offsets"] == {("orders", 0): 5, ("orders", 1): 6}


def test_a_reset_csv_without_sidecar_sets_only_its_rows(tmp_path):
    kafka = brokers()
    csv = tmp_path / "reset.csv"
    csv.write_text("orders,1,40\n")
    result = run(tmp_path, kafka, target="file", file=str(csv))
    assert result["changed"] and kafka.groups["billing"]["offsets"] == {("orders", 0): 5, ("orders", 1): 40}


def test_a_file_for_another_group_changes_nothing(tmp_path):
    kafka = brokers()
    csv = tmp_path / "other.csv"
    csv.write_text("audit,orders,1,40\n")
    result = run(tmp_path, kafka, target="file", file=str(csv))
    assert result["failed"] and result["msg"] == f"{csv} has no offsets for group 'billing' (1 rows are for other groups)"
    assert not [call for call in kafka.calls if call[0] != "committed_offsets"]


def test_a_group_with_members_is_refused_naming_them(tmp_path):
    kafka = brokers(state="Stable", members=[MEMBER])
    result = run(tmp_path, kafka, target="latest")
    assert result["failed"] and result["msg"].startswith(
        "group 'billing' is Stable with 1 member (client id billing-app on 10.0.0.5): the coordinator accepts")
    assert result["group_state"] == "Stable" and result["members"][0]["client_id"] == "billing-app"
    assert not [call for call in kafka.calls if call[0] == "commit_offsets"]
    assert not (tmp_path / "backups").exists()


def test_check_mode_with_wait_inactive_warns_instead_of_waiting(tmp_path):
    result = run(tmp_path, brokers(state="Stable", members=[MEMBER]), check_mode=True, target="latest",
                 wait_inactive=30)
    assert not result.get("failed") and "the real run waits up to 30 s" in result["warnings_seen"][0]


def test_force_is_refused_for_kafka_groups_except_in_check_mode(tmp_path):
    result = run(tmp_path, brokers(), target="latest", force=True)
    assert result["failed"] and result["msg"].startswith("force=true applies to ZooKeeper-stored groups only")
    planned = run(tmp_path, brokers(state="Stable", members=[MEMBER]), check_mode=True, target="latest", force=True)
    assert not planned.get("failed") and planned["changed"]
    assert planned["warnings_seen"][0].endswith("the real run refuses it")


def test_a_new_protocol_group_with_members_is_refused(tmp_path):
    kafka = brokers(state="Stable", group_type="consumer")
    result = run(tmp_path, kafka, target="latest")
    assert result["failed"] and "KIP-848" in result["msg"] and result["group_state"] == "Stable"


def test_an_unknown_group_is_refused(tmp_path):
    result = run_module(consumer_offset.main, dict(args(tmp_path, target="latest"), group="nobody"), None, brokers(),
                        zookeeper_factory=never_connect)
    assert result["failed"] and result["msg"] == (
        "group 'nobody' has no committed offsets in Kafka (__consumer_offsets, asked k1:9092): check the group name")
    forced = run_module(consumer_offset.main, dict(args(tmp_path, target="latest", storage="kafka"), group="nobody"),
                        None, brokers(), zookeeper_factory=never_connect)
    assert forced["failed"] and forced["msg"].startswith("group 'nobody' is not known to Kafka")


def test_the_guard_refuses_when_the_consumer_moved(tmp_path):
    kafka = brokers()
    result = run(tmp_path, kafka, target="skip", partition_offsets=[
        dict(topic="orders", partition=0, target_offset=20, committed_offset=4)])
    assert result["failed"] and result["msg"] == ("orders/0 is at 5, not at the expected 4 nor at the target 20: the "
                                                  "consumer moved since it was seen; nothing was changed")
    assert kafka.groups["billing"]["offsets"][("orders", 0)] == 5


def test_an_offset_outside_the_log_is_refused(tmp_path):
    result = run(tmp_path, brokers(), target="offset", offset=500)
    assert result["failed"] and "target 500 for orders/0 is above the log end offset 100" in result["msg"]


def test_an_unknown_topic_is_refused(tmp_path):
    result = run(tmp_path, brokers(), target="latest", topics=["nope"])
    assert result["failed"] and result["msg"] == "unknown topic(s) nope: the brokers do not know them; check the names"


def test_a_member_that_joined_before_the_commit_is_reported(tmp_path):
    kafka = brokers(refuse="UnknownMemberIdError")
    result = run(tmp_path, kafka, target="offset", offset=10)
    assert result["failed"] and result["msg"].startswith(
        "the coordinator refused the offset commit because a consumer joined the group meanwhile")
    assert result["changed"] is False and result["read_back"]["as_before"] == 3
    assert "backup: " in result["msg"] and os.path.exists(result["backup_file"])


def test_another_writer_after_the_commit_fails_with_changed(tmp_path):
    kafka = brokers()
    real_commit = kafka.commit_offsets

    def commit_then_overwrite(group, offsets):
        refused = real_commit(group, offsets)
        kafka.groups[group]["offsets"][("orders", 1)] = 77
        return refused

    kafka.commit_offsets = commit_then_overwrite
    result = run(tmp_path, kafka, target="offset", offset=10)
    assert result["failed"] and result["changed"] is True
    assert result["msg"].startswith("read-back after writing differs on 1 of 3 changed partition(s) "
                                    "(orders/1 holds '77', not 10)")


# Groups in both stores (a dual-commit consumer) ------------------------------------------------------------------

def both(zk_offsets, kafka_offsets):
    return cluster(offsets=zk_offsets), brokers(offsets={("orders", p): o for p, o in kafka_offsets.items()})


def run_both(tmp_path, zk, kafka, check_mode=False, diff=False, **extra):
    return run_module(consumer_offset.main, dict(ZK_ARGS, **args(tmp_path, **extra)), zk, kafka,
                      check_mode=check_mode, diff=diff)


def test_a_group_in_both_stores_that_agree_is_changed_in_both(tmp_path):
    zk, kafka = both({0: 5, 1: 6}, {0: 5, 1: 6})
    result = run_both(tmp_path, zk, kafka, diff=True, target="skip",
                      partition_offsets=[dict(topic="orders", partition=0, target_offset=9, committed_offset=5)])
    assert not result.get("failed"), result["msg"]
    assert result["storage"] == "both" and result["changed"] and result["disagreements"] == []
    assert zk.data("/consumers/billing/offsets/orders/0") == b"9"
    assert kafka.groups["billing"]["offsets"][("orders", 0)] == 9
    assert [path.rsplit(".", 1)[1] for path in result["backup_files"]] == ["offsets", "csv"]
    assert result["diff"][0]["after"] == {"orders/0": 9} and result["diff"][1]["after"] == {"orders/0": 9}
    again = run_both(tmp_path, zk, kafka, target="skip",
                     partition_offsets=[dict(topic="orders", partition=0, target_offset=9, committed_offset=5)])
    assert again["changed"] is False


def test_stores_that_disagree_refuse_unless_told_which_wins(tmp_path):
    zk, kafka = both({0: 5}, {0: 7})
    refused = run_both(tmp_path, zk, kafka, target="shift_by", shift_by=1, partitions=[0])
    assert refused["failed"] and "disagree: orders/0 ZooKeeper 5, Kafka 7" in refused["msg"]
    assert zk.data("/consumers/billing/offsets/orders/0") == b"5"
    result = run_both(tmp_path, zk, kafka, target="shift_by", shift_by=1, partitions=[0], prefer_store="larger")
    assert not result.get("failed"), result["msg"]
    assert zk.data("/consumers/billing/offsets/orders/0") == b"8" and kafka.groups["billing"]["offsets"][("orders", 0)] == 8
    assert result["disagreements"] == [dict(topic="orders", partition=0, zookeeper=5, kafka=7)]


def test_a_restore_from_either_backup_file_restores_both_stores_as_they_were(tmp_path):
    zk, kafka = both({0: 5, 1: 6}, {0: 7, 1: 6})
    moved = run_both(tmp_path, zk, kafka, target="offset", offset=20, partitions=[0, 1], prefer_store="larger")
    assert not moved.get("failed"), moved["msg"]
    assert zk.data("/consumers/billing/offsets/orders/0") == b"20"
    for backup in moved["backup_files"]:
        run_both(tmp_path, zk, kafka, target="offset", offset=20, partitions=[0, 1], prefer_store="larger",
                 backup=False)
        restored = run_both(tmp_path, zk, kafka, target="file", file=backup, backup=False)
        assert not restored.get("failed"), restored["msg"]
        assert zk.data("/consumers/billing/offsets/orders/0") == b"5"
        assert kafka.groups["billing"]["offsets"] == {("orders", 0): 7, ("orders", 1): 6}


def test_when_kafka_refuses_zookeeper_is_put_back(tmp_path):
    zk, kafka = both({0: 5}, {0: 5})
    kafka.refuse = "UnknownMemberIdError"
    result = run_both(tmp_path, zk, kafka, target="offset", offset=9, partitions=[0])
    assert result["failed"] and result["msg"].startswith("Kafka: the coordinator refused the offset commit")
    assert "ZooKeeper's change was put back, so neither store changed" in result["msg"]
    assert result["changed"] is False and zk.data("/consumers/billing/offsets/orders/0") == b"5"


def test_check_mode_on_both_stores_writes_nothing(tmp_path):
    zk, kafka = both({0: 5}, {0: 5})
    result = run_both(tmp_path, zk, kafka, check_mode=True, target="offset", offset=9, partitions=[0])
    assert result["changed"] and zk.commits == [] and not [c for c in kafka.calls if c[0] == "commit_offsets"]


@pytest.mark.parametrize("storage", ["zookeeper", "auto"])
def test_zookeeper_groups_still_change_in_zookeeper(tmp_path, storage):
    zk = cluster(offsets={0: 5})
    result = run_module(consumer_offset.main, dict(ZK_ARGS, **args(tmp_path, target="offset", offset=9, storage=storage,
                                                                   topics=["orders"])), zk, FakeBrokers(
        {("orders", p): (0, 100) for p in range(3)}))
    assert not result.get("failed"), result["msg"]
    assert result["storage"] == "zookeeper" and zk.data("/consumers/billing/offsets/orders/0") == b"9"


def test_no_zookeeper_and_no_brokers_given(tmp_path):
    result = run_module(consumer_offset.main, dict(group="billing", target="latest", backup_dir=str(tmp_path)), None,
                        brokers(), zookeeper_factory=never_connect)
    assert result["failed"] and result["msg"].startswith("neither zk_hosts nor kafka_bootstrap_servers is set")
    zk_only = run_module(consumer_offset.main, args(tmp_path, target="latest", storage="zookeeper"), None, brokers(),
                         zookeeper_factory=never_connect)
    assert zk_only["failed"] and zk_only["msg"].startswith("this needs ZooKeeper, but zk_hosts is not set")


def write_back(content, directory):
    """The files of a backup's content, written back in another directory; returns the one to restore from."""
    files = backup_content.restore_files(content, "billing", str(directory))
    for entry in files["files"]:
        os.makedirs(os.path.dirname(entry["path"]), exist_ok=True)
        with open(entry["path"], "w", encoding="utf-8") as handle:
            handle.write(entry["text"])
    return files["restore_file"]


def test_the_content_of_a_csv_backup_has_its_sidecar_and_restores_exactly_elsewhere(tmp_path):
    kafka = brokers()
    result = run(tmp_path, kafka, target="offset",
                 partition_offsets=[dict(topic="orders", partition=p, offset=10) for p in range(3)])
    assert sorted(result["backup_content"]["files"]) == [os.path.basename(result["backup_file"]),
                                                         os.path.basename(result["backup_file"]) + ".meta.json"]
    undo = run(tmp_path, kafka, target="file", file=write_back(result["backup_content"], tmp_path / "other"),
               backup=False)
    assert undo["changed"]
    assert kafka.groups["billing"]["offsets"] == {("orders", 0): 5, ("orders", 1): 6}


def test_the_content_of_a_backup_of_both_stores_restores_both_elsewhere(tmp_path):
    zk, kafka = both({0: 5, 1: 6}, {0: 7, 1: 6})
    moved = run_both(tmp_path, zk, kafka, target="offset", offset=20, partitions=[0, 1], prefer_store="larger")
    assert len(moved["backup_content"]["files"]) == 3
    restored = run_both(tmp_path, zk, kafka, target="file", file=write_back(moved["backup_content"], tmp_path / "o"),
                        backup=False)
    assert not restored.get("failed"), restored["msg"]
    assert zk.data("/consumers/billing/offsets/orders/0") == b"5"
    assert kafka.groups["billing"]["offsets"] == {("orders", 0): 7, ("orders", 1): 6}
