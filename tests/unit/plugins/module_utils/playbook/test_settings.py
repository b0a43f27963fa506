# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Playbook settings as AWX/AAP surveys send them: every kind, every bad value, the data directories."""

from __future__ import annotations

import json
import pathlib
import re

import pytest
import yaml

from ansible_collections.kafka_ops.remediation.plugins.module_utils.playbook import settings
from ansible_collections.kafka_ops.remediation.plugins.module_utils.playbook.settings import BadValue, Var, convert

REPO = pathlib.Path(__file__).resolve().parents[5]


@pytest.fixture(autouse=True)
def home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.mark.parametrize("value, expected", [
    (True, True), (False, False), ("false", False), ("False", False), (" no ", False), ("off", False),
    ("n", False), ("0", False), (0, False), ("true", True), ("YES", True), ("on", True), ("y", True), ("1", True),
    (1, True), ("", False), (None, False),
])
def test_a_boolean_from_a_survey_string(value, expected):
    assert convert(Var("flag", "bool", False), value) is expected


@pytest.mark.parametrize("value", ["maybe", "flase", 2, 0.5, [], {}])
def test_a_boolean_refuses_what_is_neither(value):
    with pytest.raises(BadValue, match="true or false"):
        convert(Var("flag", "bool", False), value)


@pytest.mark.parametrize("value, expected", [
    ("100", 100), (" 100 ", 100), ("-3", -3), ("+7", 7), (100, 100), (10.0, 10), ("", 5), (None, 5),
])
def test_a_whole_number_from_a_survey_string(value, expected):
    assert convert(Var("count", "int", 5), value) == expected


@pytest.mark.parametrize("value", ["10k", "1e3", "10.5", 10.5, True, [1], "nan"])
def test_a_whole_number_refuses_anything_else(value):
    with pytest.raises(BadValue, match="a whole number"):
        convert(Var("count", "int", 5), value)


def test_a_whole_number_below_its_minimum_says_the_minimum():
    with pytest.raises(BadValue, match="a whole number of 0 or more"):
        convert(Var("count", "int", minimum=0), "-1")


@pytest.mark.parametrize("value, expected", [("0.5", 0.5), ("10", 10), (" 2.5 ", 2.5), (3, 3), (0.25, 0.25)])
def test_a_number_from_a_survey_string(value, expected):
    converted = convert(Var("seconds", "number", 1), value)
    assert converted == expected and type(converted) is type(expected)


@pytest.mark.parametrize("value", ["ten", "inf", "nan", float("inf"), True, {}])
def test_a_number_refuses_anything_else(value):
    with pytest.raises(BadValue, match="a number"):
        convert(Var("seconds", "number", 1), value)


def test_a_number_below_its_minimum_says_the_minimum():
    with pytest.raises(BadValue, match="a number of 0.05 or more"):
        convert(Var("poll", "number", minimum=0.05), "0.01")


@pytest.mark.parametrize("value, expected", [
    ("orders,audit", ["orders", "audit"]), ("orders\naudit\n", ["orders", "audit"]), (" orders , ,audit ", ["orders", "audit"]),
    ('["orders", "audit"]', ["orders", "audit"]), (["orders", "audit"], ["orders", "audit"]), ("orders", ["orders"]),
    (7, ["7"]), ("", []), (None, []),
])
def test_a_list_of_names_from_a_survey_string(value, expected):
    assert convert(Var("topics", "list", []), value) == expected


@pytest.mark.parametrize("value", [{"a": 1}, True, [["nested"]], "[not json"])
def test_a_list_of_names_refuses_anything_else(value):
    with pytest.raises(BadValue):
        convert(Var("topics", "list", []), value)


@pytest.mark.parametrize("value, expected", [
    ("1,3", [1, 3]), ("1\n3", [1, 3]), ("[1, 3]", [1, 3]), ([1, "3"], [1, 3]), (2, [2]), ("2", [2]),
])
def test_a_list_of_whole_numbers_from_a_survey_string(value, expected):
    assert convert(Var("partitions", "int_list", []), value) == expected


