# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one ZooKeeper connection layer: options, client factory and fast bulk reads."""

from __future__ import annotations

import struct
import traceback
from typing import Any, Callable, Optional, Sequence

try:
    from kazoo.client import KazooClient
    from kazoo.exceptions import (
        AuthFailedError,
        ConnectionLoss,
        KazooException,
        NoNodeError,
        UnimplementedError,
        EXCEPTIONS,
    )
    from kazoo.handlers.threading import KazooTimeoutError
    from kazoo.protocol.serialization import read_string
    from kazoo.protocol.states import KeeperState, ZnodeStat
    from kazoo.retry import KazooRetry
except ImportError:
    HAS_KAZOO = False
    KAZOO_IMPORT_ERROR: Optional[str] = traceback.format_exc()
else:
    HAS_KAZOO = True
    KAZOO_IMPORT_ERROR = None

# Requests per ZooKeeper multi read. A thousand offset nodes make a request of ~60 KiB and a response of
# ~100 KiB, far below jute.maxbuffer (1 MiB) on both sides, and enough to keep the pipe full.
MULTI_READ_BATCH = 1000
_OP_GET_DATA = 4
_OP_GET_CHILDREN = 8
_OP_MULTI_READ = 22
_OP_ERROR = -1
_INT = struct.Struct("!i")
_STAT = struct.Struct("!qqqqiiiqiiq")
# A multi header (type, done, err) and, in a request, the path's length that follows it.
_MULTI_HEADER = struct.Struct("!i?i")
_MULTI_OP = struct.Struct("!i?ii")
_MULTI_DONE = _MULTI_HEADER.pack(-1, True, -1)


def zookeeper_argument_spec() -> dict[str, Any]:
    """Options every ZooKeeper-facing module accepts; documented by the kafka_ops.remediation.zookeeper fragment."""
    return dict(
        zk_hosts=dict(type="str", required=True),
        zk_chroot=dict(type="str", default=""),
        zk_auth=dict(
            type="list",
            elements="dict",
            options=dict(
                scheme=dict(type="str", default="digest"),
                credential=dict(type="str", required=True, no_log=True),
            ),
        ),
        zk_sasl=dict(
            type="dict",
            options=dict(
                mechanism=dict(type="str", default="DIGEST-MD5"),
                username=dict(type="str"),
                password=dict(type="str", no_log=True),
            ),
        ),
        zk_use_tls=dict(type="bool", default=False),
        zk_ca_cert=dict(type="path"),
        zk_client_cert=dict(type="path"),
        zk_client_key=dict(type="path", no_log=False),
        zk_verify_certs=dict(type="bool", default=True),
        zk_timeout=dict(type="float", default=10.0),
        zk_retries=dict(type="int", default=3),
    )


class ZooKeeperError(Exception):
    """A ZooKeeper problem already phrased as one line for the user."""


def normalise_chroot(chroot: Optional[str]) -> str:
    """'' for none, otherwise '/a/b' without a trailing slash; raises on a relative path."""
    chroot = (chroot or "").strip()
    if chroot in ("", "/"):
        return ""
    if not chroot.startswith("/"):
        raise ZooKeeperError(f"zk_chroot '{chroot}' must start with '/', for example '/kafka'")
    return chroot.rstrip("/")


def connect_string(hosts: str, chroot: str) -> str:
    """Kazoo's 'host:port,host:port/chroot' form; refuses a chroot given twice."""
    hosts = hosts.strip()
    if not hosts:
        raise ZooKeeperError("zk_hosts is empty: give 'host:port[,host:port...]'")
    if "/" in hosts:
        if chroot:
            raise ZooKeeperError(f"zk_hosts '{hosts}' already contains a chroot: drop it or drop zk_chroot")
        hosts, embedded = hosts.split("/", 1)
        chroot = normalise_chroot("/" + embedded)
    return hosts + chroot


