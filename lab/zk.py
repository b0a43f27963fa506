# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Short-lived kazoo clients for the lab (the Kafka chroot by default)."""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Iterator

from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError
from kazoo.handlers.threading import KazooTimeoutError

from lab import layout
from lab.errors import LabError

# kazoo logs every dropped connection as a warning; the lab reports its own one-line errors instead.
logging.getLogger("kazoo.client").setLevel(logging.ERROR)


@contextlib.contextmanager
def client(chroot: str = layout.ZK_CHROOT, timeout: float = 5.0) -> Iterator[KazooClient]:
    zk = KazooClient(hosts=f"{layout.ZK_HOSTS}{chroot}", timeout=timeout)
    try:
        zk.start(timeout=timeout)
    except KazooTimeoutError:
        zk.close()
        raise LabError(f"ZooKeeper at {layout.ZK_HOSTS} does not answer: is the lab up? (python -m lab up)") from None
    try:
        yield zk
    finally:
        zk.stop()
        zk.close()


def children(zk: KazooClient, path: str) -> list[str]:
    try:
        return sorted(zk.get_children(path))
    except NoNodeError:
        return []


def read_json(zk: KazooClient, path: str) -> dict | None:
    try:
        data = zk.get(path)[0]
    except NoNodeError:
        return None
    return json.loads(data) if data else None


def read_text(zk: KazooClient, path: str) -> str | None:
    try:
        data = zk.get(path)[0]
    except NoNodeError:
        return None
    return data.decode()
