# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure decisions about a KRaft controller quorum: which voters are caught up, and whether controllers may stop.

The rule is Strimzi's (KafkaRoller's KafkaQuorumCheck): a voter is caught up when the leader's
last_caught_up_timestamp minus the voter's is below controller.quorum.fetch.timeout.ms; the leader always is.
Stopping controllers is safe while the caught-up voters other than the stopped ones are a majority of all voters.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

# Kafka's default controller.quorum.fetch.timeout.ms.
DEFAULT_FETCH_TIMEOUT_MS = 2000


def majority(voters: int) -> int:
    """Votes a Raft quorum of this many voters needs to elect a leader and commit."""
    return voters // 2 + 1


def voter_caught_up(voter: dict[str, Any], leader: Optional[dict[str, Any]], fetch_timeout_ms: int) -> bool:
    """Strimzi's rule; a voter whose timestamp is unknown (-1) or a quorum without a leader is never caught up."""
    if leader is None:
        return False
    if voter["node_id"] == leader["node_id"]:
        return True
    voter_ts = voter.get("last_caught_up_timestamp")
    leader_ts = leader.get("last_caught_up_timestamp")
    if voter_ts is None or voter_ts < 0 or leader_ts is None or leader_ts < 0:
        return False
    return leader_ts - voter_ts < fetch_timeout_ms


def leader_of(quorum: dict[str, Any]) -> Optional[dict[str, Any]]:
    """The leader's voter entry, None without a leader (leader_id null) or when it is not among the voters."""
    leader_id = quorum.get("leader_id")
    if leader_id is None:
        return None
    return next((voter for voter in quorum.get("voters") or [] if voter["node_id"] == leader_id), None)


def can_stop_controllers(quorum: dict[str, Any], stopped_ids: Iterable[int],
                         fetch_timeout_ms: int = DEFAULT_FETCH_TIMEOUT_MS) -> dict[str, Any]:
    """Whether the quorum keeps a caught-up majority with stopped_ids stopped.

    Returns ok, needed (votes for a majority), caught_up and lagging (voter ids, stopped ones left out), stopped
    (the stopped ids that are voters), reason (one line when not ok, else None) and warning (a single-voter
    quorum: allowed, as Strimzi does, but the metadata quorum is down while that voter is).
    """
    stopped = sorted({int(node) for node in stopped_ids})
    voters = quorum.get("voters") or []
    voter_ids = [voter["node_id"] for voter in voters]
    leader = leader_of(quorum)
    needed = majority(len(voters)) if voters else 0
    remaining = [voter for voter in voters if voter["node_id"] not in stopped]
    caught_up = sorted(v["node_id"] for v in remaining if voter_caught_up(v, leader, fetch_timeout_ms))
    lagging = sorted(v["node_id"] for v in remaining if v["node_id"] not in caught_up)
    decision: dict[str, Any] = dict(ok=False, needed=needed, caught_up=caught_up, lagging=lagging,
                                    stopped=[node for node in stopped if node in voter_ids], reason=None, warning=None)
    if not voters:
        decision["reason"] = "the quorum lists no voters: is this a KRaft cluster?"
    elif leader is None:
        decision["reason"] = (f"the quorum has no leader (voters {sorted(voter_ids)}): no controller is active, "
                              "so no voter can be judged caught up; start the controllers first")
    elif len(voters) == 1:
        decision.update(ok=True, warning=(
            f"the quorum has a single voter ({voter_ids[0]}): while it is stopped the cluster has no controller, "
            "brokers cannot register, and a broker's controlled shutdown waits up to 5 minutes for approval"))
    elif len(caught_up) >= needed:
        decision["ok"] = True
    else:
        short = (f"stopping controller(s) {decision['stopped']} leaves {len(caught_up)} caught-up voter(s) "
                 f"{caught_up} of {len(voters)}, fewer than the majority of {needed}")
        decision["reason"] = short + (
            f"; lagging: {lagging} (caught up means within controller.quorum.fetch.timeout.ms={fetch_timeout_ms} "
            "of the leader): wait for them to catch up or stop fewer controllers" if lagging
            else ": stop fewer controllers at once")
    return decision
