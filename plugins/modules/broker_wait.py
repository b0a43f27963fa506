#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: broker_wait
short_description: Wait until a Kafka broker or KRaft controller serves, or until it is gone
version_added: 1.0.0
description:
  - Waits, in one call and one metadata session, for every gate a broker or controller start or stop needs, in
    order, each bounded by its own timeout that starts when the previous gate passed.
  - Works on ZooKeeper-mode clusters (with O(zk_hosts)) and on KRaft clusters (with only
    O(kafka_bootstrap_servers), through the Admin API), with the same gates and result fields, as
    M(kafka_ops.remediation.cluster_info) does.
  - O(state=serving) (after a start) waits for the listener port to open, for the broker's registration under
    C(/brokers/ids/<id>), for every partition that has a live in-sync replica to have a live leader, and for every
    partition whose replicas are all registered to have all of them in sync. Partitions are judged against the
    brokers registered now, so the same gates hold after each single start while brokers come back one by one.
  - O(state=absent) (after a stop, or before a start to wait out the registration of an earlier session) waits
    for the listener port to close and for C(/brokers/ids/<id>) to disappear.
  - "On KRaft the broker gates are the same, with registration meaning: listed by C(DescribeCluster) and not
    fenced. O(role=controller) waits instead for the controller listener (O(controller_port)) to open, for the
    node to be a voter of the controller quorum, for the quorum to have a leader, and for this voter to have
    caught up with the leader (its last caught-up time within O(quorum_fetch_timeout_ms) of the leader's,
    Strimzi's rule). O(role=combined) waits for the controller gates, then the broker gates."
  - On KRaft, O(state=absent) waits for the broker to leave the registered unfenced brokers (O(role=broker)), or
    for the controller port to close and the node to stop leading the quorum (O(role=controller)); a combined
    node's broker gates come first. A KRaft broker's stop waits up to 5 minutes for the active controller to
    approve its controlled shutdown, so give O(port_timeout) and O(registration_timeout) at least that much.
  - Polls every O(poll_interval) seconds, so a gate passes well within a second of being true; a timeout fails
    with one line naming the gate and up to ten of the partitions holding it up.
  - The port is probed from the host the module runs on (normally the controller), which must reach the
    broker listener anyway to read log offsets. Leave O(host) out to skip the port gate.
author:
  - Kafka Ops maintainers (@kafka-ops)
extends_documentation_fragment:
  - kafka_ops.remediation.attributes
  - kafka_ops.remediation.attributes.read_only
  - kafka_ops.remediation.zookeeper
  - kafka_ops.remediation.kafka
  - kafka_ops.remediation.metadata
attributes:
  check_mode:
    details: Only reads and waits; runs the same in check mode.
options:
  zk_hosts:
    description:
      - ZooKeeper ensemble of a ZooKeeper-mode cluster, as C(host:port[,host:port...]).
      - Leave it out for a KRaft cluster and set O(kafka_bootstrap_servers) instead.
    type: str
    required: false
  broker_id:
    description: The C(broker.id) to wait for (its C(/brokers/ids/<id>) node), on KRaft the C(node.id).
    type: int
    required: true
  role:
    description:
      - What the node runs, its C(process.roles) on KRaft. V(broker) waits for the broker gates, V(controller)
        for the controller gates, V(combined) for both.
      - V(controller) and V(combined) need a KRaft cluster.
    type: str
    choices: [broker, controller, combined]
    default: broker
  controller_port:
    description:
      - Port of the node's controller listener (KRaft), probed by the controller port gates.
      - Defaults to O(port) with O(role=controller) (a dedicated controller listens only there), else to 9093.
    type: int
  state:
    description: V(serving) waits for the start gates, V(absent) for the broker to be gone.
    type: str
    choices: [serving, absent]
    default: serving
  host:
    description: Address of the broker listener to probe. Without it the port gate is skipped.
    type: str
  port:
    description: Port of the broker listener.
    type: int
    default: 9092
  port_timeout:
    description:
      - Seconds for the port to open (V(serving)) or close (V(absent)). A broker loads and, after an unclean
        stop, recovers every log before it listens, which takes minutes on big brokers.
    type: float
    default: 600
  registration_timeout:
    description:
      - Seconds for the registration to appear after the port opened (V(serving)), or to disappear (V(absent)).
        A killed broker's node lasts one ZooKeeper session timeout; a KRaft broker stays registered until the
        controller approves its controlled shutdown (up to 5 minutes) or its session times out.
      - Also the controller gate C(voter)'s timeout.
    type: float
    default: 120
  leader_timeout:
    description:
      - Seconds, once registered, for every partition with a live in-sync replica to get a live leader.
      - Also the controller gates C(quorum_leader) and C(not_leader)'s timeout.
    type: float
    default: 300
  in_sync_timeout:
    description:
      - Seconds, once leaders are elected, for every partition whose replicas are all registered to be fully in
        sync. Followers must fetch what they missed while down.
      - Also the controller gate C(caught_up)'s timeout.
    type: float
    default: 900
  poll_interval:
    description:
      - Seconds between two checks of a gate. Each check is one TCP connect, a batched ZooKeeper read or a few
        Admin API requests; when a
        check takes longer than half the interval (a full read of a big cluster), the pause stretches to twice
        the check's duration, so that reading never takes more than a third of the time.
    type: float
    default: 0.25
notes:
  - Each gate's timeout counts from the moment the previous gate passed, as if each were its own task.
seealso:
  - module: kafka_ops.remediation.cluster_info
  - module: ansible.builtin.wait_for
"""

EXAMPLES = r"""
- name: Wait until broker 2 serves its partitions after its start
  kafka_ops.remediation.broker_wait:
    zk_hosts: zk1.example.com:2181
    zk_chroot: /kafka
    broker_id: 2
    host: kafka2.example.com
    port: 9092
  delegate_to: localhost

- name: Wait until broker 2 is gone after its stop
  kafka_ops.remediation.broker_wait:
    zk_hosts: zk1.example.com:2181
    zk_chroot: /kafka
    broker_id: 2
    state: absent
    host: kafka2.example.com
  delegate_to: localhost

- name: Wait until KRaft controller 4 has caught up with the quorum leader after its start
  kafka_ops.remediation.broker_wait:
    kafka_bootstrap_servers: [kafka1.example.com:9092, kafka2.example.com:9092]
    broker_id: 4
    role: controller
    host: controller4.example.com
    controller_port: 9093
  delegate_to: localhost

- name: Wait until combined KRaft node 2 serves as broker and controller
  kafka_ops.remediation.broker_wait:
    kafka_bootstrap_servers: [kafka1.example.com:9092, kafka3.example.com:9092]
    broker_id: 2
    role: combined
    host: kafka2.example.com
  delegate_to: localhost

- name: Before starting broker 2 after a crash, wait for its old session's registration to expire
  kafka_ops.remediation.broker_wait:
    zk_hosts: zk1.example.com:2181
    zk_chroot: /kafka
    broker_id: 2
    state: absent
    registration_timeout: 60
  delegate_to: localhost
"""

RETURN = r"""
stages:
  description: The gates that passed, in order, with the seconds each took.
  returned: always
  type: list
  elements: dict
  sample: [{"stage": "port", "seconds": 3.61}, {"stage": "registered", "seconds": 0.52},
           {"stage": "leaders", "seconds": 0.0}, {"stage": "in_sync", "seconds": 1.03}]
  contains:
    stage:
      description:
        - The gate, V(port), V(registered), V(leaders), V(in_sync), V(port_closed), V(unregistered), and on
          KRaft V(controller_port), V(voter), V(quorum_leader), V(caught_up), V(controller_port_closed),
          V(not_leader).
      type: str
    seconds:
      description: Seconds it took.
      type: float
failed_stage:
  description: The gate that timed out, null when every gate passed.
  returned: always
  type: str
  sample: port
elapsed:
  description: Seconds the whole wait took.
  returned: always
  type: float
  sample: 5.16
broker_ids:
  description: Brokers registered at the last check (on KRaft the unfenced ones).
  returned: always
  type: list
  elements: int
  sample: [1, 2, 3]
fenced_broker_ids:
  description: Brokers registered but fenced at the last check (KRaft); always empty in ZooKeeper mode.
  returned: always
  type: list
  elements: int
  sample: []
metadata_mode:
  description: Where the cluster's metadata was read, V(zookeeper) or V(kraft) (the Admin API).
  returned: always
  type: str
  sample: kraft
quorum:
  description:
    - The controller quorum at the last read (as RV(kafka_ops.remediation.cluster_info#module:quorum)); null in
      ZooKeeper mode or when no read of it succeeded.
  returned: always
  type: dict
  sample: {"leader_id": 1, "leader_epoch": 3, "high_watermark": 1480, "voters": [], "observers": []}
unverified:
  description:
    - KRaft gates passed on the node's port alone because no broker listened to ask (kafka-python reaches the
      quorum only through brokers), as during a full stop after the last broker stopped and before the first
      starts again. The brokers' own start gates prove the quorum afterwards. Empty in ZooKeeper mode.
  returned: always
  type: list
  elements: str
  sample: ["voter", "quorum_leader", "caught_up"]
unready:
  description:
    - Partitions holding up the leader or in-sync gate at the last check (empty once they pass), with the reason.
    - For a controller gate, the node (C(node_id)) and why it does not pass (C(reason)).
  returned: always
  type: list
  elements: dict
  sample: [{"topic": "orders", "partition": 0, "reason": "replicas [2] not in sync"}]
controller_id:
  description:
    - The active controller at the last full cluster read, null when none was made or none is elected.
    - On KRaft the controller quorum's leader.
  returned: always
  type: int
  sample: 3
summary:
  description: The cluster summary of the last full read (as RV(kafka_ops.remediation.cluster_info#module:summary)).
  returned: when a leader or in-sync gate was checked
  type: dict
  sample: {"brokers": 3, "controller_id": 3, "topics": 4, "partitions": 40, "under_replicated": 0,
           "offline": 0, "at_min_isr": 0, "below_min_isr": 0}
"""

import time

from ansible_collections.kafka_ops.remediation.plugins.module_utils.cluster import broker_gates, metadata_backend, waiter
from ansible_collections.kafka_ops.remediation.plugins.module_utils.connection.module_runner import ModuleError, ModuleRunner


def controller_port(params: dict) -> int:
    """A dedicated controller has one listener, so O(port) is it; a combined node's is usually 9093."""
    if params["controller_port"]:
        return params["controller_port"]
    return params["port"] if params["role"] == "controller" else 9093


def run(runner: ModuleRunner) -> dict:
    params = runner.params
    if params["poll_interval"] <= 0:
        raise ModuleError(f"poll_interval must be above 0, got {params['poll_interval']:g}")
    timeouts = dict(port=params["port_timeout"], registration=params["registration_timeout"],
                    leader=params["leader_timeout"], in_sync=params["in_sync_timeout"])
    negative = sorted(f"{key}_timeout" for key, value in timeouts.items() if value < 0)
    if negative:
        raise ModuleError(f"{', '.join(negative)} must not be negative")
    metadata = metadata_backend.open_metadata(runner, params["quorum_fetch_timeout_ms"])
    if metadata.mode != metadata_backend.KRAFT and params["role"] != "broker":
        raise ModuleError(f"role={params['role']} needs a KRaft cluster, but this one keeps its metadata in "
                          "ZooKeeper: use role=broker")
    gates = broker_gates.BrokerGates(metadata, params["broker_id"], params["host"], params["port"],
                                     connect_timeout=min(1.0, params["poll_interval"]),
                                     controller_port=controller_port(params),
                                     bootstrap_servers=params.get("kafka_bootstrap_servers") or [])
    stages = (gates.serving(timeouts, params["role"]) if params["state"] == "serving"
              else gates.absent(timeouts, params["role"]))
    began = time.monotonic()

    def outcome(passed: list, failed_stage, unready: list) -> dict:
        result = dict(changed=False, stages=passed, failed_stage=failed_stage,
                      elapsed=round(time.monotonic() - began, 2), broker_ids=gates.broker_ids,
                      fenced_broker_ids=gates.fenced_broker_ids, metadata_mode=metadata.mode,
                      quorum=gates.last_quorum, unready=unready,
                      controller_id=(gates.last_read["controller_id"] if gates.last_read
                                     else (gates.last_quorum or {}).get("leader_id")),
                      unverified=gates.unverified)
        if gates.last_read:
            result["summary"] = gates.last_read["summary"]
        return result

    try:
        passed = waiter.run_stages(stages, params["poll_interval"])
    except waiter.GateTimeout as timeout:
        raise ModuleError(str(timeout), **outcome(timeout.passed, timeout.stage, timeout.unready))
    return outcome(passed, None, [])


def main() -> None:
    argument_spec = dict(
        broker_id=dict(type="int", required=True),
        role=dict(type="str", choices=list(broker_gates.ROLES), default="broker"),
        controller_port=dict(type="int"),
        state=dict(type="str", choices=["serving", "absent"], default="serving"),
        host=dict(type="str"),
        port=dict(type="int", default=9092),
        port_timeout=dict(type="float", default=600.0),
        registration_timeout=dict(type="float", default=120.0),
        leader_timeout=dict(type="float", default=300.0),
        in_sync_timeout=dict(type="float", default=900.0),
        poll_interval=dict(type="float", default=0.25),
        **metadata_backend.metadata_argument_spec(),
    )
    ModuleRunner(argument_spec, uses_kafka=True, zookeeper_required=False).run(run)


if __name__ == "__main__":
    main()