def client_settings(params: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for KazooClient built from module parameters (pure, so unit tests reach it)."""
    chroot = normalise_chroot(params.get("zk_chroot"))
    timeout = float(10.0 if params.get("zk_timeout") is None else params["zk_timeout"])
    if timeout <= 0:
        raise ZooKeeperError(f"zk_timeout must be positive, got {timeout}")
    retries = int(params.get("zk_retries") if params.get("zk_retries") is not None else 3)
    settings: dict[str, Any] = dict(
        hosts=connect_string(params["zk_hosts"], chroot),
        timeout=timeout,
        # Reconnect quickly while start() waits; start() itself bounds the wait by zk_timeout.
        connection_retry=dict(max_tries=-1, delay=0.1, max_delay=1.0, max_jitter=0.2),
        # Commands retried on connection loss, never beyond the per-request bound.
        command_retry=dict(max_tries=retries, delay=0.1, max_delay=1.0, deadline=timeout, ignore_expire=False),
    )
    auth = params.get("zk_auth") or []
    if auth:
        settings["auth_data"] = [(entry.get("scheme") or "digest", entry["credential"]) for entry in auth]
    sasl = params.get("zk_sasl")
    if sasl:
        settings["sasl_options"] = {key: value for key, value in sasl.items() if value is not None}
    if params.get("zk_use_tls"):
        settings.update(
            use_ssl=True,
            ca=params.get("zk_ca_cert"),
            certfile=params.get("zk_client_cert"),
            keyfile=params.get("zk_client_key"),
            verify_certs=params.get("zk_verify_certs", True),
        )
    elif params.get("zk_ca_cert") or params.get("zk_client_cert") or params.get("zk_client_key"):
        raise ZooKeeperError("zk_ca_cert, zk_client_cert and zk_client_key need zk_use_tls=true")
    return settings


class ZooKeeper:
    """A started kazoo client plus bounded, retried and bulk reads; close() always stops and closes it."""

    def __init__(self, params: dict[str, Any]) -> None:
        settings = client_settings(params)
        self.timeout: float = settings["timeout"]
        self.hosts: str = settings["hosts"]
        settings["connection_retry"] = KazooRetry(**settings["connection_retry"])
        settings["command_retry"] = KazooRetry(**settings["command_retry"])
        self.client = KazooClient(**settings)
        self._multi_read: Optional[bool] = None
        try:
            self.client.start(timeout=self.timeout)
        except KazooTimeoutError:
            rejected = self.client.client_state == KeeperState.AUTH_FAILED
            self.close()
            if rejected:
                raise ZooKeeperError(f"ZooKeeper {self.hosts} rejected the credentials: check zk_sasl/zk_auth")
            raise ZooKeeperError(
                f"could not connect to ZooKeeper {self.hosts} within {self.timeout:g} s: "
                "check zk_hosts, zk_use_tls and that ZooKeeper is running"
            )
        except AuthFailedError:
            self.close()
            raise ZooKeeperError(f"ZooKeeper {self.hosts} rejected the credentials: check zk_sasl/zk_auth")
        if self.client.chroot and not self.retry(self.client.exists, "/"):
            chroot = self.client.chroot
            self.close()
            raise ZooKeeperError(f"ZooKeeper chroot '{chroot}' does not exist: check zk_chroot (Kafka's is often /kafka)")

    @property
    def chroot(self) -> str:
        return self.client.chroot or ""

    def close(self) -> None:
        try:
            self.client.stop()
        finally:
            self.client.close()

    def retry(self, func, *args, **kwargs):
        """Run one synchronous kazoo call, retried on connection loss within zk_retries and zk_timeout."""
        return self.client.retry(func, *args, **kwargs)

    def wait(self, async_result):
        """Wait for one async request, never longer than zk_timeout."""
        try:
            return async_result.get(timeout=self.timeout)
        except KazooTimeoutError:
            raise ZooKeeperError(f"ZooKeeper {self.hosts} did not answer within {self.timeout:g} s")

    def read_nodes(self, paths: Sequence[str]) -> list[Optional[tuple[bytes, Any]]]:
        """(data, stat) for every path in order, None where the node does not exist."""
        return self._bulk([(_OP_GET_DATA, path) for path in paths])

    def read_data(self, paths: Sequence[str], convert: Optional[Callable[[list], list]] = None) -> list[Any]:
        """The data of every path in order (None where the node does not exist), without stats.

        convert, when given, maps each batch of answers to what is returned for it, and runs as each batch
        arrives, so that parsing a big read overlaps ZooKeeper's work on the batches still to come.
        """
        return self._bulk([(_OP_GET_DATA, path) for path in paths], with_stat=False, convert=convert)

    def list_children(self, paths: Sequence[str]) -> list[Optional[list[str]]]:
        """Sorted child names for every path in order, None where the node does not exist."""
        found = self._bulk([(_OP_GET_CHILDREN, path) for path in paths])
        return [sorted(children) if children is not None else None for children in found]

    def commit(self, operations: Sequence[tuple]) -> list[Any]:
        """Run ('set', path, data, version) / ('create', path, data) / ('delete', path, version) /
        ('check', path, version) as one atomic multi. Returns kazoo's result per operation, where a failed
        operation gives an exception instance rather than raising: the caller must check every one."""
        transaction = self.client.transaction()
        for operation in operations:
            kind = operation[0]
            if kind == "set":
                transaction.set_data(operation[1], operation[2], operation[3])
            elif kind == "create":
                transaction.create(operation[1], operation[2])
            elif kind == "delete":
                transaction.delete(operation[1], operation[2])
            elif kind == "check":
                transaction.check(operation[1], operation[2])
            else:
                raise ValueError(f"unknown transaction operation {kind!r}")
        return self.wait(transaction.commit_async())

    def _bulk(self, operations: list[tuple[int, str]], with_stat: bool = True,
              convert: Optional[Callable[[list], list]] = None) -> list[Any]:
        if not operations:
            return []
        if self._multi_read is None:
            try:
                results = self._bulk_multi_read(operations, with_stat, convert)
                self._multi_read = True
                return results
            except (UnimplementedError, ConnectionLoss):
                # ZooKeeper before 3.6 has no multi read (it may answer Unimplemented or drop the connection);
                # pipelined single reads are the fallback for the rest of the run.
                self._multi_read = False
        if self._multi_read:
            return self.retry(self._bulk_multi_read, operations, with_stat, convert)
        results = self._bulk_pipelined(operations, with_stat)
        return convert(results) if convert else results

    def _bulk_multi_read(self, operations: list[tuple[int, str]], with_stat: bool,
                         convert: Optional[Callable[[list], list]]) -> list[Any]:
        # kazoo has no multi read, but ZooKeeper 3.6+ does: one request answers a thousand reads, where
        # kazoo's per-request overhead makes even pipelined single reads cost ~0.2 ms each. Every batch is sent
        # before the first answer is awaited, and each answer is converted while ZooKeeper serves the next ones.
        pending = []
        for start in range(0, len(operations), MULTI_READ_BATCH):
            request = MultiRead(self.chroot, operations[start:start + MULTI_READ_BATCH], with_stat)
            async_result = self.client.handler.async_result()
            self.client._call(request, async_result)  # pylint: disable=protected-access
            pending.append(async_result)
        results: list[Any] = []
        for async_result in pending:
            batch = self.wait(async_result)
            results.extend(convert(batch) if convert else batch)
        return results

    def _bulk_pipelined(self, operations: list[tuple[int, str]], with_stat: bool) -> list[Any]:
        def submit():
            return [
                self.client.get_async(path) if op == _OP_GET_DATA else self.client.get_children_async(path)
                for op, path in operations
            ]

        results = []
        for (op, _path), async_result in zip(operations, self.retry(submit)):
            try:
                answer = self.wait(async_result)
            except NoNodeError:
                results.append(None)
                continue
            results.append(answer[0] if op == _OP_GET_DATA and not with_stat else answer)
        return results


class MultiRead:
    """ZooKeeper's multiRead request (opcode 22) for getData and getChildren, in kazoo's request shape.

    getData answers are (data, stat), or only data when with_stat is false. kazoo's reader thread runs
    serialize() and deserialize() once per thousand reads, so both work on the bytes directly.
    """

    type = _OP_MULTI_READ

    def __init__(self, chroot: str, operations: list[tuple[int, str]], with_stat: bool = True) -> None:
        self.chroot = chroot
        self.operations = operations
        self.with_stat = with_stat

    def serialize(self) -> bytes:
        parts = []
        for op, path in self.operations:
            full_path = ((self.chroot + path).rstrip("/") or "/").encode("utf-8")
            # The header, the path, and no watch.
            parts += (_MULTI_OP.pack(op, False, -1, len(full_path)), full_path, b"\x00")
        parts.append(_MULTI_DONE)
        return b"".join(parts)

    def deserialize(self, buffer: bytes, offset: int) -> list[Any]:
        results: list[Any] = []
        append = results.append
        header = _MULTI_HEADER.unpack_from
        length_of = _INT.unpack_from
        with_stat = self.with_stat
        while True:
            op, done, _error = header(buffer, offset)
            offset += _MULTI_HEADER.size
            if done:
                return results
            if op == _OP_GET_DATA:
                length = length_of(buffer, offset)[0]
                offset += _INT.size
                # A node without data answers length -1; read_nodes has always returned b"" for it.
                data = buffer[offset:offset + length] if length > 0 else b""
                offset += max(length, 0)
                append((data, ZnodeStat._make(_STAT.unpack_from(buffer, offset))) if with_stat else data)
                offset += _STAT.size
            elif op == _OP_GET_CHILDREN:
                count = _INT.unpack_from(buffer, offset)[0]
                offset += _INT.size
                children = []
                for _index in range(max(count, 0)):
                    child, offset = read_string(buffer, offset)
                    children.append(child)
                results.append(children)
            else:
                code = _INT.unpack_from(buffer, offset)[0]
                offset += _INT.size
                error = EXCEPTIONS[code]()
                if isinstance(error, NoNodeError):
                    results.append(None)
                else:
                    raise error


def describe_zookeeper_exception(error: BaseException) -> Optional[str]:
    """One line for a kazoo exception, or None when it is not one."""
    if not HAS_KAZOO or not isinstance(error, (KazooException, KazooTimeoutError)):
        return None
    name = type(error).__name__
    hints = {
        "NoAuthError": "ZooKeeper refused access (NoAuth): check zk_auth / zk_sasl and the node's ACL",
        "AuthFailedError": "ZooKeeper rejected the credentials: check zk_sasl/zk_auth",
        "ConnectionLoss": "lost the ZooKeeper connection and could not get it back within zk_timeout/zk_retries",
        "SessionExpiredError": "the ZooKeeper session expired: rerun, nothing was left half-written",
        "KazooTimeoutError": "ZooKeeper did not answer within zk_timeout",
    }
    return hints.get(name, f"ZooKeeper error {name}: {error}")
