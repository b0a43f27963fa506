# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ZooKeeper connection layer: options to kazoo settings, and the multi-read wire format."""

import struct

import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection import zookeeper


def params(**overrides):
    base = dict(zk_hosts="zk1:2181,zk2:2181", zk_chroot="", zk_auth=None, zk_sasl=None, zk_use_tls=False,
                zk_ca_cert=None, zk_client_cert=None, zk_client_key=None, zk_verify_certs=True, zk_timeout=10.0,
                zk_retries=3)
    base.update(overrides)
    return base


@pytest.mark.parametrize("chroot, expected", [("", ""), ("/", ""), ("/kafka", "/kafka"), ("/kafka/", "/kafka"),
                                              (" /a/b ", "/a/b"), (None, "")])
def test_normalise_chroot(chroot, expected):
    assert zookeeper.normalise_chroot(chroot) == expected


def test_relative_chroot_is_refused():
    with pytest.raises(zookeeper.ZooKeeperError, match="must start with '/'"):
        zookeeper.normalise_chroot("kafka")


@pytest.mark.parametrize("hosts, chroot, expected", [
    ("zk1:2181", "", "zk1:2181"),
    ("zk1:2181,zk2:2181", "/kafka", "zk1:2181,zk2:2181/kafka"),
    ("zk1:2181/kafka", "", "zk1:2181/kafka"),
])
def test_connect_string(hosts, chroot, expected):
    assert zookeeper.connect_string(hosts, chroot) == expected


def test_chroot_given_twice_is_refused():
    with pytest.raises(zookeeper.ZooKeeperError, match="already contains a chroot"):
        zookeeper.connect_string("zk1:2181/kafka", "/kafka")


def test_client_settings_plain():
    settings = zookeeper.client_settings(params(zk_chroot="/kafka", zk_timeout=2.5, zk_retries=5))
    assert settings["hosts"] == "zk1:2181,zk2:2181/kafka"
    assert settings["timeout"] == 2.5
    assert settings["command_retry"]["max_tries"] == 5
    assert settings["command_retry"]["deadline"] == 2.5
    assert "auth_data" not in settings and "use_ssl" not in settings and "sasl_options" not in settings


def test_client_settings_auth_sasl_tls():
    settings = zookeeper.client_settings(params(
        zk_auth=[dict(scheme="digest", credential="ops:secret")],
        zk_sasl=dict(mechanism="DIGEST-MD5", username="kafka", password="pw"),
        zk_use_tls=True, zk_ca_cert="/ca.pem", zk_client_cert="/c.pem", zk_client_key="/k.pem",
        zk_verify_certs=False))
    assert settings["auth_data"] == [("digest", "ops:secret")]
    assert settings["sasl_options"] == dict(mechanism="DIGEST-MD5", username="kafka", password="pw")
    assert (settings["use_ssl"], settings["ca"], settings["certfile"], settings["keyfile"],
            settings["verify_certs"]) == (True, "/ca.pem", "/c.pem", "/k.pem", False)


@pytest.mark.parametrize("overrides, message", [
    (dict(zk_ca_cert="/ca.pem"), "need zk_use_tls=true"),
    (dict(zk_timeout=0), "zk_timeout must be positive"),
    (dict(zk_hosts="  "), "zk_hosts is empty"),
])
def test_client_settings_refuses_bad_input(overrides, message):
    with pytest.raises(zookeeper.ZooKeeperError, match=message):
        zookeeper.client_settings(params(**overrides))


def test_argument_spec_hides_secrets():
    spec = zookeeper.zookeeper_argument_spec()
    assert spec["zk_auth"]["options"]["credential"]["no_log"] is True
    assert spec["zk_sasl"]["options"]["password"]["no_log"] is True
    assert spec["zk_hosts"]["required"] is True


def _string(text):
    return struct.pack("!i", len(text)) + text.encode()


def test_multi_read_request_bytes_prefix_chroot():
    request = zookeeper.MultiRead("/kafka", [(4, "/a"), (8, "/")])
    expected = (struct.pack("!i?i", 4, False, -1) + _string("/kafka/a") + b"\x00"
                + struct.pack("!i?i", 8, False, -1) + _string("/kafka") + b"\x00"
                + struct.pack("!i?i", -1, True, -1))
    assert bytes(request.serialize()) == expected


def test_multi_read_response_parsing():
    stat = struct.pack("!qqqqiiiqiiq", 1, 2, 3, 4, 5, 6, 7, 0, 2, 0, 9)
    response = (struct.pack("!i?i", 4, False, 0) + struct.pack("!i", 2) + b"42" + stat
                + struct.pack("!i?i", -1, False, -1) + struct.pack("!i", -101)  # NoNode
                + struct.pack("!i?i", 8, False, 0) + struct.pack("!i", 2) + _string("0") + _string("1")
                + struct.pack("!i?i", -1, True, -1))
    data, children_missing, children = zookeeper.MultiRead("", []).deserialize(response, 0)
    assert data[0] == b"42" and data[1].version == 5 and data[1].mtime == 4
    assert children_missing is None
    assert children == ["0", "1"]


