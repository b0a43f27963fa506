# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A modern consumer as the lab's app1 runs it: a group member whose offsets live in Kafka (`__consumer_offsets`).

It behaves the way a Java KafkaConsumer application with manual commits does where the collection cares:
- joins its group with subscribe() (group management), so DescribeGroups shows it with its client id and host;
- commits every assigned partition's position to Kafka as soon as the records it polled are written, every
  second, and at shutdown (SIGTERM), then close()s, which leaves the group at once (kafka-python runs a
  rebalance listener inside its network loop, where a blocking commit cannot run: records written but not yet
  committed when a rebalance comes would be handed to the next owner again, so none are left waiting);
- fetches with check_crcs=True; on a CRC failure its position on that partition stays on the bad batch (so the
  committed offset does too), it logs the error, pauses that partition and keeps consuming the others.

What kafka-python 3.0.12 does on a CRC failure, found on the lab (see lab/README.md): poll() raises
CorruptRecordError whose message alone names the partition and the batch's base offset ("Record batch for
partition TopicPartition(topic='t', partition=1) at offset 20 failed crc check"); records of other partitions
fetched before it are returned by that poll() or left buffered for the next one, none is lost. But the failed
partition's buffered fetch stays in the fetcher, and the next poll() spins at 100% CPU on it while the partition
is fetchable at that position (also after a revoke and reassignment that lands on the same position). So the
consumer drops that buffer at once (`_discard_failed_fetch`). And a partition revoked and assigned again in one
rebalance keeps its paused flag in kafka-python, so the consumer resumes what it is assigned: the partition is
fetched afresh and fails again, the way a Java consumer re-detects it.

