# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The variables each playbook reads, as AWX/AAP surveys and ``-e key=value`` give them, checked and typed.

A survey sends every answer as a string: ``"false"`` for a boolean (truthy in Jinja), ``"100"`` for an integer,
a comma- or newline-separated string for a list (a multiple choice arrives one answer per line), a JSON string
for a list of entries or a dict. ``normalise`` reads one playbook's variables by its spec, turns each into the
type the playbook means, and names every bad value in one line each, before the playbook changes anything.

It also decides where the playbook's files go: every run keeps its offset backups (the undo), its run journal (the
resume) and its reports under one data directory, ``kafka_ops_data_dir`` (default
``~/.ansible/kafka_ops_remediation``), in ``backups/``, ``runs/`` and ``reports/``; ``backup_dir``, ``state_dir``
and ``report_dir`` still name each one on their own. In AAP the controller is a container that is gone when the
job ends, so the data directory should be on a volume the execution environment mounts.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from typing import Any, NamedTuple, Optional

from ansible_collections.kafka_ops.remediation.plugins.module_utils.offsets import backup_content

DEFAULT_DATA_DIR = "~/.ansible/kafka_ops_remediation"
DATA_SUBDIRS = dict(backup_dir="backups", state_dir="runs", report_dir="reports")
TRUE_WORDS = ("true", "yes", "on", "y", "1")
FALSE_WORDS = ("false", "no", "off", "n", "0")
_INTEGER = re.compile(r"[+-]?\d+")


class Var(NamedTuple):
    """One playbook variable: its name, its kind, its default when not given (or given as an empty string),
    the values it may take (kind ``choice``) and its smallest value (kinds ``int`` and ``number``)."""

    name: str
    kind: str
    default: Any = None
    choices: tuple = ()
    minimum: Optional[float] = None


class BadValue(ValueError):
    """A value that is not of its variable's kind; the text says what is expected."""


# The data directory, in every playbook that writes files, and the directories under it that can be given alone.
DATA_DIR = Var("kafka_ops_data_dir", "path")
BACKUP_DIR, STATE_DIR, REPORT_DIR = Var("backup_dir", "path"), Var("state_dir", "path"), Var("report_dir", "path")
STORAGE = Var("offset_storage", "choice", "auto", ("auto", "zookeeper", "kafka"))
# Variables of the roles a playbook runs, which a survey may set as extra vars: extra vars outrank whatever a
# playbook passes, so the roles read them with | bool and | int; checked here so that a typo stops the run first.
BROKER_ROLE = (Var("broker_service_kill_on_timeout", "bool"), Var("broker_service_stop_timeout", "int", minimum=1))
CONSUMER_ROLE = (Var("consumer_service_kill_on_timeout", "bool"), Var("consumer_service_stop_timeout", "int", minimum=1))
# The repair's limits, shared by repair_replicas.yml and skip_corrupt.yml; their defaults are repair_plan's.
REPAIR_LIMITS = (
    Var("max_rebuild_bytes", "int", minimum=0), Var("allow_under_min_isr", "bool", False),
    Var("allow_unclean_election_enabled", "bool", False), Var("rebuild_timeout", "number", minimum=0.001),
    Var("stall_timeout", "number", minimum=0.001), Var("throttle", "int", minimum=0),
    Var("capture_bytes", "int", minimum=0),
)

