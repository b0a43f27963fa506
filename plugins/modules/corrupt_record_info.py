#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: corrupt_record_info
short_description: Find corrupt records in a Kafka broker's on-disk log
version_added: 1.0.0
description:
  - Reads the log segments of one topic's partitions on the broker host it runs on and reports every damaged
    entry, at which offsets it sits and the first offset after it that a consumer can read.
  - Reads message formats v0 and v1 (CRC-32 per message, compressed wrappers) and v2 record batches
    (CRC-32C per batch), also mixed in one segment.
  - Damaged framing (a corrupt length field or header) does not end the scan. When only the size field was hit,
    the entry's real end is read from its contents; otherwise the scan resynchronises on the next entry that
    frames and validates, using every entry of the segment's C(.index) and the next segment's base offset.
  - An entry's offset field lies outside every checksum, so offsets are decided from the valid entries on both
    sides; an entry whose offset breaks the sequence is reported, and the entries around it stay readable.
    Damage covers exactly the offsets between the valid entries around it. The guide
    R(The corrupt-record scanner,ansible_collections.kafka_ops.remediation.docsite.scanner)
    (C(docs/docsite/rst/scanner.rst) in the collection) says what the scanner can and cannot know.
  - A partial entry at the end of a partition's newest segment (a crash mid-write) is reported in
    RV(torn_tails), not as a corrupt record.
  - Read-only and safe on a live broker; no locks, constant memory whatever the segment size, and the active
    segment is read only up to the size it had when the scan began.
  - Runs with the Python standard library alone. A C CRC-32C (the C(crc32c) or C(google-crc32c) package) is
    used when importable, else a pure-Python one that gives the same answers more slowly.
author:
  - Kafka Ops maintainers (@kafka-ops)
extends_documentation_fragment:
  - kafka_ops.remediation.attributes
  - kafka_ops.remediation.attributes.read_only
options:
  log_dirs:
    description:
      - The broker's log directories (its C(log.dirs)).
      - Mutually exclusive with O(server_properties). One of them is required with O(topic).
    type: list
    elements: path
  server_properties:
    description:
      - Path of the broker's C(server.properties); C(log.dirs) (or C(log.dir)) is read from it.
    type: path
  topic:
    description:
      - Topic whose partition directories C(<log dir>/<topic>-<partition>) are scanned.
      - Mutually exclusive with O(paths); one of them is required.
    type: str
  partitions:
    description:
      - Partitions to scan; all of the topic's partitions on this broker when omitted.
    type: list
    elements: int
  paths:
    description:
      - Explicit partition directories or C(.log) segment files to scan instead of O(topic).
    type: list
    elements: path
  start_offset:
    description:
      - Offset to start at in every partition, for example the consumer group's committed offset.
      - The C(.index) is used to seek there instead of reading the partition from its first segment;
        damage wholly before this offset is not reported.
    type: int
  start_offsets:
    description:
      - Per-partition start offsets (partition number to offset); they override O(start_offset).
    type: dict
  mode:
    description:
      - V(first) stops in each partition at the first damage (once the next readable offset is known).
      - V(all) scans every segment to its end.
      - V(at_start) reads only up to the entry holding the start offset, the one a consumer at that offset
        fetches next (one entry further when nothing before it confirms its offsets), and follows damage found
        there to the next readable offset. It is the cheap way to tell whether
        a consumer is held by damage where it sits, even on a partition with a large lag.
    type: str
    choices: [first, all, at_start]
    default: first
  digest_offsets:
    description:
      - Offsets whose entry to fingerprint on each replica of the partition this broker holds (partition number
        to a list of offsets), returned in RV(digests). Replicas store the same batches byte for byte, so equal
        digests show that an intact replica holds exactly the records another replica lost.
      - Each entry is found from the C(.index) entry at or below its offset and a short read forward (without a
        C(.index), a walk over the entries' framing in the one segment holding the offset), whatever O(mode),
        O(start_offset) and O(start_offsets) say; no partition is read in full.
      - A partition listed here must be one of O(partitions) when O(partitions) is given.
    type: dict
  capture_bytes:
    description:
      - Keep the first O(capture_bytes) bytes of every damaged entry in RV(corrupt_records[].captured), with
        their SHA-256, as evidence before a repair deletes the damaged copy.
      - V(0) keeps nothing.
    type: int
    default: 0
  include_metadata_log:
    description:
      - Also scan KRaft's metadata log C(__cluster_metadata-0) (in C(metadata.log.dir), by default the first log
        dir) when O(topic) or O(paths) name it.
      - By default it is skipped with a warning, since it is the controller quorum's own log, not a partition a
        consumer reads.
    type: bool
    default: false
