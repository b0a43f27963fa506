# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A stand-in for Kafka's old ZooKeeper-based high-level consumer, as the lab's app1 runs it.

It behaves the way ZookeeperConsumerConnector did where the collection cares:
- registers `/consumers/<g>/ids/<consumerId>` (ephemeral, JSON subscription) and owns each partition with an
  ephemeral `/consumers/<g>/owners/<topic>/<partition>` = `<consumerId>-0`;
- reads its start offsets from `/consumers/<g>/offsets/<topic>/<partition>` once, at start (no offset: earliest);
- commits the next offset to read as decimal text every second and on shutdown (SIGTERM);
- with `dual_commit` (the old consumer's offsets.storage=kafka plus dual.commit.enabled=true) every commit also
  goes to Kafka, as an OffsetCommit of generation -1 and no member (KafkaAdminClient.alter_group_offsets, which is
  what the old consumer's commit looked like), and at start it reads both stores and takes the larger offset;
- fetches with kafka-python and check_crcs=True; on a CRC failure it logs the client's error, keeps the stored
  offset on the bad record and stops consuming that partition, continuing with the others.

One KafkaConsumer per partition: kafka-python raises CorruptRecordError from poll() for the whole consumer, so a
consumer of its own keeps one damaged partition from stopping the rest.

Run by `<lab root>/app1/bin/consumer-start.sh <group>` as `python legacy_consumer.py --config <json>`; needs
kafka-python and kazoo (the repository's venv). Every consumed record is appended to the output file as
`topic partition offset key`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
import time
import uuid

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import CorruptRecordError, KafkaError, NoError
from kafka.structs import OffsetAndMetadata
from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError, NoNodeError

LOG = logging.getLogger("legacy_consumer")
OWNER_WAIT = 30.0  # a crashed predecessor's ephemeral owner nodes vanish when its session expires


class PartitionReader:
    """One partition, its own KafkaConsumer and the next offset to read."""

    def __init__(self, topic: str, partition: int, bootstrap: list[str], client_id: str) -> None:
        self.topic = topic
        self.partition = partition
        self.tp = TopicPartition(topic, partition)
        self.position: int | None = None
        self.committed: int | None = None
        self.stuck = False
        self.last_error: str | None = None
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, client_id=client_id, group_id=None, enable_auto_commit=False,
            check_crcs=True, auto_offset_reset="earliest", fetch_max_wait_ms=200, max_poll_records=500,
        )
        self.consumer.assign([self.tp])

    @property
    def key(self) -> str:
        return f"{self.topic}/{self.partition}"

    def start_at(self, offset: int | None) -> None:
        if offset is None:
            self.consumer.seek_to_beginning(self.tp)
            self.position = self.consumer.position(self.tp)
        else:
            self.consumer.seek(self.tp, offset)
            self.position = offset

    def poll(self) -> list:
        records = self.consumer.poll(timeout_ms=100, max_records=500).get(self.tp, [])
        if records:
            self.position = records[-1].offset + 1
        return records

    def close(self) -> None:
        self.consumer.close(autocommit=False)


class LegacyConsumer:
    def __init__(self, config: dict) -> None:
        self.config = config
        self.group = config["group"]
        self.stopping = threading.Event()
        host = config.get("client_host") or os.uname().nodename
        self.consumer_id = f"{self.group}_{host}-{int(time.time() * 1000)}-{uuid.uuid4().hex[:8]}"
        self.zk = KazooClient(hosts=config["zk_hosts"] + config.get("zk_chroot", ""), timeout=6.0)
        self.readers: list[PartitionReader] = []
        self.owned: list[str] = []
        self.registered = False
        self.dual_commit = bool(config.get("dual_commit"))
        self.admin = None

    # -- ZooKeeper paths of the old consumer
    def _group_path(self, *parts: object) -> str:
        return "/".join([f"/consumers/{self.group}", *(str(part) for part in parts)])

    def _partitions(self, topic: str) -> list[int]:
        data = self.zk.get(f"/brokers/topics/{topic}")[0]
        return sorted(int(p) for p in json.loads(data)["partitions"])

    def _read_offset(self, topic: str, partition: int) -> int | None:
        try:
            data = self.zk.get(self._group_path("offsets", topic, partition))[0]
        except NoNodeError:
            return None
        return int(data.decode().strip())

    def _kafka_offsets(self) -> dict[TopicPartition, int]:
        """The group's offsets in Kafka (dual commit only): the old consumer read them next to ZooKeeper's."""
        deadline = time.monotonic() + 30
        while True:
            try:
                found = self.admin.list_group_offsets({self.group: None}).get(self.group, {})
                return {tp: meta.offset for tp, meta in found.items() if meta.offset >= 0}
            except KafkaError as error:
                # The coordinator moves or loads after a broker restart: ask again through a fresh client.
                if time.monotonic() > deadline:
                    raise
                LOG.warning("Kafka's offsets not readable yet, retrying: %s", error)
                self.admin.close()
                self.admin = self._new_admin()
                time.sleep(0.5)

    def _new_admin(self):
        from kafka.admin import KafkaAdminClient

        return KafkaAdminClient(bootstrap_servers=self.config["bootstrap_servers"], client_id=self.consumer_id,
                                request_timeout_ms=30000)

    def register(self) -> None:
        self.zk.start(timeout=15)
        kafka_offsets = {}
        if self.dual_commit:
            self.admin = self._new_admin()
            kafka_offsets = self._kafka_offsets()
        subscription = {topic: 1 for topic in self.config["topics"]}
        registration = {"version": 1, "subscription": subscription, "pattern": "static",
                        "timestamp": str(int(time.time() * 1000))}
        self.zk.create(self._group_path("ids", self.consumer_id), json.dumps(registration).encode(),
                       ephemeral=True, makepath=True)
        LOG.info("registered consumer %s", self.consumer_id)
        for topic in self.config["topics"]:
            for partition in self._partitions(topic):
                self._claim(topic, partition)
                reader = PartitionReader(topic, partition, self.config["bootstrap_servers"], self.consumer_id)
                in_zookeeper = self._read_offset(topic, partition)
                in_kafka = kafka_offsets.get(reader.tp)
                found = [offset for offset in (in_zookeeper, in_kafka) if offset is not None]
                stored = max(found) if found else None
                reader.start_at(stored)
                reader.committed = stored if in_zookeeper == in_kafka or not self.dual_commit else None
                LOG.info("%s partition=%d starts at offset %d (%s)", topic, partition, reader.position,
                         f"ZooKeeper {in_zookeeper}, Kafka {in_kafka}" if self.dual_commit
                         else "from ZooKeeper" if stored is not None else "earliest, no stored offset")
                self.readers.append(reader)
        self.registered = True

    def _claim(self, topic: str, partition: int) -> None:
        path = self._group_path("owners", topic, partition)
        deadline = time.monotonic() + OWNER_WAIT
        while True:
            try:
                self.zk.create(path, f"{self.consumer_id}-0".encode(), ephemeral=True, makepath=True)
                self.owned.append(path)
                return
            except NodeExistsError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{path} is still owned by another consumer after {OWNER_WAIT:.0f} s")
                time.sleep(0.5)

    def commit(self) -> None:
        changed = [reader for reader in self.readers
                   if reader.position is not None and reader.position != reader.committed]
        for reader in changed:
            path = self._group_path("offsets", reader.topic, reader.partition)
            value = str(reader.position).encode()
            if self.zk.exists(path):
                self.zk.set(path, value)
            else:
                self.zk.create(path, value, makepath=True)
        if changed and self.admin is not None and not self._commit_to_kafka(changed):
            # ZooKeeper has the offsets; the state says so while Kafka's part is retried.
            self._write_state()
            return
        for reader in changed:
            reader.committed = reader.position
        self._write_state()

    def _commit_to_kafka(self, readers: list[PartitionReader]) -> bool:
        """The dual commit's second write; False (retried at the next commit) when Kafka refused any of it."""
        offsets = {reader.tp: OffsetAndMetadata(reader.position, "", -1) for reader in readers}
        try:
            results = self.admin.alter_group_offsets(self.group, offsets)
        except KafkaError as error:
            LOG.warning("dual commit to Kafka failed, retrying at the next commit: %s", error)
            return False
        failed = {tp: error for tp, error in results.items() if error is not NoError}
        if failed:
            LOG.warning("dual commit to Kafka refused, retrying at the next commit: %s", failed)
            if any(error.__name__ in ("NotCoordinatorError", "CoordinatorNotAvailableError",
                                      "CoordinatorLoadInProgressError") for error in failed.values()):
                # kafka-python remembers the group's coordinator; after it moved, only a fresh client finds it.
                self.admin.close()
                self.admin = self._new_admin()
        return not failed

    def _write_state(self) -> None:
        state = {
            "consumer_id": self.consumer_id, "pid": os.getpid(), "registered": self.registered,
            "updated": time.time(),
            "partitions": {r.key: {"position": r.position, "committed": r.committed, "stuck": r.stuck,
                                   "last_error": r.last_error} for r in self.readers},
        }
        path = self.config["state_file"]
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(state, handle)
        os.replace(path + ".tmp", path)

    def run(self) -> None:
        self.register()
        self._write_state()
        interval = float(self.config.get("commit_interval_seconds", 1.0))
        next_commit = time.monotonic() + interval
        with open(self.config["output_file"], "a", encoding="utf-8") as output:
            while not self.stopping.is_set():
                active = [reader for reader in self.readers if not reader.stuck]
                for reader in active:
                    self._poll_one(reader, output)
                if not active:
                    self.stopping.wait(0.2)
                if time.monotonic() >= next_commit:
                    self.commit()
                    next_commit = time.monotonic() + interval

    def _poll_one(self, reader: PartitionReader, output) -> None:
        try:
            records = reader.poll()
        except CorruptRecordError as error:
            reader.stuck = True
            reader.last_error = str(error)
            LOG.error("CRC check failed, not consuming this partition any more: topic=%s partition=%d offset=%d: %s",
                      reader.topic, reader.partition, reader.position, error)
            # The old consumer's fetcher thread died here; the partition is paused, its offset kept.
            reader.consumer.pause(reader.tp)
            self.commit()
            return
        except KafkaError as error:
            LOG.warning("fetch failed, retrying: topic=%s partition=%d offset=%s: %s", reader.topic,
                        reader.partition, reader.position, error)
            self.stopping.wait(0.5)
            return
        if records:
            output.write("".join(f"{r.topic} {r.partition} {r.offset} {r.key.decode() if r.key else ''}\n"
                                 for r in records))
            output.flush()

    def shutdown(self) -> None:
        """Commit, release ownership and registration, close everything (the old consumer's shutdown)."""
        try:
            if self.zk.connected:
                self.commit()
                for path in [*self.owned, self._group_path("ids", self.consumer_id)]:
                    try:
                        self.zk.delete(path)
                    except NoNodeError:
                        pass
        finally:
            self.registered = False
            for reader in self.readers:
                reader.close()
            if self.admin is not None:
                self.admin.close()
            self.zk.stop()
            self.zk.close()
            LOG.info("consumer %s shut down", self.consumer_id)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the group's JSON config written by lab consumer configure")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("kafka", "kazoo"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with open(args.config, encoding="utf-8") as handle:
        config = json.load(handle)
    consumer = LegacyConsumer(config)
    signal.signal(signal.SIGTERM, lambda *_: consumer.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: consumer.stopping.set())
    try:
        consumer.run()
    finally:
        consumer.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
