# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run a module's main() in-process with fake clients, the way community.general's unit-test utils do."""

import contextlib
from unittest import mock

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.module_runner import ModuleRunner


class ModuleExit(Exception):
    def __init__(self, result):
        super().__init__(result.get("msg", "exit"))
        self.result = result


class FakeBrokers:
    """Log ranges per (topic, partition) (offsets_for_time returns by_time), and the groups the coordinators hold:
    {group: {"state": ..., "type": ..., "members": [...], "offsets": {(topic, partition): offset}}}. A commit
    or deletion is refused per partition (UnknownMemberIdError) while the group's state is not Empty or Dead,
    as the broker does; `refuse` makes every commit fail with that error name instead."""

    def __init__(self, ranges, by_time=None, groups=None, topics=None, refuse=None):
        self.ranges = ranges
        self.by_time = by_time or {}
        self.groups = groups or {}
        self.topics = topics
        self.refuse = refuse
        self.calls = []
        self.closed = False

    def log_start_offsets(self, partitions):
        return {key: self.ranges[key][0] for key in partitions if key in self.ranges}

    def log_end_offsets(self, partitions):
        return {key: self.ranges[key][1] for key in partitions if key in self.ranges}

    def offsets_for_time(self, partitions, timestamp_ms):
        return {key: self.by_time.get(key) for key in partitions}

    def topic_partitions(self, topics):
        known = self.topics
        if known is None:
            known = {}
            for topic, partition in self.ranges:
                known.setdefault(topic, []).append(partition)
        return {topic: (sorted(known[topic]) if topic in known else None) for topic in topics}

    def list_groups(self):
        return [dict(group_id=name, group_state=group.get("state", "Empty"), protocol_type="consumer",
                     group_type=group.get("type", "classic")) for name, group in sorted(self.groups.items())]

    def describe_groups(self, groups):
        described = {}
        for name in groups:
            group = self.groups.get(name)
            if group is None or group.get("type") == "consumer":
                described[name] = dict(group_id=name, group_state="Dead", protocol_type="", members=[])
            else:
                described[name] = dict(group_id=name, group_state=group.get("state", "Empty"), protocol_type="consumer",
                                       members=group.get("members", []))
        return described

    def committed_offsets(self, groups):
        self.calls.append(("committed_offsets", sorted(groups)))
        result = {}
        for name, wanted in groups.items():
            held = self.groups.get(name, {}).get("offsets", {})
            result[name] = {key: (offset, "", -1) for key, offset in held.items() if wanted is None or key in wanted}
        return result

    def _refused(self, group, keys):
        if self.refuse:
            return {key: self.refuse for key in keys}
        if self.groups.get(group, {}).get("state", "Empty") not in ("Empty", "Dead"):
            return {key: "UnknownMemberIdError" for key in keys}
        return {}

    def commit_offsets(self, group, offsets):
        self.calls.append(("commit_offsets", group, dict(offsets)))
        refused = self._refused(group, offsets)
        if not refused:
            held = self.groups.setdefault(group, {"state": "Empty"}).setdefault("offsets", {})
            held.update({key: offset for key, (offset, _metadata) in offsets.items()})
        return refused

    def delete_offsets(self, group, partitions):
        self.calls.append(("delete_offsets", group, list(partitions)))
        refused = self._refused(group, partitions)
        if not refused:
            for key in partitions:
                self.groups.get(group, {}).get("offsets", {}).pop(key, None)
        return refused

    def close(self):
        self.closed = True


def run_module(main, args, zookeeper, kafka=None, check_mode=False, diff=False, kafka_factory=None,
               zookeeper_factory=None):
    """Returns the module's result dict; result['failed'] is True when it called fail_json.

    The clients are `zookeeper` and `kafka` unless zookeeper_factory or kafka_factory is given (pass the real
    ones to exercise them).
    """
    def leave(_module, **result):
        raise ModuleExit(result)

    def fail(_module, msg, **result):
        raise ModuleExit(dict(result, msg=msg, failed=True))

    module_args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    warnings = []
    with contextlib.ExitStack() as stack:
        stack.enter_context(patch_module_args(module_args))
        stack.enter_context(mock.patch.object(basic.AnsibleModule, "exit_json", leave))
        stack.enter_context(mock.patch.object(basic.AnsibleModule, "fail_json", fail))
        stack.enter_context(mock.patch.object(basic.AnsibleModule, "warn", lambda _m, text: warnings.append(text)))
        stack.enter_context(mock.patch.object(ModuleRunner, "zookeeper_factory",
                                              zookeeper_factory or (lambda params: zookeeper)))
        stack.enter_context(mock.patch.object(ModuleRunner, "kafka_factory",
                                              kafka_factory or (lambda params, servers: kafka or FakeBrokers({}))))
        try:
            main()
        except ModuleExit as finished:
            finished.result["warnings_seen"] = warnings
            return finished.result
    raise AssertionError("module returned without exit_json or fail_json")
