# -*- coding: utf-8 -*-
# Copyright: contributors to kafka_ops.remediation
# Apache License 2.0 (see LICENSE)
"""The one Kafka connection layer: only what brokers know (log start/end offsets, offsets by time)."""

from __future__ import annotations

import json
import sys
import traceback
from types import ModuleType
from typing import Any, Iterable, Optional

SECURITY_PROTOCOLS = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]


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


class KafkaClientError(Exception):
    """A broker problem already phrased as one line for the user."""


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


def consumer_settings(params: dict[str, Any], bootstrap_servers: list[str]) -> dict[str, Any]:
    """Keyword arguments for a group-less KafkaConsumer; every wait bounded by kafka_request_timeout."""
    timeout = float(30.0 if params.get("kafka_request_timeout") is None else params["kafka_request_timeout"])
    if timeout <= 0.5:
        raise KafkaClientError(f"kafka_request_timeout must be above 0.5 s, got {timeout:g}")
    timeout_ms = int(timeout * 1000)
    settings: dict[str, Any] = dict(
        bootstrap_servers=bootstrap_servers,
        client_id="kafka_ops.remediation",
        group_id=None,
        enable_auto_commit=False,
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


class KafkaLogOffsets:
    """Log start/end offsets and offsets by timestamp; connects on first use, close() always closes."""

    def __init__(self, params: dict[str, Any], bootstrap_servers: list[str]) -> None:
        if not bootstrap_servers:
            raise KafkaClientError(
                "no Kafka broker is registered under /brokers/ids and kafka_bootstrap_servers is not set: "
                "start the brokers or pass kafka_bootstrap_servers"
            )
        self.settings = consumer_settings(params, bootstrap_servers)
        self.timeout_ms: int = self.settings["request_timeout_ms"]
        self._kafka = load_kafka()
        self._consumer = None

    def _client(self):
        if self._consumer is None:
            try:
                self._consumer = self._kafka.KafkaConsumer(**self.settings)
            except self._kafka.errors.KafkaError:
                raise KafkaClientError(
                    f"could not reach any Kafka broker at {','.join(self.settings['bootstrap_servers'])} within "
                    f"{self.timeout_ms / 1000:g} s: check kafka_bootstrap_servers and kafka_security_protocol"
                )
        return self._consumer

    def _ask(self, what: str, call, argument) -> dict:
        try:
            return call(argument, timeout_ms=self.timeout_ms)
        except self._kafka.errors.KafkaTimeoutError:
            raise KafkaClientError(
                f"brokers did not report {what} within {self.timeout_ms / 1000:g} s: check that every partition "
                "has a leader (cluster_info) or raise kafka_request_timeout"
            )
        except self._kafka.errors.KafkaError as error:
            raise KafkaClientError(f"brokers refused the {what} request: {type(error).__name__}: {error}")

    def log_start_offsets(self, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
        wanted = [self._kafka.TopicPartition(topic, partition) for topic, partition in partitions]
        if not wanted:
            return {}
        found = self._ask("log start offsets", self._client().beginning_offsets, wanted)
        return {(tp.topic, tp.partition): offset for tp, offset in found.items()}

    def log_end_offsets(self, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
        wanted = [self._kafka.TopicPartition(topic, partition) for topic, partition in partitions]
        if not wanted:
            return {}
        found = self._ask("log end offsets", self._client().end_offsets, wanted)
        return {(tp.topic, tp.partition): offset for tp, offset in found.items()}

    def offsets_for_time(self, partitions: Iterable[tuple[str, int]],
                         timestamp_ms: int) -> dict[tuple[str, int], Optional[int]]:
        """First offset at or after timestamp_ms per partition; None when no record is that new."""
        wanted = {self._kafka.TopicPartition(topic, partition): timestamp_ms for topic, partition in partitions}
        if not wanted:
            return {}
        found = self._ask("offsets by timestamp", self._client().offsets_for_times, wanted)
        return {(tp.topic, tp.partition): (None if hit is None else hit.offset) for tp, hit in found.items()}

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None


def describe_kafka_exception(error: BaseException) -> Optional[str]:
    """One line for a kafka-python exception, or None when it is not one."""
    # Only code that imported kafka-python can raise its exceptions, so never import it just to check.
    errors = sys.modules.get("kafka.errors")
    if errors is None or not isinstance(error, errors.KafkaError):
        return None
    return f"Kafka error {type(error).__name__}: {error}"
