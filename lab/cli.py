# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`python -m lab <command>`: argument parsing only; errors end as one line on stderr and exit 1."""

from __future__ import annotations

import argparse
import json
import sys
import time


def _parser() -> argparse.ArgumentParser:
    from lab import layout

    parser = argparse.ArgumentParser(prog="python -m lab", description="A real Kafka lab: 3.9.1 in ZooKeeper mode, or "
                                     "4.4.0 in KRaft mode (up --metadata kraft), or 3.9.1 in KRaft mode "
                                     "(up --metadata kraft --kafka 3.9.1).")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fetch", help="resolve Kafka's jars with mvn into the cache").add_argument(
        "--force", action="store_true", help="fetch again even when the cache is complete")
    up = commands.add_parser("up", help="start sshd on every lab host, ZooKeeper (or three controllers) and three "
                             "brokers")
    up.add_argument("--metadata", choices=list(layout.METADATA_MODES), default=layout.ZOOKEEPER,
                    help=f"zookeeper: Kafka {layout.kafka_version(layout.ZOOKEEPER)} with zk1 (the default); kraft: "
                         f"Kafka {layout.kafka_version(layout.KRAFT)} with controller1-3")
    up.add_argument("--kafka", choices=list(layout.kafka_versions(layout.KRAFT)),
                    help="the Kafka version (default: the mode's); kraft runs "
                         f"{' or '.join(layout.kafka_versions(layout.KRAFT))}, zookeeper "
                         f"{' '.join(layout.kafka_versions(layout.ZOOKEEPER))} only; every later lab command follows it")
    commands.add_parser("down", help="stop everything the lab started")
    commands.add_parser("status", help="brokers, controller, under-replicated partitions, consumers").add_argument(
        "--json", action="store_true")
    commands.add_parser("demo", help="reproduce a consumer stuck on a corrupt record")

    topic = commands.add_parser("topic", help="topic commands").add_subparsers(dest="action", required=True)
    create = topic.add_parser("create")
    create.add_argument("--topic", required=True)
    create.add_argument("--partitions", type=int, default=3)
    create.add_argument("--replication", type=int, default=3)
    delete = topic.add_parser("delete")
    delete.add_argument("--topic", required=True)

    produce = commands.add_parser("produce", help="produce records with keys key-<i>")
    produce.add_argument("--topic", required=True)
    produce.add_argument("--count", type=int, required=True)
    produce.add_argument("--partitions", type=int, default=3)
    produce.add_argument("--records-per-batch", type=int, default=1)

    consumer = commands.add_parser("consumer", help="app1's consumers: legacy (ZooKeeper offsets) or modern (Kafka)")
    consumer.add_argument("action", choices=["configure", "start", "stop", "status"])
    consumer.add_argument("--group", required=True)
    consumer.add_argument("--topic", action="append", help="topic to consume (configure; repeatable)")
    consumer.add_argument("--kind", choices=["legacy", "modern"], default="legacy",
                          help="with --topic: a legacy ZooKeeper-offset consumer or a modern Kafka group member")
    consumer.add_argument("--dual-commit", action="store_true",
                          help="with --topic, legacy only: commit to ZooKeeper and Kafka (dual.commit.enabled)")
    consumer.add_argument("--json", action="store_true")

    corrupt = commands.add_parser("corrupt", help="flip one bit in the batch holding an offset")
    corrupt.add_argument("--topic", required=True)
    corrupt.add_argument("--partition", type=int, required=True)
    corrupt.add_argument("--offset", type=int, required=True)
    corrupt.add_argument("--replicas", choices=["all", "leader", "follower"], default="all")

    commands.add_parser("dump-log", help="Kafka's DumpLogSegments on one segment").add_argument("segment")
    tool = commands.add_parser("tool", help="run any Kafka tool class from the lab's jars")
    tool.add_argument("main_class")
    tool.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def run(args: argparse.Namespace) -> int:
    from lab import cluster, consumer, layout, topics

    if args.command == "fetch":
        from lab.fetch import fetch_all

        print("Kafka jars in " + " and ".join(str(cache) for cache in fetch_all(force=args.force)))
    elif args.command == "up":
        started = time.monotonic()
        result = cluster.up(args.metadata, args.kafka)
        what = ", ".join(result["started"]) or "nothing, all was running"
        phases = ", ".join(f"{name} {seconds} s" for name, seconds in result["phases"].items())
        print(f"lab up ({args.metadata}, Kafka {result['kafka']}) in {time.monotonic() - started:.1f} s ({phases}; started: {what}); "
              f"try: ssh -i {layout.lab_key()} -p {layout.SSH_PORT} root@{layout.BROKERS[1]}")
    elif args.command == "down":
        stopped = cluster.down()
        print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    elif args.command == "status":
        current = cluster.status()
        print(json.dumps(current, indent=2) if args.json else cluster.format_status(current))
    elif args.command == "demo":
        from lab import demo

        demo.run()
    elif args.command == "topic":
        if args.action == "create":
            created = topics.create_topic(args.topic, args.partitions, args.replication)
            print(f"topic {args.topic} {'created' if created else 'exists'}")
        else:
            topics.delete_topic(args.topic)
            print(f"topic {args.topic} deleted")
    elif args.command == "produce":
        written = topics.produce(args.topic, args.count, args.partitions, args.records_per_batch)
        print(f"produced {args.count} records to {args.topic}: "
              + ", ".join(f"partition {p} offsets {min(o)}-{max(o)}" for p, o in sorted(written.items())))
    elif args.command == "consumer":
        return _consumer(args, consumer)
    elif args.command == "corrupt":
        from lab import corrupt

        result = corrupt.corrupt(args.topic, args.partition, args.offset, args.replicas)
        print(corrupt.format_result(result))
    elif args.command == "dump-log":
        print(topics.dump_log(args.segment), end="")
    elif args.command == "tool":
        result = topics.run_tool(args.main_class, *args.args)
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        return result.returncode
    return 0


def _consumer(args: argparse.Namespace, consumer) -> int:
    if args.action == "configure":
        if not args.topic:
            raise SystemExit("consumer configure needs --topic")
        print(f"wrote {consumer.configure(args.group, args.topic, args.kind, args.dual_commit)}")
    elif args.action == "start":
        if args.topic:
            consumer.configure(args.group, args.topic, args.kind, args.dual_commit)
        print(consumer.start(args.group))
        consumer.wait_registered(args.group)
    elif args.action == "stop":
        print(consumer.stop(args.group))
    else:
        current = consumer.status(args.group)
        print(json.dumps(current, indent=2) if args.json else consumer.format_status(current))
    return 0


def main(argv: list[str] | None = None) -> int:
    from lab.errors import LabError

    args = _parser().parse_args(argv)
    try:
        return run(args)
    except LabError as error:
        print(f"lab {args.command}: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into head or less that exited early
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"lab {args.command}: interrupted", file=sys.stderr)
        return 130