Run by `<lab root>/app1/bin/consumer-start.sh <group>` (through lab/run_consumer.py) as
`python modern_consumer.py --config <json>`; needs kafka-python (the repository's venv). Every consumed record is
appended to the output file as `topic partition offset key`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import threading
import time

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import CorruptRecordError, KafkaError
from kafka.structs import OffsetAndMetadata

LOG = logging.getLogger("modern_consumer")
FAILED_PARTITION = re.compile(r"partition=(\d+)\) at offset (\d+)")
FAILED_TOPIC = re.compile(r"TopicPartition\(topic='([^']*)'")
CLOSE_TIMEOUT_MS = 10000
# Without partitions this long while subscribed, the client is taken to be lost after a coordinator move.
NO_ASSIGNMENT_SECONDS = 15


def failed_partition(error: Exception) -> tuple[TopicPartition, int] | None:
    """(partition, offset) that a kafka-python CorruptRecordError names, None when its text names none."""
    text = str(error)
    topic, partition = FAILED_TOPIC.search(text), FAILED_PARTITION.search(text)
    if not topic or not partition:
        return None
    return TopicPartition(topic.group(1), int(partition.group(1))), int(partition.group(2))


class Rebalance(ConsumerRebalanceListener):
    def __init__(self, owner: "ModernConsumer") -> None:
        self.owner = owner

    def on_partitions_revoked(self, revoked) -> None:
        self.owner.revoked(set(revoked))

    def on_partitions_assigned(self, assigned) -> None:
        self.owner.assigned(set(assigned))


class ModernConsumer:
    def __init__(self, config: dict) -> None:
        self.config = config
        self.group = config["group"]
        self.stopping = threading.Event()
        self.consumer = self._new_client()
        self.assignment: set[TopicPartition] = set()
        self.committed: dict[TopicPartition, int] = {}
        self.stuck: dict[TopicPartition, str] = {}
        self.registered = False
        self.unassigned_since = time.monotonic()

    def _new_client(self) -> KafkaConsumer:
        return KafkaConsumer(
            bootstrap_servers=self.config["bootstrap_servers"], group_id=self.group,
            client_id=self.config["client_id"], enable_auto_commit=False, check_crcs=True,
            auto_offset_reset="earliest", fetch_max_wait_ms=200, max_poll_records=500,
        )

    def _subscribe(self) -> None:
        # A group joined before the client knows the topics' partitions gets nothing assigned ("No partition
        # metadata for topic"), and kafka-python 3.0.12 does not always rejoin when the metadata arrives.
        deadline = time.monotonic() + 30
        while (any(not self.consumer.partitions_for_topic(topic) for topic in self.config["topics"])
               and time.monotonic() < deadline and not self.stopping.is_set()):
            time.sleep(0.2)
        self.consumer.subscribe(self.config["topics"], listener=Rebalance(self))
        self.unassigned_since = time.monotonic()

    def _rejoin_when_left_without_partitions(self) -> None:
        """kafka-python 3.0.12 can be left without partitions after its group coordinator moves (a broker restart,
        a leader rebalance): revoked, never assigned again, then evicted. A supervised application would be
        restarted; this one starts a fresh client, from the offsets it committed."""
        if self.assignment:
            self.unassigned_since = time.monotonic()
            return
        if time.monotonic() - self.unassigned_since < NO_ASSIGNMENT_SECONDS:
            return
        LOG.warning("no partition assigned for %d s: leaving the group and joining again with a fresh client",
                    NO_ASSIGNMENT_SECONDS)
        self.consumer.close(autocommit=False, timeout_ms=CLOSE_TIMEOUT_MS)
        self.committed, self.stuck = {}, {}
        self.consumer = self._new_client()
        self._subscribe()

    # -- rebalances: forget what a partition's next owner (maybe this consumer again) has to re-detect
    def revoked(self, revoked: set[TopicPartition]) -> None:
        for tp in revoked:
            self.committed.pop(tp, None)
            self.stuck.pop(tp, None)
        self.assignment -= revoked
        LOG.info("partitions revoked: %s", _names(revoked))

    def assigned(self, assigned: set[TopicPartition]) -> None:
        # kafka-python keeps the paused flag of a partition revoked and assigned again in one rebalance; a Java
        # consumer starts every assignment unpaused, so the partition is fetched afresh and its damage re-detected.
        paused = set(self.consumer.paused()) & assigned
        if paused:
            self.consumer.resume(*paused)
        self.assignment |= assigned
        # Registered once it owns partitions: the first assignment can be empty while the topic's metadata is new.
        self.registered = self.registered or bool(assigned)
        LOG.info("partitions assigned: %s", _names(assigned))
        self._write_state()

    def _positions(self, partitions: set[TopicPartition]) -> dict[TopicPartition, int]:
        positions = {}
        for tp in partitions:
            try:
                positions[tp] = self.consumer.position(tp, timeout_ms=5000)
            except KafkaError as error:
                LOG.warning("no position for %s partition=%d: %s", tp.topic, tp.partition, error)
        return positions

    def commit(self) -> None:
        """Commit the position of every assigned partition that moved since its last commit."""
        positions = self._positions(self.assignment)
        changed = {tp: offset for tp, offset in positions.items() if self.committed.get(tp) != offset}
        if changed:
            try:
                self.consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in changed.items()})
                self.committed.update(changed)
            except KafkaError as error:
                LOG.warning("commit failed, retrying next time: %s", error)
        self._write_state(positions)

    def _write_state(self, positions: dict[TopicPartition, int] | None = None) -> None:
        positions = positions or {}
        state = {
            "kind": "modern", "consumer_id": self.config["client_id"], "pid": os.getpid(),
            "registered": self.registered, "updated": time.time(),
            "partitions": {f"{tp.topic}/{tp.partition}": {
                "position": positions.get(tp, self.committed.get(tp)), "committed": self.committed.get(tp),
                "stuck": tp in self.stuck, "last_error": self.stuck.get(tp)} for tp in sorted(self.assignment)},
        }
        path = self.config["state_file"]
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(state, handle)
        os.replace(path + ".tmp", path)

    def run(self) -> None:
        self._subscribe()
        self._write_state()
        interval = float(self.config.get("commit_interval_seconds", 1.0))
        next_commit = time.monotonic() + interval
        with open(self.config["output_file"], "a", encoding="utf-8") as output:
            while not self.stopping.is_set():
                self._poll(output)
                if time.monotonic() >= next_commit:
                    self.commit()
                    self._rejoin_when_left_without_partitions()
                    next_commit = time.monotonic() + interval

    def _poll(self, output) -> None:
        try:
            batches = self.consumer.poll(timeout_ms=200, max_records=500)
        except CorruptRecordError as error:
            self._stuck_on(error)
            return
        except KafkaError as error:
            LOG.warning("poll failed, retrying: %s", error)
            self.stopping.wait(0.5)
            return
        lines = [f"{r.topic} {r.partition} {r.offset} {r.key.decode() if r.key else ''}\n"
                 for records in batches.values() for r in records]
        if lines:
            output.write("".join(lines))
            output.flush()
            self.commit()

    def _stuck_on(self, error: CorruptRecordError) -> None:
        named = failed_partition(error)
        tp = named[0] if named else self._discard_failed_fetch()
        if named:
            self._discard_failed_fetch()
        if tp is None:
            LOG.error("CRC check failed on a partition the error does not name, retrying: %s", error)
            self.stopping.wait(0.5)
            return
        offset = self._positions({tp}).get(tp)
        LOG.error("CRC check failed, not consuming this partition any more: topic=%s partition=%d offset=%s: %s",
                  tp.topic, tp.partition, offset, error)
        self.stuck[tp] = str(error)
        # A Java application that catches the exception and pauses the partition: its position stays on the bad
        # batch, and so does every later commit of it.
        self.consumer.pause(tp)
        self.commit()

    def _discard_failed_fetch(self) -> TopicPartition | None:
        """Drop the failed partition's buffered fetch, which kafka-python 3.0.12 keeps after raising and then
        spins on in the next poll(); returns its partition. Private fetcher state: checked, never assumed."""
        fetcher = getattr(self.consumer, "_fetcher", None)
        buffered = getattr(fetcher, "_next_partition_records", None)
        if buffered is None or not hasattr(buffered, "drain"):
            return None
        buffered.drain()
        return buffered.topic_partition

    def shutdown(self) -> None:
        """Commit, then close(), which leaves the group so its partitions move on at once."""
        try:
            self.commit()
        finally:
            self.registered = False
            self.consumer.close(autocommit=False, timeout_ms=CLOSE_TIMEOUT_MS)
            self.assignment = set()
            self._write_state()
            LOG.info("consumer %s of group %s shut down", self.config["client_id"], self.group)


def _names(partitions: set[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}/{tp.partition}" for tp in sorted(partitions)) or "none"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the group's JSON config written by lab consumer configure")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    with open(args.config, encoding="utf-8") as handle:
        config = json.load(handle)
    consumer = ModernConsumer(config)
    signal.signal(signal.SIGTERM, lambda *_: consumer.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: consumer.stopping.set())
    try:
        consumer.run()
    finally:
        consumer.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
