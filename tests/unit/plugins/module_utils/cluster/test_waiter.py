# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one waiter: stages in order, each on its own monotonic clock, bounded, and ended early when abandoned."""

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import waiter
from ansible_collections.kafka_ops.remediation.tests.unit.helpers.fake_clock import FakeClock


def answers(*values):
    """A check that answers the given results in turn, with nothing holding it up."""
    results = iter(values)
    return lambda: (next(results), [])


def test_run_stages_passes_each_stage_in_order_and_times_it():
    clock = FakeClock()
    stages = [waiter.Stage("first", 5, answers(False, False, True), lambda _u: "first failed"),
              waiter.Stage("second", 5, answers(True), lambda _u: "second failed")]
    passed = waiter.run_stages(stages, 0.5, clock=clock, sleep=clock.sleep)
    assert passed == [{"stage": "first", "seconds": 1.0}, {"stage": "second", "seconds": 0.0}]
    assert clock.sleeps == [0.5, 0.5]


def test_each_stage_gets_its_own_timeout_counted_from_the_previous_one():
    clock = FakeClock()
    stages = [waiter.Stage("first", 10, answers(*[False] * 6, True), lambda _u: "first failed"),
              waiter.Stage("second", 2, lambda: (False, [{"topic": "t", "partition": 0, "reason": "r"}]),
                           lambda unready: f"second failed on {unready[0]['topic']}")]
    with pytest.raises(waiter.GateTimeout) as raised:
        waiter.run_stages(stages, 1.0, clock=clock, sleep=clock.sleep)
    # 6 s in the first stage do not eat into the second stage's 2 s.
    assert clock.now == 8.0
    assert raised.value.stage == "second"
    assert str(raised.value) == "second failed on t"
    assert raised.value.unready == [{"topic": "t", "partition": 0, "reason": "r"}]
    assert raised.value.passed == [{"stage": "first", "seconds": 6.0}]
    assert raised.value.waited == 2.0


@pytest.mark.parametrize(("timeout", "interval", "sleeps"), [
    (1.2, 0.5, [0.5, 0.5, 0.2]),   # the last sleep never overshoots the timeout
    (1.0, 0.5, [0.5, 0.5]),        # a check runs exactly at the timeout
    (0, 0.5, []),                  # a zero timeout is one check
])
def test_the_timeout_bounds_the_wait_and_a_last_check_runs_at_it(timeout, interval, sleeps):
    clock = FakeClock()
    checks = []

    def never():
        checks.append(clock.now)
        return False, []

    with pytest.raises(waiter.GateTimeout):
        waiter.run_stages([waiter.Stage("slow", timeout, never, lambda _u: "slow failed")], interval,
                          clock=clock, sleep=clock.sleep)
    assert clock.sleeps == [pytest.approx(s) for s in sleeps]
    assert checks[-1] == pytest.approx(timeout)


def test_a_slow_check_stretches_the_pause_to_twice_its_duration():
    clock = FakeClock()
    results = iter([False, False, True])

    def slow_check():
        clock.now += 0.4  # a full read of a big cluster
        return next(results), []

    waiter.run_stages([waiter.Stage("slow", 10, slow_check, lambda _u: "slow failed")], 0.25,
                      clock=clock, sleep=clock.sleep)
    assert clock.sleeps == [pytest.approx(0.8), pytest.approx(0.8)]


def test_abandon_ends_the_wait_at_once_with_its_sentence():
    clock = FakeClock()
    verdicts = iter([None, None, "the process exited"])
    stages = [waiter.Stage("first", 5, answers(True), lambda _u: "first failed"),
              waiter.Stage("joined", 120, lambda: (False, [{"member": None}]), lambda _u: "never joined",
                           abandon=lambda: next(verdicts))]
    with pytest.raises(waiter.GateAbandoned) as raised:
        waiter.run_stages(stages, 0.5, clock=clock, sleep=clock.sleep)
    assert str(raised.value) == "the process exited"
    assert raised.value.stage == "joined"
    assert raised.value.unready == [{"member": None}]
    assert raised.value.passed == [{"stage": "first", "seconds": 0.0}]
    assert raised.value.waited == 1.0
    assert clock.now == 1.0


def test_abandon_is_not_asked_once_the_check_passes():
    asked = []
    clock = FakeClock()
    stage = waiter.Stage("joined", 5, answers(True), lambda _u: "never joined",
                         abandon=lambda: asked.append(1) or "exited")
    assert waiter.run_stages([stage], 0.5, clock=clock, sleep=clock.sleep) == [
        {"stage": "joined", "seconds": 0.0}]
    assert asked == []


def test_abandon_that_keeps_waiting_still_times_out():
    clock = FakeClock()
    stage = waiter.Stage("joined", 1, answers(False, False, False), lambda _u: "never joined",
                         abandon=lambda: None)
    with pytest.raises(waiter.GateTimeout) as raised:
        waiter.run_stages([stage], 0.5, clock=clock, sleep=clock.sleep)
    assert str(raised.value) == "never joined"


def test_both_failures_are_wait_failed():
    assert issubclass(waiter.GateTimeout, waiter.WaitFailed)
    assert issubclass(waiter.GateAbandoned, waiter.WaitFailed)