SPECS: dict[str, tuple[Var, ...]] = {
    "skip_corrupt": (
        Var("consumer_group", "str", ""), Var("topics", "list", []), Var("partitions", "int_list", []),
        Var("offsets", "entries", []), STORAGE,
        Var("prefer_store", "choice", "", ("", "larger", "zookeeper", "kafka")),
        Var("broker_restart", "choice", "", ("", "full_stop", "rolling", "none")),
        Var("allow_slow_full_stop", "bool", False), Var("max_skipped_records", "int", 10000, minimum=0),
        Var("stuck_interval", "number", 10, minimum=0), Var("remedy", "choice", "auto", ("auto", "repair", "skip")),
        *REPAIR_LIMITS, Var("allow_intact_replica", "bool", False), Var("consumer_hosts", "str", "consumers"),
        Var("verify_timeout", "number", 120, minimum=0), Var("verify_poll_interval", "number", 0.5, minimum=0.05),
        DATA_DIR, BACKUP_DIR, STATE_DIR, REPORT_DIR, *BROKER_ROLE, *CONSUMER_ROLE,
    ),
    "repair_replicas": (
        Var("topic", "str", ""), Var("partitions", "int_list", []), *REPAIR_LIMITS, DATA_DIR, STATE_DIR, REPORT_DIR,
    ),
    "restore_offsets": (
        Var("consumer_group", "str", ""), Var("backup_file", "path"), Var("backup_content", "dict"),
        # The artifact an earlier node of an AWX/AAP workflow published, which reaches this one as an extra var.
        Var("kafka_ops_backup_content", "dict"),
        Var("consumer_hosts", "str", "consumers"), STORAGE, DATA_DIR, BACKUP_DIR, *CONSUMER_ROLE,
    ),
    "offsets_report": (
        Var("consumer_groups", "list", []), Var("topics", "list", []), STORAGE, DATA_DIR, REPORT_DIR,
    ),
    "scan_corruption": (
        Var("topics", "list", []), Var("fail_on_damage", "bool", True), DATA_DIR, REPORT_DIR,
    ),
    "rolling_restart": BROKER_ROLE,
}

# Variables a playbook cannot run without, and what to pass.
REQUIRED = {
    "restore_offsets": ("consumer_group",),
}


def data_paths(data_dir: Optional[str] = None, backup_dir: Optional[str] = None, state_dir: Optional[str] = None,
               report_dir: Optional[str] = None) -> dict[str, str]:
    """The data directory and the backup, journal and report directories, each given on its own or under it;
    ``~`` expanded (the controller's home)."""
    base = os.path.expanduser(data_dir or DEFAULT_DATA_DIR).rstrip("/") or "/"
    given = dict(backup_dir=backup_dir, state_dir=state_dir, report_dir=report_dir)
    paths = {name: os.path.expanduser(given[name]) if given[name] else os.path.join(base, sub)
             for name, sub in DATA_SUBDIRS.items()}
    return dict(paths, data_dir=base)


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise BadValue("true or false (yes/no, on/off and 1/0 too)")


def _to_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    raise BadValue("a whole number")