@pytest.mark.parametrize("value", ["1,x", ["one"], [1.5], 1.5])
def test_a_list_of_whole_numbers_refuses_anything_else(value):
    with pytest.raises(BadValue, match="whole numbers"):
        convert(Var("partitions", "int_list", []), value)


def test_entries_from_json_or_as_they_are():
    entries = [{"topic": "orders", "partition": "1", "offset": "4711"}]
    expected = [{"topic": "orders", "partition": 1, "offset": 4711}]
    assert convert(Var("offsets", "entries", []), json.dumps(entries)) == expected
    assert convert(Var("offsets", "entries", []), entries) == expected


@pytest.mark.parametrize("value", ['[{"topic": "orders"}]', '{"topic": "orders"}', "orders:1:5", 5, ["orders"],
                                   [{"topic": "orders", "partition": "x", "offset": 1}]])
def test_entries_refuse_anything_else(value):
    with pytest.raises(BadValue):
        convert(Var("offsets", "entries", []), value)


def test_a_dict_from_json_or_as_it_is():
    assert convert(Var("content", "dict"), '{"a": 1}') == {"a": 1}
    assert convert(Var("content", "dict"), {"a": 1}) == {"a": 1}


@pytest.mark.parametrize("value", ["[1]", "{not json", 5, ["a"]])
def test_a_dict_refuses_anything_else(value):
    with pytest.raises(BadValue, match="a dict"):
        convert(Var("content", "dict"), value)


@pytest.mark.parametrize("value", ["auto", " kafka "])
def test_a_choice(value):
    assert convert(settings.STORAGE, value) == value.strip()


def test_a_choice_names_the_choices():
    with pytest.raises(BadValue, match="one of 'larger', 'zookeeper', 'kafka'"):
        convert(Var("prefer_store", "choice", "", ("", "larger", "zookeeper", "kafka")), "bigger")


@pytest.mark.parametrize("value, expected", [("billing", "billing"), (" billing ", "billing"), (42, "42")])
def test_a_text(value, expected):
    assert convert(Var("group", "str", ""), value) == expected


@pytest.mark.parametrize("value", [True, ["billing"], {"a": 1}])
def test_a_text_refuses_anything_else(value):
    with pytest.raises(BadValue, match="a text"):
        convert(Var("group", "str", ""), value)


def test_a_path_is_absolute_with_the_home_expanded(home):
    assert convert(Var("dir", "path"), "~/kafka") == str(home / "kafka")
    assert convert(Var("dir", "path"), "/runner/data") == "/runner/data"
    with pytest.raises(BadValue, match="an absolute path"):
        convert(Var("dir", "path"), "data")


def test_data_paths_default_to_the_home_directory(home):
    assert settings.data_paths() == dict(data_dir=str(home / ".ansible/kafka_ops_remediation"),
                                         backup_dir=str(home / ".ansible/kafka_ops_remediation/backups"),
                                         state_dir=str(home / ".ansible/kafka_ops_remediation/runs"),
                                         report_dir=str(home / ".ansible/kafka_ops_remediation/reports"))


def test_data_paths_go_under_the_data_directory_unless_each_is_given():
    paths = settings.data_paths("/runner/kafka/", report_dir="/srv/reports")
    assert paths == dict(data_dir="/runner/kafka", backup_dir="/runner/kafka/backups", state_dir="/runner/kafka/runs",
                         report_dir="/srv/reports")
    assert settings.data_paths("/")["backup_dir"] == "/backups"