requirements:
  - Python 3 standard library on the broker host (a C CRC-32C package is optional).
notes:
  - Agrees with Kafka's C(kafka-dump-log.sh) (C(kafka.tools.DumpLogSegments)) on which batches are invalid;
    RV(lines) uses its wording. C(DumpLogSegments) stops at damaged framing; this module carries on.
seealso:
  - module: kafka_ops.remediation.consumer_offset
  - module: kafka_ops.remediation.consumer_offset_info
"""

EXAMPLES = r"""
- name: Find corrupt records of orders-3 on every replica, from the group's committed offset
  kafka_ops.remediation.corrupt_record_info:
    server_properties: /etc/kafka/server.properties
    topic: orders
    partitions: [3]
    start_offset: 1843411
  register: orders_scan

- name: Scan two partitions completely, each from its own committed offset
  kafka_ops.remediation.corrupt_record_info:
    log_dirs: [/var/lib/kafka/data]
    topic: orders
    start_offsets:
      0: 1200
      3: 1843411
    mode: all

- name: Keep the damaged bytes and fingerprint the entry holding offset 1843411 on every replica of orders-3
  kafka_ops.remediation.corrupt_record_info:
    server_properties: /etc/kafka/server.properties
    topic: orders
    partitions: [3]
    start_offset: 1843411
    mode: all
    digest_offsets:
      3: [1843411]
    capture_bytes: 1048576
  register: orders_evidence

- name: Check one segment file
  kafka_ops.remediation.corrupt_record_info:
    paths:
      - /var/lib/kafka/data/orders-3/00000000000001800000.log
    mode: all
"""

RETURN = r"""
corrupt_records:
  description: Every damaged entry found, in log order per partition.
  returned: always
  type: list
  elements: dict
  contains:
    topic:
      description: "Topic."
      type: str
    partition:
      description: "Partition number."
      type: int
    broker_id:
      description: >-
        Broker id from the log dir's C(meta.properties) (C(broker.id), or C(node.id) on KRaft); null when it
        has none.
      type: int
    segment:
      description: "Path of the segment file."
      type: str
    position:
      description: "Byte position of the damaged entry (or span) in the segment."
      type: int
    length:
      description: "Bytes the damaged entry or span occupies."
      type: int
    magic:
      description: "Magic byte found at the entry; a value other than 0, 1 or 2 is itself damage."
      type: int
    first_offset:
      description:
        - "First offset the damage covers: the one after the previous valid entry; null when it covers none."
      type: int
    last_offset:
      description:
        - "Last offset the damage covers: the one before RV(corrupt_records[].next_valid_offset); null when no
          valid entry follows and the damage's own header cannot tell."
      type: int
    next_valid_offset:
      description: "First offset after the damage that a consumer can read; null when no valid entry follows."
      type: int
    reason:
      description: "V(crc_mismatch), V(bad_framing), V(invalid_magic) or V(offset_out_of_order)."
      type: str
    stored_crc:
      description: "Checksum stored in the entry; null when it could not be read."
      type: int
    computed_crc:
      description: "Checksum computed over the entry; null when not computed."
      type: int
    captured:
      description:
        - "Base64 of the first min(RV(corrupt_records[].length), O(capture_bytes)) bytes of the damaged entry."
      returned: when O(capture_bytes) is more than 0
      type: str
    sha256:
      description: "Hex SHA-256 of exactly the captured bytes."
      returned: when O(capture_bytes) is more than 0
      type: str
    truncated:
      description: "Whether the entry is longer than O(capture_bytes), so that only its start was captured."
      returned: when O(capture_bytes) is more than 0
      type: bool
  sample:
    - {topic: orders, partition: 3, broker_id: 2, segment: /var/lib/kafka/data/orders-3/00000000000000000000.log,
       position: 4172, length: 1095, magic: 2, first_offset: 40, last_offset: 49, next_valid_offset: 50,
       reason: crc_mismatch, stored_crc: 1071005051, computed_crc: 2593632005}
