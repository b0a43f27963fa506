# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The ZooKeeper connection options (plugins/module_utils/connection/zookeeper.py zookeeper_argument_spec)."""

    DOCUMENTATION = r"""
options:
  zk_hosts:
    description:
      - ZooKeeper ensemble as C(host:port[,host:port...]), the same string Kafka's C(zookeeper.connect) uses
        without the chroot.
    type: str
    required: true
  zk_chroot:
    description:
      - The chroot Kafka uses inside ZooKeeper, for example C(/kafka). Every path the module reads or writes
        is under it. Empty means the root.
      - The chroot must exist; the module fails rather than read an empty tree.
    type: str
    default: ""
  zk_auth:
    description:
      - Authentication added to the session, like C(addauth) in C(zkCli.sh). Use it when the nodes carry
        digest ACLs (C(zookeeper.set.acl=true) with digest users).
    type: list
    elements: dict
    suboptions:
      scheme:
        description: Authentication scheme.
        type: str
        default: digest
      credential:
        description: The credential, for the digest scheme C(user:password).
        type: str
        required: true
  zk_sasl:
    description:
      - SASL authentication for the session (needs the C(pure-sasl) Python package on the controller).
      - Wrong credentials make the connection fail with a message naming these options.
    type: dict
    suboptions:
      mechanism:
        description: SASL mechanism, for example C(DIGEST-MD5) or C(GSSAPI).
        type: str
        default: DIGEST-MD5
      username:
        description: SASL user name.
        type: str
      password:
        description: SASL password.
        type: str
  zk_use_tls:
    description: Connect to ZooKeeper's TLS port (C(secureClientPort)).
    type: bool
    default: false
  zk_ca_cert:
    description: CA bundle that signed the ZooKeeper server certificates (with O(zk_use_tls=true)).
    type: path
  zk_client_cert:
    description: Client certificate for mutual TLS (with O(zk_use_tls=true)).
    type: path
  zk_client_key:
    description: Private key of O(zk_client_cert).
    type: path
  zk_verify_certs:
    description: Verify the server certificate. Turn off only for a throw-away test ensemble.
    type: bool
    default: true
  zk_timeout:
    description:
      - Seconds to wait for the connection and for each request; also the ZooKeeper session timeout asked for.
        An unreachable ensemble fails after this long.
    type: float
    default: 10
  zk_retries:
    description:
      - How many times a read is retried after a lost connection (within O(zk_timeout)). Writes are never
        retried blindly; they are read back instead.
    type: int
    default: 3
requirements:
  - kazoo >= 2.10 (on the controller or execution environment)
notes:
  - The module talks to ZooKeeper from where it runs; use C(delegate_to=localhost) and C(run_once=true) in plays
    over broker hosts.
  - On ZooKeeper 3.6 and later many nodes are read with one multi-read request each thousand nodes; older
    ensembles get pipelined single reads.
"""