def test_survey_strings_give_what_typed_values_give():
    survey = settings.normalise("skip_corrupt", {
        "consumer_group": "billing", "topics": "orders\naudit", "partitions": "1,2", "allow_intact_replica": "false",
        "max_skipped_records": "100", "stuck_interval": "2.5", "broker_restart": "none", "verify_timeout": "",
        "kafka_ops_data_dir": "/runner/kafka", "broker_service_kill_on_timeout": "false",
        "offsets": '[{"topic": "orders", "partition": 1, "offset": 5}]'})
    typed = settings.normalise("skip_corrupt", {
        "consumer_group": "billing", "topics": ["orders", "audit"], "partitions": [1, 2], "allow_intact_replica": False,
        "max_skipped_records": 100, "stuck_interval": 2.5, "broker_restart": "none",
        "kafka_ops_data_dir": "/runner/kafka", "broker_service_kill_on_timeout": False,
        "offsets": [{"topic": "orders", "partition": 1, "offset": 5}]})
    assert survey == typed and survey["errors"] == []
    assert survey["settings"]["verify_timeout"] == 120
    assert survey["settings"]["backup_dir"] == "/runner/kafka/backups"
    assert survey["settings"]["state_dir"] == "/runner/kafka/runs"
    assert survey["settings"]["report_dir_given"] is True


def test_every_bad_value_has_one_line_naming_it_and_the_defaults_stand_in():
    answer = settings.normalise("skip_corrupt", {"consumer_group": "billing", "max_skipped_records": "10k",
                                                 "allow_intact_replica": "maybe", "remedy": "fix"})
    assert answer["errors"] == [
        "max_skipped_records='10k' is not valid: expected a whole number.",
        "remedy='fix' is not valid: expected one of 'auto', 'repair', 'skip'.",
        "allow_intact_replica='maybe' is not valid: expected true or false (yes/no, on/off and 1/0 too).",
    ]
    assert answer["settings"]["max_skipped_records"] == 10000


def test_a_long_bad_value_is_cut_short():
    answer = settings.normalise("scan_corruption", {"fail_on_damage": "x" * 200})
    assert len(answer["errors"][0]) < 200 and "..." in answer["errors"][0]
    answer = settings.normalise("scan_corruption", {"fail_on_damage": [1, 2]})
    assert answer["errors"] == ["fail_on_damage=[1, 2] is not valid: expected true or false (yes/no, on/off and 1/0 too)."]


def test_a_variable_outside_the_spec_is_not_read():
    answer = settings.normalise("rolling_restart", {"broker_service_kill_on_timeout": "yes", "topics": "x"})
    assert answer == dict(settings=dict(broker_service_kill_on_timeout=True, broker_service_stop_timeout=None),
                          errors=[])


def test_an_unknown_playbook_is_named():
    with pytest.raises(KeyError, match="no settings are known for playbook 'reboot'"):
        settings.normalise("reboot", {})


def test_offsets_report_writes_files_only_when_a_directory_is_given():
    assert settings.normalise("offsets_report", {})["settings"]["report_dir_given"] is False
    assert settings.normalise("offsets_report", {"report_dir": "/tmp/r"})["settings"]["report_dir_given"] is True
    given = settings.normalise("offsets_report", {"kafka_ops_data_dir": "/data"})["settings"]
    assert given["report_dir_given"] is True and given["report_dir"] == "/data/reports"


def test_restore_needs_the_group_and_one_source():
    answer = settings.normalise("restore_offsets", {})
    assert answer["errors"][0] == ("consumer_group is required: pass -e consumer_group=<value>, or set it in the job "
                                   "template or survey.")
    assert answer["errors"][1].startswith("backup_file or backup_content is required")
    both = settings.normalise("restore_offsets", {"consumer_group": "g", "backup_file": "/b.offsets",
                                                  "backup_content": {"files": {"b.offsets": ""}}})
    assert both["errors"] == ["backup_file and backup_content are both given: pass one of them, not both."]


def test_a_bad_required_value_is_named_once():
    answer = settings.normalise("restore_offsets", {"consumer_group": ["a"], "backup_file": "/b.offsets"})
    assert answer["errors"] == ["consumer_group=[\"a\"] is not valid: expected a text."]


