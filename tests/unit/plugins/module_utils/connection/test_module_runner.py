# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""module_runner's shared failure handling: which errors become one line, and closing that never hides them."""

from __future__ import annotations

from unittest import mock

import pytest
from kazoo.exceptions import NoAuthError

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster.cluster_state import ClusterDataError
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection import kafka_client, zookeeper
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.module_runner import (
    ModuleError, close_quietly, known_failure)


@pytest.mark.parametrize("error, expected", [
    (ModuleError("group 'b' does not exist", plan=[]), {"msg": "group 'b' does not exist", "plan": []}),
    (zookeeper.ZooKeeperError("could not connect"), {"msg": "could not connect"}),
    (kafka_client.KafkaClientError("no broker answered"), {"msg": "no broker answered"}),
    (ClusterDataError("bad /controller"), {"msg": "bad /controller"}),
])
def test_errors_already_phrased_become_their_own_line(error, expected):
    assert known_failure(error) == expected


def test_a_missing_kafka_library_names_the_package_with_its_import_traceback():
    failure = known_failure(kafka_client.KafkaLibraryMissing("Traceback ..."))
    assert "kafka-python" in failure["msg"] and failure["exception"] == "Traceback ..."


def test_a_kazoo_exception_is_described_and_keeps_its_traceback():
    failure = None
    try:
        raise NoAuthError()
    except NoAuthError as error:
        failure = known_failure(error)
    assert failure["msg"].startswith("ZooKeeper refused access (NoAuth)")
    assert "NoAuthError" in failure["exception"]


def test_anything_else_is_not_known():
    assert known_failure(ValueError("x")) is None


def test_close_quietly_closes_every_client_and_swallows_their_errors():
    broken, fine = mock.Mock(), mock.Mock()
    broken.close.side_effect = OSError("gone")
    close_quietly(broken, None, fine)
    broken.close.assert_called_once_with()
    fine.close.assert_called_once_with()
