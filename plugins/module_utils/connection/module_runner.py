# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Runs a module body around AnsibleModule: imports checked once, one-line failures, clients always closed."""

from __future__ import annotations

import traceback
from typing import Any, Callable, Optional

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import cluster_state
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection import kafka_client, zookeeper


class ModuleError(Exception):
    """An expected failure: one line for the user, plus optional result keys (for example the plan)."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


def registered_bootstrap_servers(zk, params: dict[str, Any]) -> list[str]:
    """host:port of every broker registered under /brokers/ids, for the listener of kafka_security_protocol.

    Shared with the action plugins that talk to the cluster from the controller (group_wait).
    """
    broker_ids = zk.list_children(["/brokers/ids"])[0] or []
    registrations = zk.read_nodes([f"/brokers/ids/{broker_id}" for broker_id in broker_ids])
    protocol = params.get("kafka_security_protocol") or "PLAINTEXT"
    return kafka_client.bootstrap_from_registrations(
        [found[0] for found in registrations if found is not None], protocol
    )


def known_failure(error: Exception) -> Optional[dict[str, Any]]:
    """The one-line failure result for an error the connection layers or the cluster data know how to say, None
    for any other. Call it while handling the error: a described client exception carries its traceback.

    Shared with the action plugins that talk to the cluster from the controller (group_wait).
    """
    if isinstance(error, ModuleError):
        return dict(error.details, msg=str(error))
    if isinstance(error, kafka_client.KafkaLibraryMissing):
        return dict(msg=missing_required_lib("kafka-python"), exception=error.import_traceback)
    if isinstance(error, (zookeeper.ZooKeeperError, kafka_client.KafkaClientError, cluster_state.ClusterDataError)):
        return dict(msg=str(error))
    message = zookeeper.describe_zookeeper_exception(error) or kafka_client.describe_kafka_exception(error)
    return dict(msg=message, exception=traceback.format_exc()) if message else None


def close_quietly(*clients: Any) -> None:
    """Close every client given (None is skipped); closing must never hide the caller's own result or error."""
    for client in clients:
        if client is not None:
            try:
                client.close()
            except Exception:  # pylint: disable=broad-except
                pass


class ModuleRunner:
    """Wraps (does not subclass) AnsibleModule for the ZooKeeper/Kafka modules of this collection.

    Tests replace zookeeper_factory and kafka_factory with fakes to drive main() without a cluster.
    kafka-python is imported only when kafka_factory builds a broker client (kafka_client.load_kafka), so
    calls that only talk to ZooKeeper never load it; when it is missing, run() fails with missing_required_lib.
    """

    zookeeper_factory: Callable[[dict], Any] = zookeeper.ZooKeeper
    kafka_factory: Callable[[dict, list], Any] = kafka_client.KafkaBrokers

    def __init__(self, argument_spec: dict[str, Any], *, uses_kafka: bool = False, zookeeper_required: bool = True,
                 **module_kwargs: Any) -> None:
        spec = zookeeper.zookeeper_argument_spec()
        # Modules that also serve Kafka-stored groups work without ZooKeeper (a KRaft cluster has none).
        spec["zk_hosts"] = dict(spec["zk_hosts"], required=zookeeper_required)
        if uses_kafka:
            spec.update(kafka_client.kafka_argument_spec())
        spec.update(argument_spec)
        module_kwargs.setdefault("supports_check_mode", True)
        self.module = AnsibleModule(argument_spec=spec, **module_kwargs)
        self.params: dict[str, Any] = self.module.params
        if not zookeeper.HAS_KAZOO:
            self.module.fail_json(msg=missing_required_lib("kazoo"), exception=zookeeper.KAZOO_IMPORT_ERROR)
        self._zookeeper = None
        self._kafka = None
        self._servers: Optional[list[str]] = None

    @property
    def check_mode(self) -> bool:
        return self.module.check_mode

    @property
    def diff_mode(self) -> bool:
        return bool(self.module._diff)  # pylint: disable=protected-access

    def warn(self, message: str) -> None:
        self.module.warn(message)

    def zookeeper(self):
        """The connected ZooKeeper (connects on first use)."""
        if not self.params.get("zk_hosts"):
            raise ModuleError("this needs ZooKeeper, but zk_hosts is not set: give zk_hosts (and zk_chroot), or "
                              "storage=kafka for a group whose offsets Kafka stores")
        if self._zookeeper is None:
            self._zookeeper = type(self).zookeeper_factory(self.params)
        return self._zookeeper

    def kafka(self):
        """The broker client; bootstrap servers come from /brokers/ids unless kafka_bootstrap_servers is set."""
        if self._kafka is None:
            self._kafka = type(self).kafka_factory(self.params, self.bootstrap_servers())
        return self._kafka

    def bootstrap_servers(self) -> list[str]:
        if self.params.get("kafka_bootstrap_servers"):
            return list(self.params["kafka_bootstrap_servers"])
        if not self.params.get("zk_hosts"):
            raise ModuleError(kafka_client.NO_CLUSTER_GIVEN)
        if self._servers is None:
            self._servers = self.discover_bootstrap_servers()
        return self._servers

    def discover_bootstrap_servers(self) -> list[str]:
        return registered_bootstrap_servers(self.zookeeper(), self.params)

    def run(self, body: Callable[["ModuleRunner"], dict[str, Any]]) -> None:
        """Run body(self); exit with its result, or fail with one line. Clients are closed either way."""
        result: Optional[dict[str, Any]] = None
        failure: Optional[dict[str, Any]] = None
        try:
            result = body(self)
        except Exception as error:  # pylint: disable=broad-except
            failure = known_failure(error) or dict(msg=f"unexpected {type(error).__name__}: {error}",
                                                   exception=traceback.format_exc())
        finally:
            self.close()
        if failure is not None:
            self.module.fail_json(**failure)
        self.module.exit_json(**result)

    def close(self) -> None:
        close_quietly(self._kafka, self._zookeeper)
        self._kafka = None
        self._zookeeper = None
