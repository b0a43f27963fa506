#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: run_journal
short_description: Keep the JSON journal of a remediation run, merged and replaced atomically in one call
version_added: 1.0.0
description:
  - Reads the journal file of a remediation run (a JSON object), merges the top-level keys of O(update) into it
    and, only when the content changes, replaces the file atomically, so that a rerun after a failure finds
    either the old or the new journal and picks up where the run stopped.
  - The write goes to a temporary file in the same directory, which is flushed and fsynced, renamed over the
    journal, and then the directory is fsynced. Missing parent directories are created with O(directory_mode).
  - The read, merge and write happen under an exclusive lock on the journal's directory, so two runs updating
    the same journal cannot lose each other's keys.
  - With O(state=absent) the journal is removed.
  - Needs only the Python standard library and imports nothing else, so one call costs little more than
    Ansible's fixed overhead per task.
author:
  - Kafka Ops maintainers (@kafka-ops)
extends_documentation_fragment:
  - kafka_ops.remediation.attributes
attributes:
  check_mode:
    support: full
    details: Reads the journal and returns what it would hold, with the diff; writes, creates and removes nothing.
  diff_mode:
    support: full
    details: Shows the journal's JSON text before and after.
  platform:
    support: full
    platforms: posix
    description: Runs where the journal lives, normally the controller (C(delegate_to=localhost)).
options:
  path:
    description: The journal file.
    type: path
    required: true
  state:
    description:
      - C(present) creates the journal (an empty object when O(update) is empty) and merges O(update) into it.
      - C(absent) removes it; O(update) is ignored then.
    type: str
    choices: [present, absent]
    default: present
  update:
    description:
      - Top-level keys to set in the journal. A key given here replaces the journal's value as a whole (shallow
        merge, nested objects and lists are not merged); keys not given are kept.
      - To extend a list, use O(append).
    type: dict
    default: {}
  append:
    description:
      - Lists to extend, by top-level key. Each item not yet in the journal's list is added at its end, under the
        same lock as the merge, so runs appending to the same key keep each other's items and a retried append
        changes nothing. A missing key starts as an empty list; a key that holds something other than a list
        fails the module.
      - Applied after O(update).
    type: dict
    default: {}
  mode:
    description:
      - File mode of the journal, as a quoted octal string like C('0640') (or an integer holding the mode bits).
        Symbolic modes are not supported.
      - Applied to every file this module writes, and to an existing journal whose mode differs.
    type: raw
    default: '0640'
  directory_mode:
    description: Mode of the parent directories the module creates; existing directories are left alone.
    type: raw
    default: '0750'
notes:
  - The content is compared as JSON, so a journal that only differs in formatting is left as it is.
  - The file is written by the user the module runs as; owner and group of a replaced journal are not kept.
  - The lock is an C(flock) on the journal's directory; it serialises concurrent calls of this module, not other
    writers.
"""

EXAMPLES = r"""
- name: Start the journal of this run
  kafka_ops.remediation.run_journal:
    path: "{{ skip_corrupt_state_file }}"
    update:
      phase: planned
      started_at: "{{ now(utc=true).isoformat() }}"
      group: billing
      stop_order: [3, 1, 2]
  delegate_to: localhost
  run_once: true
  register: skip_corrupt_journal_write

- name: Record in the journal that the offsets moved
  kafka_ops.remediation.run_journal:
    path: "{{ skip_corrupt_state_file }}"
    update:
      phase: offsets_moved
      backup_file: "{{ skip_corrupt_offset_change.backup_file }}"
  delegate_to: localhost
  run_once: true

- name: Record the restarted broker in the journal
  kafka_ops.remediation.run_journal:
    path: "{{ skip_corrupt_state_file }}"
    append:
      rolled:
        - "{{ inventory_hostname }}"
  delegate_to: localhost

- name: Close the journal, the run is complete
  kafka_ops.remediation.run_journal:
    path: "{{ skip_corrupt_state_file }}"
    state: absent
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
journal:
  description: The journal's content after the call (in check mode, what it would be); empty for O(state=absent).
  returned: always
  type: dict
  sample: {"phase": "offsets_moved", "started_at": "2026-11-26T14:05:01.123456+00:00", "group": "billing",
           "stop_order": [3, 1, 2], "backup_file": "/home/ops/.ansible/kafka_ops_remediation/backups/billing.offsets"}
existed:
  description: Whether the journal file was there before the call.
  returned: always
  type: bool
  sample: true
path:
  description: The journal file, as an absolute path.
  returned: always
  type: str
  sample: /home/ops/.ansible/kafka_ops_remediation/state/billing.json
diff:
  description: The journal's JSON text before and after (empty text for no file).
  returned: when diff mode is on
  type: dict
  sample: {"before": "{\n  \"phase\": \"planned\"\n}\n", "after": "{\n  \"phase\": \"offsets_moved\"\n}\n",
           "before_header": "/home/ops/.ansible/kafka_ops_remediation/state/billing.json",
           "after_header": "/home/ops/.ansible/kafka_ops_remediation/state/billing.json"}
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kafka_ops.remediation.plugins.module_utils.files.run_journal import (
    JournalError, journal_absent, journal_present, parse_mode)


def argument_spec() -> dict:
    return dict(
        path=dict(type="path", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        update=dict(type="dict", default={}),
        append=dict(type="dict", default={}),
        mode=dict(type="raw", default="0640"),
        directory_mode=dict(type="raw", default="0750"),
    )


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    path = os.path.abspath(params["path"])
    try:
        if params["state"] == "absent":
            outcome = journal_absent(path, module.check_mode)
        else:
            append = {key: value if isinstance(value, list) else [value] for key, value in params["append"].items()}
            outcome = journal_present(path, params["update"], parse_mode(params["mode"], "mode"),
                                      parse_mode(params["directory_mode"], "directory_mode"), module.check_mode,
                                      append)
    except JournalError as error:
        module.fail_json(msg=str(error), path=path)
    except OSError as error:
        where = f" ({error.filename})" if error.filename and error.filename != path else ""
        module.fail_json(msg=f"cannot update journal '{path}': {error.strerror or error}{where}", path=path)
    result = dict(changed=outcome["changed"], journal=outcome["journal"], existed=outcome["existed"], path=path)
    if module._diff:
        result["diff"] = dict(before=outcome["before"], after=outcome["after"],
                              before_header=path, after_header=path)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