digests:
  description:
    - One element per offset of O(digest_offsets) per replica of its partition on this broker, in partition
      then offset order; empty without O(digest_offsets).
    - Compare them across brokers. An intact replica's entry is valid and has the same RV(digests[].sha256) as
      every other intact replica's (not on compacted topics, whose replicas are cleaned each on its own).
  returned: always
  type: list
  elements: dict
  contains:
    topic:
      description: "Topic."
      type: str
    partition:
      description: "Partition number."
      type: int
    broker_id:
      description: >-
        Broker id from the log dir's C(meta.properties) (C(broker.id), or C(node.id) on KRaft); null when it
        has none.
      type: int
    offset:
      description: "The offset asked for."
      type: int
    base_offset:
      description:
        - "First offset of the entry holding RV(digests[].offset): a v2 batch's baseOffset, a v0/v1 wrapper's
          first inner offset. For a damaged entry, the first offset the damage covers, as in
          RV(corrupt_records[].first_offset). Null when no entry holds the offset or it cannot be told."
      type: int
    last_offset:
      description: "Last offset of that entry (or of the damage); null when no entry holds the offset."
      type: int
    segment:
      description: "Path of the segment file holding the entry; null when no entry holds the offset."
      type: str
    position:
      description: "Byte position of the entry in the segment; null when no entry holds the offset."
      type: int
    length:
      description:
        - "Bytes of the whole entry, its 12-byte offset and size header included (for damaged framing, of the
          damaged span); null when no entry holds the offset."
      type: int
    sha256:
      description: "Hex SHA-256 of exactly those bytes; null when no entry holds the offset."
      type: str
    valid:
      description: "Whether the entry's checksum matches and its framing and offsets fit with its neighbours'."
      type: bool
    reason:
      description:
        - "Null for a valid entry. For a damaged one the RV(corrupt_records[].reason) of its damage:
          V(crc_mismatch), V(bad_framing), V(invalid_magic) or V(offset_out_of_order)."
        - "When no entry holds the offset: V(below_log_start) (below the oldest segment on this replica),
          V(above_log_end) (at or beyond the log end offset, or in a torn tail) or V(not_in_log) (valid entries
          on both sides and none holds it, as compaction leaves it)."
      type: str
  sample:
    - {topic: orders, partition: 3, broker_id: 2, offset: 1843411, base_offset: 1843410, last_offset: 1843419,
       segment: /var/lib/kafka/data/orders-3/00000000000001800000.log, position: 4172, length: 1095,
       sha256: 4ee53bf8406c2ea72e52bdfbb3ca7c671e9be3a4f8e5571853731d772a37623f, valid: true, reason: null}
torn_tails:
  description: Partial entries at the end of a partition's newest segment (a crash mid-write, not corruption).
  returned: always
  type: list
  elements: dict
  sample:
    - {topic: orders, partition: 3, broker_id: 2, segment: /var/lib/kafka/data/orders-3/00000000000000000000.log,
       position: 9120, length: 37, last_valid_offset: 99, declared_size: 1083}
partitions:
  description: One summary per scanned partition directory, so replicas can be compared.
  returned: always
  type: list
  elements: dict
  sample:
    - {topic: orders, partition: 3, broker_id: 2, log_dir: /var/lib/kafka/data, scanned_from: 0,
       first_damaged_offset: 40, next_valid_offset: 50, clean: false, log_end_offset: 100}
