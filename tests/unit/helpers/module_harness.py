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


class FakeLogOffsets:
    """Log ranges per (topic, partition); offsets_for_time returns by_time."""

    def __init__(self, ranges, by_time=None):
        self.ranges = ranges
        self.by_time = by_time or {}
        self.closed = False

    def log_start_offsets(self, partitions):
        return {key: self.ranges[key][0] for key in partitions if key in self.ranges}

    def log_end_offsets(self, partitions):
        return {key: self.ranges[key][1] for key in partitions if key in self.ranges}

    def offsets_for_time(self, partitions, timestamp_ms):
        return {key: self.by_time.get(key) for key in partitions}

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
                                              kafka_factory or (lambda params, servers: kafka)))
        try:
            main()
        except ModuleExit as finished:
            finished.result["warnings_seen"] = warnings
            return finished.result
    raise AssertionError("module returned without exit_json or fail_json")