def test_multi_read_without_stats_answers_data_only():
    stat = struct.pack("!qqqqiiiqiiq", 1, 2, 3, 4, 5, 6, 7, 0, 2, 0, 9)
    response = (struct.pack("!i?i", 4, False, 0) + struct.pack("!i", 2) + b"42" + stat
                + struct.pack("!i?i", 4, False, 0) + struct.pack("!i", -1) + stat  # a node without data
                + struct.pack("!i?i", -1, False, -1) + struct.pack("!i", -101)
                + struct.pack("!i?i", -1, True, -1))
    assert zookeeper.MultiRead("", [], with_stat=False).deserialize(response, 0) == [b"42", b"", None]
    with_stat = zookeeper.MultiRead("", []).deserialize(response, 0)
    assert with_stat[1][0] == b"" and with_stat[1][1].version == 5


def test_multi_read_other_errors_raise():
    response = struct.pack("!i?i", -1, False, -1) + struct.pack("!i", -102) + struct.pack("!i?i", -1, True, -1)
    with pytest.raises(Exception) as caught:
        zookeeper.MultiRead("", []).deserialize(response, 0)
    assert type(caught.value).__name__ == "NoAuthError"


class _Answer:
    def __init__(self, value=None, error=None):
        self.value, self.error = value, error

    def get(self, timeout=None):
        if self.error:
            raise self.error
        return self.value


class _OldEnsembleClient:
    """A kazoo client talking to ZooKeeper < 3.6: multi-read is unimplemented, single async reads work."""

    chroot = "/kafka"

    def __init__(self, nodes):
        self.nodes = nodes
        self.multi_read_calls = 0
        self.handler = type("Handler", (), {"async_result": staticmethod(_Answer)})()

    def _call(self, request, async_result):
        from kazoo.exceptions import UnimplementedError
        self.multi_read_calls += 1
        async_result.error = UnimplementedError()

    def get_async(self, path):
        from kazoo.exceptions import NoNodeError
        return _Answer((self.nodes[path], "stat")) if path in self.nodes else _Answer(error=NoNodeError())

    def get_children_async(self, path):
        return _Answer(["0", "1"])

    def retry(self, func, *args, **kwargs):
        return func(*args, **kwargs)


def test_bulk_reads_fall_back_to_pipelined_reads_on_old_ensembles():
    client = _OldEnsembleClient({"/a": b"1", "/b": b"2"})
    zk = zookeeper.ZooKeeper.__new__(zookeeper.ZooKeeper)
    zk.client, zk.timeout, zk.hosts, zk._multi_read = client, 1.0, "old:2181", None
    assert zk.read_nodes(["/a", "/missing", "/b"]) == [(b"1", "stat"), None, (b"2", "stat")]
    assert zk.list_children(["/x"]) == [["0", "1"]]
    assert client.multi_read_calls == 1, "multi-read is probed once, then not tried again"


class _NewEnsembleClient:
    """A kazoo client talking to ZooKeeper 3.6+: each multi read is answered from the nodes by the wire format."""

    chroot = ""

    def __init__(self, nodes):
        self.nodes = nodes
        self.requests = []
        self.handler = type("Handler", (), {"async_result": staticmethod(_Answer)})()

    def _call(self, request, async_result):
        self.requests.append(request)
        stat = struct.pack("!qqqqiiiqiiq", 1, 2, 3, 4, 5, 6, 7, 0, len(b"x"), 0, 9)
        response = b""
        for _op, path in request.operations:
            if path in self.nodes:
                response += struct.pack("!i?i", 4, False, 0) + _string(self.nodes[path]) + stat
            else:
                response += struct.pack("!i?i", -1, False, -1) + struct.pack("!i", -101)
        async_result.value = request.deserialize(response + struct.pack("!i?i", -1, True, -1), 0)

    def retry(self, func, *args, **kwargs):
        return func(*args, **kwargs)


def _zookeeper(client):
    zk = zookeeper.ZooKeeper.__new__(zookeeper.ZooKeeper)
    zk.client, zk.timeout, zk.hosts, zk._multi_read = client, 1.0, "zk:2181", None
    return zk


def test_read_data_converts_batch_by_batch(monkeypatch):
    monkeypatch.setattr(zookeeper, "MULTI_READ_BATCH", 2)
    client = _NewEnsembleClient({"/a": "1", "/b": "2", "/c": "3"})
    zk = _zookeeper(client)
    batches = []

    def convert(batch):
        batches.append(list(batch))
        return [None if data is None else int(data) for data in batch]

    assert zk.read_data(["/a", "/missing", "/b", "/c", "/b"], convert) == [1, None, 2, 3, 2]
    assert batches == [[b"1", None], [b"2", b"3"], [b"2"]]
    assert [len(request.operations) for request in client.requests] == [2, 2, 1]
    assert zk.read_data(["/c"]) == [b"3"]
    assert zk.read_nodes(["/c"])[0][1].version == 5
    assert zk.read_data([], convert) == []


def test_read_data_falls_back_to_pipelined_reads_on_old_ensembles():
    client = _OldEnsembleClient({"/a": b"1", "/b": b"2"})
    zk = _zookeeper(client)
    assert zk.read_data(["/a", "/missing", "/b"]) == [b"1", None, b"2"]
    assert zk.read_data(["/b", "/a"], lambda batch: [data * 2 for data in batch]) == [b"22", b"11"]
