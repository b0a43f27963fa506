#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: report_files
short_description: Write report files on the controller, each atomically, in one call
version_added: 1.0.0
description:
  - Writes several files in one module run, for example the JSON report and the Markdown summary of a remediation
    run, so that writing a report costs one task instead of one per file (each module run has a fixed start-up
    cost).
  - Each file goes to a temporary file in the same directory, which is flushed and fsynced, renamed over the file,
    and then the directory is fsynced, so that a crash leaves either the old file or the new one, never a torn one.
    Missing parent directories are created with O(directory_mode).
  - A file that already holds the asked content with the asked mode is not rewritten and reports no change, so a
    rerun reports no change.
  - Every entry is checked before any file is written (exactly one of O(files[].json) and O(files[].text), a path
    that is not a directory, a writable directory, no path given twice), so a bad entry leaves every file as it was.
  - Needs only the Python standard library and imports nothing else, so one call costs little more than
    Ansible's fixed overhead per task.
author:
  - Kafka Ops maintainers (@kafka-ops)
extends_documentation_fragment:
  - kafka_ops.remediation.attributes
attributes:
  check_mode:
    support: full
    details: Reads the files and returns what would change, with the diff; writes and creates nothing.
  diff_mode:
    support: full
    details: Shows the text before and after of each changed file, headed by its path (and its mode if it changes).
  platform:
    support: full
    platforms: posix
    description: Runs where the files go, normally the controller (C(delegate_to=localhost)).
options:
  files:
    description: The files to write, in this order.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: The file to write.
        type: path
        required: true
      json:
        description:
          - Content as a JSON value, written as JSON indented by two spaces, keys in the order given, with a
            trailing newline (as M(kafka_ops.remediation.run_journal) writes a journal).
          - Give exactly one of O(files[].json) and O(files[].text). A JSON C(null) counts as not given.
        type: raw
      text:
        description:
          - Content as text, written as it is (UTF-8); add the trailing newline yourself.
          - Give exactly one of O(files[].json) and O(files[].text).
        type: str
  mode:
    description:
      - File mode of every file, as a quoted octal string like C('0640') (or an integer holding the mode bits).
        Symbolic modes are not supported.
      - Applied to every file this module writes, and to an existing file with the asked content whose mode differs.
    type: raw
    default: '0640'
  directory_mode:
    description: Mode of the parent directories the module creates; existing directories are left alone.
    type: raw
    default: '0750'
notes:
  - The content is compared byte for byte, so a JSON file that only differs in formatting or key order is rewritten.
  - The files are written by the user the module runs as; owner and group of a replaced file are not kept.
  - The module runs on the host it is given to; reports normally go to the controller, so delegate to localhost.
"""

EXAMPLES = r"""
- name: Write the JSON report and the Markdown summary
  kafka_ops.remediation.report_files:
    files:
      - path: "{{ report_base }}.json"
        json: "{{ report_content }}"
      - path: "{{ report_base }}.md"
        text: "{{ lookup('ansible.builtin.template', 'summary.md.j2') }}"
    mode: "0640"
  delegate_to: localhost
  run_once: true

- name: Write the offsets table and the raw result, creating the directory
  kafka_ops.remediation.report_files:
    files:
      - path: /var/lib/kafka-ops/reports/offsets.txt
        text: "{{ offsets_report.table | join('\n') }}\n"
      - path: /var/lib/kafka-ops/reports/offsets.json
        json: "{{ offsets_report.offsets }}"
    mode: "0644"
    directory_mode: "0755"
  delegate_to: localhost
"""

RETURN = r"""
files:
  description: One entry per file, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file, as an absolute path.
      returned: always
      type: str
      sample: /home/ops/.ansible/kafka_ops_remediation/reports/skip_corrupt-billing-20261126T140501Z.json
    changed:
      description: Whether the file was (in check mode, would be) written or had its mode changed.
      returned: always
      type: bool
      sample: true
    size:
      description: Size of the file's content in bytes.
      returned: always
      type: int
      sample: 2318
  sample: [{"path": "/home/ops/.ansible/kafka_ops_remediation/reports/skip_corrupt-billing-20261126T140501Z.json",
            "changed": true, "size": 2318},
           {"path": "/home/ops/.ansible/kafka_ops_remediation/reports/skip_corrupt-billing-20261126T140501Z.md",
            "changed": true, "size": 904}]
diff:
  description:
    - One entry per file that changes, with the text before and after (empty text for no file) and the path as
      header.
    - When only the mode changes, before and after hold the mode; a file larger than 104448 bytes is reported as
      too large to show.
  returned: when diff mode is on
  type: list
  elements: dict
  sample: [{"before": "", "after": "# skip_corrupt: consumer group `billing`\n",
            "before_header": "/home/ops/.ansible/kafka_ops_remediation/reports/skip_corrupt-billing.md",
            "after_header": "/home/ops/.ansible/kafka_ops_remediation/reports/skip_corrupt-billing.md (mode 0640)"}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kafka_ops.remediation.plugins.module_utils.files.report_files import (
    ReportFilesError, write_report_files)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.files.run_journal import JournalError, parse_mode


def argument_spec() -> dict:
    return dict(
        files=dict(type="list", elements="dict", required=True, options=dict(
            path=dict(type="path", required=True),
            json=dict(type="raw"),
            text=dict(type="str"),
        )),
        mode=dict(type="raw", default="0640"),
        directory_mode=dict(type="raw", default="0750"),
    )


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    try:
        outcome = write_report_files(params["files"], parse_mode(params["mode"], "mode"),
                                     parse_mode(params["directory_mode"], "directory_mode"), module.check_mode)
    except (ReportFilesError, JournalError) as error:
        module.fail_json(msg=str(error))
    result = dict(changed=outcome["changed"], files=outcome["files"])
    if module._diff:
        result["diff"] = outcome["diff"]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