scanned:
  description: Segments and bytes read, and seconds spent.
  returned: always
  type: dict
  sample: {segments: 3, bytes: 3221225472, seconds: 1.92}
lines:
  description: >-
    C(kafka-dump-log.sh)-style lines for the damaged entries, each segment introduced by C(Dumping <path>).
  returned: always
  type: list
  elements: str
  sample:
    - "Dumping /var/lib/kafka/data/orders-3/00000000000000000000.log"
    - "baseOffset: 40 lastOffset: 49 count: 10 ... position: 4172 CreateTime: 1700000000009 size: 1095 magic: 2
      compresscodec: none crc: 1071005051 isvalid: false"
crc32c_implementation:
  description: Which CRC-32C was used, V(crc32c), V(google_crc32c) (both C) or V(python).
  returned: always
  type: str
  sample: crc32c
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.entry_evidence import (
    capture_damaged, offset_digests, parse_digest_offsets)
from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format.log_dir_scan import (
    ScanError, log_dirs_from_server_properties, scan, targets_for_paths, targets_for_topic, without_metadata_log)


def argument_spec() -> dict:
    return dict(
        log_dirs=dict(type="list", elements="path"),
        server_properties=dict(type="path"),
        topic=dict(type="str"),
        partitions=dict(type="list", elements="int"),
        paths=dict(type="list", elements="path"),
        start_offset=dict(type="int"),
        start_offsets=dict(type="dict"),
        mode=dict(type="str", choices=["first", "all", "at_start"], default="first"),
        digest_offsets=dict(type="dict"),
        capture_bytes=dict(type="int", default=0),
        include_metadata_log=dict(type="bool", default=False),
    )


def _start_offsets(raw: dict | None) -> dict:
    offsets = {}
    for partition, offset in (raw or {}).items():
        try:
            offsets[int(partition)] = int(offset)
        except (TypeError, ValueError) as error:
            raise ScanError("start_offsets entry %r: %r is not partition number -> offset" % (partition, offset)) \
                from error
    return offsets


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[("topic", "paths"), ("log_dirs", "server_properties")],
        required_one_of=[("topic", "paths")],
        supports_check_mode=True,
    )
    params = module.params
    try:
        digest_offsets = parse_digest_offsets(params["digest_offsets"])
        if params["capture_bytes"] < 0:
            raise ScanError("capture_bytes must be 0 (capture nothing) or a number of bytes, got %d"
                            % params["capture_bytes"])
        excluded = sorted(set(digest_offsets) - set(params["partitions"] or digest_offsets))
        if excluded:
            raise ScanError("digest_offsets names partition(s) %s, which partitions leaves out: add them to "
                            "partitions" % ", ".join(str(number) for number in excluded))
        if params["paths"]:
            targets = targets_for_paths(params["paths"])
        else:
            if params["log_dirs"]:
                log_dirs = params["log_dirs"]
            elif params["server_properties"]:
                log_dirs = log_dirs_from_server_properties(params["server_properties"])
            else:
                raise ScanError("topic '%s' needs log_dirs or server_properties to find its partitions"
                                % params["topic"])
            targets = targets_for_topic(log_dirs, params["topic"], params["partitions"])
            if not targets:
                module.warn("no partition of topic '%s' in %s on this host" % (params["topic"], ", ".join(log_dirs)))
        if not params["include_metadata_log"]:
            targets, skipped = without_metadata_log(targets)
            if skipped:
                module.warn("skipped KRaft's metadata log %s: pass include_metadata_log=true to scan it"
                            % ", ".join(skipped))
        result = scan(targets, _start_offsets(params["start_offsets"]), params["start_offset"], params["mode"])
        if params["capture_bytes"]:
            capture_damaged(result["corrupt_records"], params["capture_bytes"])
        result["digests"] = offset_digests(targets, digest_offsets)
    except ScanError as error:
        module.fail_json(msg=str(error))
    except OSError as error:
        module.fail_json(msg="cannot read '%s': %s" % (error.filename, error.strerror))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
