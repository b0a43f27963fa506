# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one Kafka connection layer: what brokers know (log start/end offsets, offsets by time, topics) and what
group coordinators hold (groups, their members and committed offsets), through kafka-python 3.x's own calls."""

from __future__ import annotations

import json
import sys
import time
import traceback
from types import ModuleType
from typing import Any, Iterable, Optional

SECURITY_PROTOCOLS = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
# Between two tries of a group coordinator that moves or loads: loading takes milliseconds to seconds.
COORDINATOR_RETRY_SECONDS = 0.5


def kafka_argument_spec() -> dict[str, Any]:
    """Options every broker-facing module accepts; documented by the kafka_ops.remediation.kafka fragment."""
    return dict(
        kafka_bootstrap_servers=dict(type="list", elements="str"),
        kafka_security_protocol=dict(type="str", default="PLAINTEXT", choices=SECURITY_PROTOCOLS),
        kafka_sasl_mechanism=dict(type="str", choices=["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]),
        kafka_sasl_username=dict(type="str"),
        kafka_sasl_password=dict(type="str", no_log=True),
        kafka_ssl_cafile=dict(type="path"),
        kafka_ssl_certfile=dict(type="path"),
        kafka_ssl_keyfile=dict(type="path", no_log=False),
        kafka_request_timeout=dict(type="float", default=30.0),
    )


# Said by every module and action that needs the cluster when neither way to reach it is given.
NO_CLUSTER_GIVEN = ("neither zk_hosts nor kafka_bootstrap_servers is set: give kafka_bootstrap_servers (host:port of "
                    "some brokers; a KRaft cluster has no ZooKeeper), or zk_hosts (and zk_chroot) for a "
                    "ZooKeeper-mode cluster")


class KafkaClientError(Exception):
    """A broker problem already phrased as one line for the user."""


class CoordinatorUnavailable(KafkaClientError):
    """A group coordinator that cannot answer now (moving, loading, or its broker down): a wait may try again."""


class UnsupportedByBrokers(KafkaClientError):
    """The brokers do not implement the API asked (UnsupportedVersionError): a mode or version question, not a
    passing failure; callers that probe for an API (DescribeQuorum exists only in KRaft mode) catch it."""


class KafkaLibraryMissing(Exception):
    """kafka-python cannot be imported; import_traceback goes to missing_required_lib's failure."""

    def __init__(self, import_traceback: str) -> None:
        super().__init__("kafka-python cannot be imported")
        self.import_traceback = import_traceback


def load_kafka() -> ModuleType:
    """kafka-python, imported only when a broker client is created.

    Importing it costs about 0.3 s per module run, which calls that only talk to ZooKeeper should not pay.
    """
    try:
        import kafka  # pylint: disable=import-outside-toplevel
        import kafka.errors  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise KafkaLibraryMissing(traceback.format_exc())
    return kafka


def bootstrap_from_registrations(registrations: Iterable[bytes], security_protocol: str) -> list[str]:
    """host:port of every registered broker for the listener that speaks security_protocol.

    Registrations are the JSON bodies of /brokers/ids/<id>. A listener's protocol comes from the broker's
    listener_security_protocol_map when present (named listeners), else from the endpoint's scheme.
    """
    servers: list[str] = []
    for raw in registrations:
        try:
            info = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            continue
        protocol_map = info.get("listener_security_protocol_map") or {}
        chosen = None
        for endpoint in info.get("endpoints") or []:
            listener, address = endpoint.split("://", 1) if "://" in endpoint else ("", endpoint)
            if protocol_map.get(listener, listener) == security_protocol:
                chosen = address
                break
        if chosen is None and security_protocol == "PLAINTEXT" and info.get("host") and info.get("port", -1) > 0:
            chosen = f"{info['host']}:{info['port']}"
        if chosen:
            servers.append(chosen)
    return sorted(set(servers))


def client_settings(params: dict[str, Any], bootstrap_servers: list[str]) -> dict[str, Any]:
    """Keyword arguments for the admin client; every wait bounded by kafka_request_timeout."""
    timeout = float(30.0 if params.get("kafka_request_timeout") is None else params["kafka_request_timeout"])
    if timeout <= 0.5:
        raise KafkaClientError(f"kafka_request_timeout must be above 0.5 s, got {timeout:g}")
    timeout_ms = int(timeout * 1000)
    settings: dict[str, Any] = dict(
        bootstrap_servers=bootstrap_servers,
        client_id="kafka_ops.remediation",
        security_protocol=params.get("kafka_security_protocol") or "PLAINTEXT",
        request_timeout_ms=timeout_ms,
        bootstrap_timeout_ms=timeout_ms,
        reconnect_backoff_max_ms=1000,
    )
    if params.get("kafka_sasl_mechanism"):
        settings.update(
            sasl_mechanism=params["kafka_sasl_mechanism"],
            sasl_plain_username=params.get("kafka_sasl_username"),
            sasl_plain_password=params.get("kafka_sasl_password"),
        )
    for option, setting in (("kafka_ssl_cafile", "ssl_cafile"), ("kafka_ssl_certfile", "ssl_certfile"),
                            ("kafka_ssl_keyfile", "ssl_keyfile")):
        if params.get(option):
            settings[setting] = params[option]
    return settings


# Errors that mean the group's coordinator cannot answer now (loading, moving, or its broker down): worth
# saying as such rather than as a refusal.
_COORDINATOR_ERRORS = ("CoordinatorNotAvailableError", "NotCoordinatorError", "CoordinatorLoadInProgressError",
                       "GroupCoordinatorNotAvailableError", "NodeNotReadyError", "KafkaConnectionError")

TopicPartition = tuple[str, int]


class KafkaBrokers:
    """Everything the modules ask brokers, through one admin client that connects on first use (log offsets,
    topics, groups and their offsets); close() always closes it."""

    def __init__(self, params: dict[str, Any], bootstrap_servers: list[str]) -> None:
        if not bootstrap_servers:
            raise KafkaClientError(
                "no Kafka broker is registered under /brokers/ids and kafka_bootstrap_servers is not set: "
                "start the brokers or pass kafka_bootstrap_servers"
            )
        self.settings = client_settings(params, bootstrap_servers)
        self.timeout_ms: int = self.settings["request_timeout_ms"]
        self._kafka = load_kafka()
        self._admin = None

    def _unreachable(self) -> KafkaClientError:
        return KafkaClientError(
            f"could not reach any Kafka broker at {','.join(self.settings['bootstrap_servers'])} within "
            f"{self.timeout_ms / 1000:g} s: check kafka_bootstrap_servers and kafka_security_protocol"
        )

    def _admin_client(self):
        if self._admin is None:
            try:
                self._admin = self._kafka.KafkaAdminClient(**self.settings)
            except self._kafka.errors.KafkaError:
                raise self._unreachable()
        return self._admin

    def _admin_call(self, what: str, method: str, *args, **kwargs):
        """One admin call, its failures said in one line, bounded by kafka_request_timeout. A group coordinator
        that cannot answer now (it moves, or loads its partition of __consumer_offsets after a broker restart or
        a leader election) is asked again through a fresh client until the timeout: it has not acted."""
        deadline = time.monotonic() + self.timeout_ms / 1000
        while True:
            try:
                return getattr(self._admin_client(), method)(*args, **kwargs)
            except self._kafka.errors.KafkaTimeoutError:
                raise KafkaClientError(f"brokers did not answer {what} within {self.timeout_ms / 1000:g} s: check "
                                       "that the brokers run and every partition has a leader (cluster_info), or "
                                       "raise kafka_request_timeout")
            except self._kafka.errors.KafkaError as error:
                if type(error).__name__ in _COORDINATOR_ERRORS:
                    # kafka-python remembers each group's coordinator: a fresh client looks it up again.
                    self.close()
                    if time.monotonic() + COORDINATOR_RETRY_SECONDS < deadline:
                        time.sleep(COORDINATOR_RETRY_SECONDS)
                        continue
                    raise CoordinatorUnavailable(
                        f"the group coordinator did not answer {what} within {self.timeout_ms / 1000:g} s "
                        f"({type(error).__name__}): check that every broker runs and __consumer_offsets has "
                        "leaders, then retry")
                if isinstance(error, self._kafka.errors.UnsupportedVersionError):
                    raise UnsupportedByBrokers(f"the brokers do not support {what} ({type(error).__name__})")
                if type(error).__name__ in ("NotLeaderForPartitionError", "LeaderNotAvailableError"):
                    raise KafkaClientError(f"brokers did not answer {what}: a partition has no leader "
                                           f"({type(error).__name__}); check cluster_info, or raise "
                                           "kafka_request_timeout")
                raise KafkaClientError(f"brokers refused {what}: {type(error).__name__}: {error}")

    def admin_call(self, what: str, method: str, *args, **kwargs):
        """One call of the admin client, for the other parts of this connection layer (kafka_replicas): the
        same client, the same bound and the same one-line failures as every call here."""
        return self._admin_call(what, method, *args, **kwargs)

    def _group_write(self, what: str, method: str, group: str, asked, payload) -> dict[TopicPartition, str]:
        """An OffsetCommit or OffsetDelete; sent again while its coordinator answers that it is not the
        coordinator or still loading (such a request was not applied), until kafka_request_timeout."""
        deadline = time.monotonic() + self.timeout_ms / 1000
        while True:
            refused = self._refused(self._admin_call(what, method, group, payload), asked)
            moving = refused and all(error in _COORDINATOR_ERRORS for error in refused.values())
            if not moving or time.monotonic() + COORDINATOR_RETRY_SECONDS >= deadline:
                return refused
            self.close()
            time.sleep(COORDINATOR_RETRY_SECONDS)

    def _list_offsets(self, what: str, specs: dict) -> dict[TopicPartition, int]:
        """ListOffsets through the admin client (one request per leader), the same client the group calls use."""
        if not specs:
            return {}
        found = self._admin_call(f"the {what} request (ListOffsets)", "list_partition_offsets",
                                 specs)
        return {(tp.topic, tp.partition): answer.offset for tp, answer in found.items()}

    def log_start_offsets(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        earliest = self._kafka.admin.OffsetSpec.EARLIEST
        return self._list_offsets("log start offsets",
                                  {self._kafka.TopicPartition(*key): earliest for key in partitions})

    def log_end_offsets(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        latest = self._kafka.admin.OffsetSpec.LATEST
        return self._list_offsets("log end offsets", {self._kafka.TopicPartition(*key): latest for key in partitions})

    def offsets_for_time(self, partitions: Iterable[TopicPartition],
                         timestamp_ms: int) -> dict[TopicPartition, Optional[int]]:
        """First offset at or after timestamp_ms per partition; None when no record is that new."""
        found = self._list_offsets("offsets by timestamp",
                                   {self._kafka.TopicPartition(*key): int(timestamp_ms) for key in partitions})
        return {key: (None if offset is None or offset < 0 else offset) for key, offset in found.items()}

    def topic_partitions(self, topics: list[str]) -> dict[str, Optional[list[int]]]:
        """Partition numbers of each topic; None for a topic the brokers do not know."""
        if not topics:
            return {}
        found = self._admin_call("the topic metadata request", "describe_topics", list(topics))
        result: dict[str, Optional[list[int]]] = {topic: None for topic in topics}
        for topic in found:
            if not topic.get("error_code"):
                result[topic["name"]] = sorted(p["partition_index"] for p in topic.get("partitions") or [])
        return result

    def list_groups(self) -> list[dict[str, Any]]:
        """Every group the coordinators know: group_id, group_state, protocol_type and, from brokers that say it
        (ListGroups v5, Kafka 3.8+), group_type (classic or consumer)."""
        return list(self._admin_call("the group listing (ListGroups)", "list_groups"))

    def describe_groups(self, groups: list[str]) -> dict[str, dict[str, Any]]:
        """DescribeGroups per group: state, protocol type and the members of a classic group."""
        if not groups:
            return {}
        return dict(self._admin_call("the group description (DescribeGroups)",
                                     "describe_groups", list(groups)))

    def committed_offsets(self, groups: dict[str, Optional[list[TopicPartition]]]
                          ) -> dict[str, dict[TopicPartition, tuple[int, str, int]]]:
        """(offset, metadata, leader epoch) per committed partition of each group, one OffsetFetch per
        coordinator; a partition without a committed offset is left out. None asks for every partition."""
        if not groups:
            return {}
        specs = {group: (None if wanted is None else [self._kafka.TopicPartition(*key) for key in wanted])
                 for group, wanted in groups.items()}
        found = self._admin_call("the committed offsets (OffsetFetch)", "list_group_offsets", specs)
        result: dict[str, dict[TopicPartition, tuple[int, str, int]]] = {}
        for group, offsets in found.items():
            result[group] = {(tp.topic, tp.partition): (held.offset, held.metadata or "",
                                                        -1 if held.leader_epoch is None else held.leader_epoch)
                             for tp, held in (offsets or {}).items() if held is not None and held.offset >= 0}
        return result

    def commit_offsets(self, group: str, offsets: dict[TopicPartition, tuple[int, str]]) -> dict[TopicPartition, str]:
        """One OffsetCommit for every partition given, as an admin (no member id, generation -1): the coordinator
        accepts it only while the group has no member. Returns the error name of each refused partition."""
        structs = self._kafka.structs
        wanted = {self._kafka.TopicPartition(*key): structs.OffsetAndMetadata(offset, metadata, -1)
                  for key, (offset, metadata) in offsets.items()}
        return self._group_write("the offset commit (OffsetCommit)", "alter_group_offsets", group, offsets, wanted)

    def delete_offsets(self, group: str, partitions: list[TopicPartition]) -> dict[TopicPartition, str]:
        """OffsetDelete for the partitions; returns the error name of each refused partition."""
        if not partitions:
            return {}
        wanted = [self._kafka.TopicPartition(*key) for key in partitions]
        return self._group_write("the offset deletion (OffsetDelete)", "delete_group_offsets", group, partitions,
                                 wanted)

    def _refused(self, answers, asked) -> dict[TopicPartition, str]:
        said = {(tp.topic, tp.partition): error for tp, error in (answers or {}).items()}
        refused = {}
        for key in asked:
            error = said.get(key)
            name = "no answer" if error is None else error.__name__
            if name != "NoError":
                refused[key] = name
        return refused

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
        self._admin = None


def describe_kafka_exception(error: BaseException) -> Optional[str]:
    """One line for a kafka-python exception, or None when it is not one."""
    # Only code that imported kafka-python can raise its exceptions, so never import it just to check.
    errors = sys.modules.get("kafka.errors")
    if errors is None or not isinstance(error, errors.KafkaError):
        return None
    return f"Kafka error {type(error).__name__}: {error}"
