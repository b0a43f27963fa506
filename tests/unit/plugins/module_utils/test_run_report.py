# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The JSON report of a skip_corrupt.yml run, from its run state."""

from __future__ import annotations

from ansible_collections.kafka_ops.remediation.plugins.module_utils import run_report

TARGET = {"topic": "orders", "partition": 1, "committed_offset": 20, "target_offset": 25, "records_skipped": 5,
          "damaged_brokers": [1, 2], "intact_brokers": [], "explicit": False,
          "damage": [{"broker_id": 1, "segment": "s.log", "position": 9, "first_offset": 20, "last_offset": 24,
                      "next_valid_offset": 25, "reason": "crc_mismatch", "stored_crc": 1, "computed_crc": 2,
                      "lines": ["not in the report"]}]}
RUN = {"group": "billing", "broker_restart": "none", "stop_order": ["kafka1"], "resumed": False,
       "settings": {"max_skipped_records": 10000}, "targets": [TARGET], "undamaged": [], "cluster": {"brokers": 3},
       "controller_id": 1, "backup_file": "/b/billing.offsets"}
MARKS = [{"phase": "preflight", "at": 1796090000.0}, {"phase": "move offsets", "at": 1796090003.26},
         {"phase": "report", "at": 1796090004.0}]


def report(**overrides):
    args = dict(run=RUN, offset_change={"plan": [{"topic": "orders", "partition": 1, "before": 20, "after": 25}]},
                verified=[{"topic": "orders", "partition": 1}], marks=MARKS, check_mode=False)
    args.update(overrides)
    return run_report.skip_corrupt_report(**args)


def test_a_verified_skip_reports_what_was_lost_how_to_undo_it_and_the_phases():
    made = report()
    assert made["result"] == "skipped and verified"
    assert made["skipped"] == [{"topic": "orders", "partition": 1, "from_offset": 20, "to_offset": 25,
                                "records_lost": 5, "changed_now": True, "explicit": False}]
    assert made["records_lost_total"] == 5
    assert made["undo"] == ("ansible-playbook kafka_ops.remediation.restore_offsets -e consumer_group=billing "
                            "-e backup_file=/b/billing.offsets")
    assert made["phases"] == [{"phase": "preflight", "seconds": 3.3}, {"phase": "move offsets", "seconds": 0.7}]
    assert (made["started_at"], made["finished_at"]) == ("2026-12-01T01:53:20Z", "2026-12-01T01:53:24Z")
    assert made["found"][0]["next_valid_offset"] == 25 and "lines" not in made["found"][0]["damage"][0]
    assert made["settings"]["max_skipped_records"] == 10000


def test_a_resumed_run_that_did_not_move_the_offset_says_so():
    made = report(offset_change=None, verified=[])
    assert made["skipped"][0]["changed_now"] is False and made["result"] == "skipped"


def test_check_mode_reports_the_plan():
    made = report(check_mode=True, verified=[])
    assert made["result"] == "planned (check mode: nothing was changed)" and made["check_mode"] is True


def test_without_a_backup_there_is_nothing_to_undo():
    assert report(run={**RUN, "backup_file": None})["undo"] is None
