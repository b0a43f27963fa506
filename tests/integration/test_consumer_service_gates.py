# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The consumer_service gates on the real lab (issue 10, "Waits that say nothing"): a consumer of the group
that comes back while the stop gate waits is named in the failure, within the timeout; a consumer process that
exits right after its start ends the start gate at once, saying so."""

from __future__ import annotations

import json
import time

import pytest

from lab.scenarios import unique_name
from lab.layout import ansible_command
from skip_corrupt_helpers import REPO, stream_playbook

pytestmark = pytest.mark.lab

PLAYBOOK = REPO / "tests" / "integration" / "consumer_service_gates.yml"
LAB_BIN = "{{ lab_root }}/{{ inventory_hostname }}/bin"


def run_gate(group: str, entry_point: str, extra: dict, on_line=None, timeout: float = 300) -> tuple[int, str, float]:
    """Run one consumer_service entry point for group; returns (exit code, output, seconds it took)."""
    extra_vars = {"gate_group": group, "gate_entry_point": entry_point, **extra}
    command = [ansible_command("ansible-playbook"), str(PLAYBOOK), "-e", json.dumps(extra_vars)]
    began = time.monotonic()
    code, output = stream_playbook(command, timeout, on_line)
    return code, output, time.monotonic() - began


@pytest.fixture
def running_group(lab):
    """A group whose consumer runs on app1, reading a small topic of its own."""
    group = unique_name("gates")
    lab.produce(group, 30, partitions=3)
    lab.consumer_start(group, group)
    yield group
    try:
        lab.consumer_stop(group)
    finally:
        lab.delete_topic(group)


def test_stop_gate_names_the_consumer_that_came_back(lab, running_group):
    group = running_group
    restarted = []

    def start_again(line: str) -> None:
        # The stop killed the consumer, so its ZooKeeper node lingers for one session timeout (6 s) and the
        # gate is still waiting when the consumer is started again, as a supervisor or a colleague would.
        if not restarted and "Wait until the group has no live member" in line:
            restarted.append(lab.consumer_start(group))

    code, output, took = run_gate(group, "stop", {
        # A stop that kills (like a crash): the session, and the member node, outlive the process.
        "consumer_service_stop_command": f"{LAB_BIN}/consumer-kill.sh",
        "consumer_service_inactive_timeout": 20,
    }, on_line=start_again)

    assert restarted, output[-4000:]
    assert code != 0, output[-4000:]
    members = lab.consumer_status(group)["members"]
    assert len(members) == 1, members
    flat = " ".join(output.split())
    assert (f"group '{group}' still has 1 live consumer after 20 s ({members[0]}): stop it, or rerun when it has "
            "left") in flat, output[-4000:]
    assert "Unknown error" not in output
    assert took < 60, f"the stop gate took {took:.0f} s for a 20 s timeout"


def test_start_gate_ends_at_once_when_the_process_exits(lab):
    group = unique_name("gates")
    lab.consumer_configure(group, group)
    try:
        code, output, took = run_gate(group, "start", {
            # A start command that returns success but leaves no process behind, like a unit whose process dies
            # as soon as it is launched.
            "consumer_service_start_command": "/bin/true",
            "consumer_service_active_timeout": 120,
        })
    finally:
        lab.consumer_stop(group)

    assert code != 0, output[-4000:]
    flat = " ".join(output.split())
    assert f"the consumer process of group '{group}' exited" in flat, output[-4000:]
    assert "before the group had a live consumer (process_command exited 3: consumer " in flat, output[-4000:]
    assert f"The consumer of group {group} on app1 did not come back" in flat
    assert took < 40, f"the start gate took {took:.0f} s although the process was gone at once"