def test_a_bad_backup_file_is_named_once():
    answer = settings.normalise("restore_offsets", {"consumer_group": "g", "backup_file": "relative.offsets"})
    assert answer["errors"] == ["backup_file='relative.offsets' is not valid: expected an absolute path on the "
                                "controller (or one that starts with ~)."]


def test_restore_from_a_file_restores_that_file():
    answer = settings.normalise("restore_offsets", {"consumer_group": "g", "backup_file": "/b/g-1.offsets"})
    assert answer["errors"] == []
    assert answer["settings"]["restore_file"] == "/b/g-1.offsets" and answer["settings"]["restore_files"] == []


def test_restore_from_content_writes_its_files_under_the_backup_directory():
    content = {"group": "g", "files": {"g-1.csv": "orders,0,5\n", "g-1.csv.meta.json": "{}\n"}}
    answer = settings.normalise("restore_offsets", {"consumer_group": "g", "backup_content": json.dumps(content),
                                                    "kafka_ops_data_dir": "/data"})
    assert answer["errors"] == []
    assert answer["settings"]["restore_file"] == "/data/backups/from_content/g-1.csv"
    assert answer["settings"]["restore_files"] == [
        {"path": "/data/backups/from_content/g-1.csv", "text": "orders,0,5\n"},
        {"path": "/data/backups/from_content/g-1.csv.meta.json", "text": "{}\n"}]


def test_in_a_workflow_the_published_artifact_stands_in_for_backup_content():
    content = {"group": "g", "files": {"g-1.offsets": "/consumers/g/offsets/t/0:5\n"}}
    answer = settings.normalise("restore_offsets", {"consumer_group": "g", "kafka_ops_backup_content": content,
                                                    "kafka_ops_data_dir": "/data"})
    assert answer["errors"] == [] and answer["settings"]["restore_file"] == "/data/backups/from_content/g-1.offsets"
    given = settings.normalise("restore_offsets", {"consumer_group": "g", "kafka_ops_backup_content": content,
                                                   "backup_file": "/b/g-2.offsets"})
    assert given["errors"] == [] and given["settings"]["restore_file"] == "/b/g-2.offsets"
    bad = settings.normalise("restore_offsets", {"consumer_group": "g", "kafka_ops_backup_content": "[]"})
    assert bad["errors"] == ["kafka_ops_backup_content='[]' is not valid: expected a dict, or the same as JSON."]


def test_restore_from_content_of_another_group_is_refused_in_one_line():
    answer = settings.normalise("restore_offsets", {"consumer_group": "g",
                                                    "backup_content": {"group": "h", "files": {"h-1.offsets": ""}}})
    assert answer["errors"] == ["backup_content is a backup of group 'h', not of 'g': pass the consumer_group it "
                                "was taken of."]


def test_restore_from_content_waits_for_the_group_to_check_it():
    answer = settings.normalise("restore_offsets", {"backup_content": {"group": "h", "files": {"h-1.offsets": ""}}})
    assert answer["errors"] == ["consumer_group is required: pass -e consumer_group=<value>, or set it in the job "
                                "template or survey."]


@pytest.mark.parametrize("playbook", sorted(settings.SPECS))
def test_each_playbook_reads_its_settings_first_and_documents_every_variable(playbook):
    text = (REPO / "playbooks" / f"{playbook}.yml").read_text()
    first = yaml.safe_load(text)[0]["tasks"][0]
    assert first["ansible.builtin.set_fact"] == {
        f"{playbook}_read": f"{{{{ {playbook}_given | kafka_ops.remediation.run_settings('{playbook}') }}}}"}
    assert first["vars"][f"{playbook}_given"] == {
        var.name: f"{{{{ {var.name} | default(none) }}}}" for var in settings.SPECS[playbook]}
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    missing = [var.name for var in settings.SPECS[playbook] if not re.search(rf"\b{var.name}\b", header)]
    assert missing == []
