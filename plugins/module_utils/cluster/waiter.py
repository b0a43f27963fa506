# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one waiter behind every wait of the collection (broker_wait, group_wait).

A wait is a list of stages polled in order. Each stage has a pure readiness check, its own bounded timeout
on the monotonic clock, and a failure sentence that names what it waited for and what it saw last. A stage
may also say that what it waits for can no longer happen (the process it waits on has exited): the wait
then ends at once instead of running out its timeout. Clock and sleep are injectable, so unit tests walk
every branch without waiting. Check mode is the caller's business: callers do not wait in check mode.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

Unready = list[dict[str, Any]]


@dataclass
class Stage:
    """check() returns (passed, what holds it up); failure(unready) phrases the timeout in one sentence.

    abandon(), when given, is asked after every check that did not pass: a sentence means what the stage
    waits for can no longer happen, and ends the wait at once with that sentence; None keeps waiting.
    """

    name: str
    timeout: float
    check: Callable[[], tuple[bool, Unready]]
    failure: Callable[[Unready], str]
    abandon: Optional[Callable[[], Optional[str]]] = None


class WaitFailed(Exception):
    """A wait that ended without passing: the stage, what held it up last, and the stages that passed."""

    def __init__(self, message: str, stage: str, unready: Unready, passed: list[dict[str, Any]],
                 waited: float) -> None:
        super().__init__(message)
        self.stage = stage
        self.unready = unready
        self.passed = passed
        self.waited = waited


class GateTimeout(WaitFailed):
    """A stage did not pass within its timeout; the message is the stage's failure sentence."""

    def __init__(self, stage: Stage, unready: Unready, passed: list[dict[str, Any]], waited: float = 0.0) -> None:
        super().__init__(stage.failure(unready), stage.name, unready, passed, waited)


class GateAbandoned(WaitFailed):
    """A stage's abandon() said that what it waits for can no longer happen; the message is its sentence."""


def run_stages(stages: list[Stage], poll_interval: float, clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep) -> list[dict[str, Any]]:
    """Each stage's clock starts when the previous one passed; returns [{stage, seconds}] or raises WaitFailed.

    Between two checks it sleeps poll_interval, or twice as long as the last check took when that is longer:
    on a cluster whose full read takes a while, reading keeps to a third of the time instead of hammering
    ZooKeeper back to back. The last sleep never reaches past the timeout, and a check always runs at the end.
    """
    passed: list[dict[str, Any]] = []
    for stage in stages:
        began = clock()
        while True:
            checked_at = clock()
            ok, unready = stage.check()
            if not ok and stage.abandon is not None:
                reason = stage.abandon()
                if reason is not None:
                    raise GateAbandoned(reason, stage.name, unready, passed, round(clock() - began, 2))
            now = clock()
            waited = now - began
            if ok:
                passed.append(dict(stage=stage.name, seconds=round(waited, 2)))
                break
            if waited >= stage.timeout:
                raise GateTimeout(stage, unready, passed, round(waited, 2))
            pause = max(poll_interval, 2 * (now - checked_at))
            sleep(max(0.0, min(pause, stage.timeout - waited)))
    return passed
