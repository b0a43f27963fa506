# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The Kafka connection options (plugins/module_utils/connection/kafka_client.py kafka_argument_spec)."""

    DOCUMENTATION = r"""
options:
  kafka_bootstrap_servers:
    description:
      - Brokers to ask (log start/end offsets, offsets by timestamp, groups, partitions' replicas and
        reassignments), as C(host:port).
      - When omitted, every broker registered under C(/brokers/ids) is used, with the endpoint whose listener
        speaks O(kafka_security_protocol).
      - A KRaft cluster has no C(/brokers/ids) to find them in; there the modules that read cluster metadata
        (M(kafka_ops.remediation.cluster_info), M(kafka_ops.remediation.broker_wait)) read it from these brokers
        when O(zk_hosts) is not set.
    type: list
    elements: str
  kafka_security_protocol:
    description: Protocol of the listener to use.
    type: str
    default: PLAINTEXT
    choices: [PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL]
  kafka_sasl_mechanism:
    description: SASL mechanism for the C(SASL_*) protocols.
    type: str
    choices: [PLAIN, SCRAM-SHA-256, SCRAM-SHA-512]
  kafka_sasl_username:
    description: SASL user name.
    type: str
  kafka_sasl_password:
    description: SASL password.
    type: str
  kafka_ssl_cafile:
    description: CA bundle that signed the broker certificates.
    type: path
  kafka_ssl_certfile:
    description: Client certificate for mutual TLS.
    type: path
  kafka_ssl_keyfile:
    description: Private key of O(kafka_ssl_certfile).
    type: path
  kafka_request_timeout:
    description:
      - Seconds to wait for the brokers (connecting and each request). Unreachable brokers fail after this
        long instead of hanging.
    type: float
    default: 30
requirements:
  - kafka-python >= 3.0.12 (on the controller or execution environment)
"""