def _to_number(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return int(number) if _INTEGER.fullmatch(value.strip()) else number
    raise BadValue("a number")


def _to_str(value: Any) -> str:
    if isinstance(value, str) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return str(value).strip()
    raise BadValue("a text")


def _json(value: str, kind: type, expected: str) -> Any:
    try:
        parsed = json.loads(value)
    except ValueError:
        raise BadValue(f"{expected}, or the same as JSON") from None
    if not isinstance(parsed, kind):
        raise BadValue(f"{expected}, or the same as JSON")
    return parsed


def _to_list(value: Any, element: Any, expected: str) -> list:
    if isinstance(value, str) and value.strip().startswith("["):
        value = _json(value, list, expected)
    if isinstance(value, str):
        items: list = [item.strip() for item in re.split(r"[,\n]", value) if item.strip()]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        items = [value]
    else:
        raise BadValue(expected)
    try:
        return [element(item) for item in items]
    except BadValue:
        raise BadValue(expected) from None


def _to_entries(value: Any) -> list[dict]:
    expected = "a list of {topic, partition, offset}"
    if isinstance(value, str):
        value = _json(value, list, expected)
    if not isinstance(value, list):
        raise BadValue(expected)
    entries = []
    for entry in value:
        if not isinstance(entry, Mapping) or not {"topic", "partition", "offset"} <= set(entry):
            raise BadValue(f"{expected}, each with all three")
        entries.append(dict(entry, topic=_to_str(entry["topic"]), partition=_to_int(entry["partition"]),
                            offset=_to_int(entry["offset"])))
    return entries


def _to_dict(value: Any) -> dict:
    if isinstance(value, str):
        value = _json(value, dict, "a dict")
    if not isinstance(value, Mapping):
        raise BadValue("a dict, or the same as JSON")
    return dict(value)


def _to_path(value: Any) -> str:
    path = os.path.expanduser(_to_str(value))
    if not os.path.isabs(path):
        raise BadValue("an absolute path on the controller (or one that starts with ~)")
    return path


def _to_names(value: Any) -> list[str]:
    return _to_list(value, _to_str, "a list of names, or one name, or names separated by commas or new lines")


def _to_numbers(value: Any) -> list[int]:
    return _to_list(value, _to_int, "a list of whole numbers, or one, or whole numbers separated by commas or new lines")


CONVERTERS = {"bool": _to_bool, "int": _to_int, "number": _to_number, "str": _to_str, "path": _to_path,
              "list": _to_names, "int_list": _to_numbers, "entries": _to_entries, "dict": _to_dict}


def convert(var: Var, value: Any) -> Any:
    """One variable's value in the type it means; raises BadValue saying what is expected."""
    if _is_empty(value):
        # A copy: a list default is not shared between two answers.
        return list(var.default) if isinstance(var.default, list) else var.default
    if var.kind == "choice":
        text = _to_str(value)
        if text not in var.choices:
            raise BadValue("one of " + ", ".join(repr(choice) for choice in var.choices if choice))
        return text
    converted = CONVERTERS[var.kind](value)
    if var.minimum is not None and converted < var.minimum:
        raise BadValue(f"{'a whole number' if var.kind == 'int' else 'a number'} of {var.minimum:g} or more")
    return converted


def _shown(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def normalise(playbook: str, raw: Mapping) -> dict:
    """Every variable of ``playbook`` from ``raw`` (the run's variables), typed, with the data directories.

    Returns {settings, errors}: ``settings`` maps each variable of the spec to its typed value (its default when
    not given, or given empty) plus, for a playbook that writes files, ``data_dir``, ``backup_dir``,
    ``state_dir``, ``report_dir`` and ``report_dir_given`` (whether report_dir or the data directory was given);
    ``errors`` is one line per bad or missing value, naming the variable, the value and
    what is expected. A variable not in the spec is not read.
    """
    if playbook not in SPECS:
        raise KeyError(f"no settings are known for playbook {playbook!r}: one of {', '.join(sorted(SPECS))}")
    settings: dict[str, Any] = {}
    errors = []
    for var in SPECS[playbook]:
        value = raw.get(var.name)
        try:
            settings[var.name] = convert(var, value)
        except BadValue as error:
            errors.append(f"{var.name}={_shown(value)} is not valid: expected {error}.")
            settings[var.name] = var.default
    for name in REQUIRED.get(playbook, ()):
        if settings[name] in (None, "") and not any(line.startswith(name + "=") for line in errors):
            errors.append(f"{name} is required: pass -e {name}=<value>, or set it in the job template or survey.")
    if DATA_DIR in SPECS[playbook]:
        settings.update(data_paths(settings[DATA_DIR.name], settings.get("backup_dir"), settings.get("state_dir"),
                                   settings.get("report_dir")),
                        report_dir_given=bool(settings.get("report_dir") or settings[DATA_DIR.name]))
    if playbook == "restore_offsets":
        errors += _restore_source(settings, errors)
    return dict(settings=settings, errors=errors)


def _restore_source(settings: dict, errors: list[str]) -> list[str]:
    """restore_offsets.yml restores from backup_file, or from backup_content written back as the same files under
    backup_dir/from_content: sets restore_file and restore_files ([{path, text}] to write first). Without either,
    the kafka_ops_backup_content a workflow's earlier node published stands in for backup_content. A source
    already named in ``errors`` is not named again."""
    settings.update(restore_file=settings["backup_file"], restore_files=[])
    if any(line.startswith(("backup_file=", "backup_content=", "kafka_ops_backup_content=")) for line in errors):
        return []
    if settings["backup_file"] is None and settings["backup_content"] is None:
        settings["backup_content"] = settings["kafka_ops_backup_content"]
    given = [name for name in ("backup_file", "backup_content") if settings[name] is not None]
    if len(given) > 1:
        return ["backup_file and backup_content are both given: pass one of them, not both."]
    if not given:
        return ["backup_file or backup_content is required: pass -e backup_file=<the backup file on the controller>, "
                "or -e backup_content=<the kafka_ops_backup_content a run published> (a dict, or its JSON); in a "
                "workflow, the kafka_ops_backup_content artifact of the node before does."]
    if settings["backup_content"] is None or not settings["consumer_group"]:
        return []
    try:
        files = backup_content.restore_files(settings["backup_content"], settings["consumer_group"],
                                             os.path.join(settings["backup_dir"], "from_content"))
    except backup_content.BackupContentError as error:
        return [f"{error}."]
    settings.update(restore_file=files["restore_file"], restore_files=files["files"])
    return []
