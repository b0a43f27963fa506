# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One bounded poll for the lab, its demo and its tests."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

from lab.errors import LabError

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], what: str, timeout: float = 60.0, interval: float = 0.5,
             hint: str = "") -> T:
    """Return the predicate's first truthy value; raise LabError naming `what` once `timeout` has passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise LabError(f"timed out after {timeout:.0f} s waiting for {what}{hint}")
        time.sleep(interval)
