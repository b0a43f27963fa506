# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure renderers for the lab's configuration files and service scripts (unit-tested, no side effects)."""

from __future__ import annotations

import base64
import shlex
from pathlib import Path

from lab import layout

ZK_HEAP = "-Xmx128m -Xms64m"
BROKER_HEAP = "-Xmx256m -Xms256m"
# A controller of a three-broker lab holds a few thousand metadata records: 128 MB keeps six JVMs in reach of 2 cores.
CONTROLLER_HEAP = "-Xmx128m -Xms128m"
# Small code cache and metaspace caps keep each JVM's resident size well under half a gigabyte.
JVM_COMMON = (
    "-XX:+UseG1GC -XX:MaxMetaspaceSize=128m -XX:ReservedCodeCacheSize=64m -XX:MaxDirectMemorySize=64m "
    "-XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true"
)
BROKER_STOP_TIMEOUT = 120
ZK_STOP_TIMEOUT = 30
CONSUMER_STOP_TIMEOUT = 30


def properties(values: dict[str, object]) -> str:
    return "".join(f"{key}={value}\n" for key, value in values.items())


def zoo_cfg(root: Path) -> str:
    zk_dir = layout.host_dir("zk1", root)
    return properties({
        "tickTime": 2000,
        "initLimit": 10,
        "syncLimit": 5,
        "dataDir": zk_dir / "data",
        "clientPort": layout.ZK_PORT,
        "clientPortAddress": layout.ZK_ADDRESS,
        "maxClientCnxns": 0,
        "admin.enableServer": "false",
        "4lw.commands.whitelist": "srvr,stat,ruok,mntr",
        # Snapshots of a test cluster are worthless; purge old ones so the data dir stays small.
        "autopurge.snapRetainCount": 3,
        "autopurge.purgeInterval": 1,
    })


def _cluster_settings() -> dict[str, object]:
    """What every broker of the lab is told in either mode: small, replicated three times, strict ISR."""
    return {
        "num.partitions": 3,
        "default.replication.factor": 3,
        "min.insync.replicas": 2,
        "offsets.topic.replication.factor": 3,
        "offsets.topic.num.partitions": 3,
        "transaction.state.log.replication.factor": 3,
        "transaction.state.log.min.isr": 2,
        "controlled.shutdown.enable": "true",
    }


def _broker_tuning() -> dict[str, object]:
    return {
        "unclean.leader.election.enable": "false",
        "group.initial.rebalance.delay.ms": 0,
        # Small segments and a dense index give the scanner several segments to walk with few records.
        "log.segment.bytes": 1048576,
        "log.index.interval.bytes": 4096,
        "log.retention.hours": 168,
        "num.network.threads": 2,
        "num.io.threads": 2,
        "num.replica.fetchers": 1,
        "background.threads": 2,
        "num.recovery.threads.per.data.dir": 1,
    }


def server_properties(root: Path, broker_id: int) -> str:
    """A ZooKeeper-mode broker (Kafka 3.9.1)."""
    address = layout.BROKERS[broker_id]
    return properties({
        "broker.id": broker_id,
        "listeners": f"PLAINTEXT://{address}:{layout.KAFKA_PORT}",
        "advertised.listeners": f"PLAINTEXT://{address}:{layout.KAFKA_PORT}",
        "log.dirs": layout.broker_log_dir(broker_id, root, layout.ZOOKEEPER),
        "zookeeper.connect": f"{layout.ZK_HOSTS}{layout.ZK_CHROOT}",
        # Short session: a killed broker's registration disappears within seconds, as the tests expect.
        "zookeeper.session.timeout.ms": 6000,
        "zookeeper.connection.timeout.ms": 10000,
        **_cluster_settings(),
        # ZooKeeper mode only: a KRaft broker's controlled shutdown is one heartbeat exchange, not retried requests.
        "controlled.shutdown.max.retries": 3,
        "controlled.shutdown.retry.backoff.ms": 1000,
        **_broker_tuning(),
    })


def _kraft_common() -> dict[str, object]:
    """How every KRaft node finds the quorum: the static voters (simplest, and what 3.3+ clusters are formatted
    for; dynamic quorums need 3.9+ and a different format call)."""
    return {
        "controller.quorum.voters": layout.QUORUM_VOTERS,
        "controller.listener.names": "CONTROLLER",
    }


def kraft_broker_properties(root: Path, broker_id: int) -> str:
    """A KRaft-mode broker (Kafka 4.4.0 or 3.9.1, the same config): node.id is the ZooKeeper lab's broker.id, same address and port."""
    address = layout.BROKERS[broker_id]
    return properties({
        "process.roles": "broker",
        "node.id": broker_id,
        **_kraft_common(),
        "listeners": f"PLAINTEXT://{address}:{layout.KAFKA_PORT}",
        "advertised.listeners": f"PLAINTEXT://{address}:{layout.KAFKA_PORT}",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": layout.broker_log_dir(broker_id, root, layout.KRAFT),
        **_cluster_settings(),
        **_broker_tuning(),
    })


def controller_properties(root: Path, node_id: int) -> str:
    """A dedicated KRaft controller (Kafka 4.4.0 or 3.9.1, the same config) on its own lab host."""
    address = layout.CONTROLLERS[node_id]
    return properties({
        "process.roles": "controller",
        "node.id": node_id,
        **_kraft_common(),
        "listeners": f"CONTROLLER://{address}:{layout.CONTROLLER_PORT}",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT",
        "log.dirs": layout.controller_log_dir(node_id, root),
        # As the ZooKeeper lab's 6 s session: a killed broker is fenced within seconds, as the tests expect.
        "broker.session.timeout.ms": 6000,
        "num.network.threads": 1,
        "num.io.threads": 2,
        "background.threads": 2,
    })


def new_cluster_id(random_bytes: bytes) -> str:
    """A KRaft cluster id from 16 random bytes, written as Kafka's Uuid.toString writes one (URL-safe base64 without
    padding). Kafka's own Uuid.randomUuid never hands out an id with a leading '-', which a command line would take
    for an option; the caller draws again then (None)."""
    if len(random_bytes) != 16:
        raise ValueError("a cluster id is 16 bytes")
    text = base64.urlsafe_b64encode(random_bytes).decode().rstrip("=")
    return None if text.startswith("-") else text


def log4j_properties(log_file: Path) -> str:
    return properties({
        "log4j.rootLogger": "INFO, file",
        "log4j.appender.file": "org.apache.log4j.RollingFileAppender",
        "log4j.appender.file.File": log_file,
        "log4j.appender.file.MaxFileSize": "20MB",
        "log4j.appender.file.MaxBackupIndex": 2,
        "log4j.appender.file.layout": "org.apache.log4j.PatternLayout",
        "log4j.appender.file.layout.ConversionPattern": "[%d] %p %m (%c)%n",
        "log4j.logger.org.apache.zookeeper": "WARN",
        "log4j.logger.kafka.request.logger": "WARN",
        "log4j.logger.state.change.logger": "WARN",
        "log4j.logger.kafka.log.LogCleaner": "WARN",
    })


def tools_log4j_properties() -> str:
    """Kafka's command-line tools log only warnings to stderr, so their stdout stays parseable."""
    return properties({
        "log4j.rootLogger": "WARN, stderr",
        "log4j.appender.stderr": "org.apache.log4j.ConsoleAppender",
        "log4j.appender.stderr.Target": "System.err",
        "log4j.appender.stderr.layout": "org.apache.log4j.PatternLayout",
        "log4j.appender.stderr.layout.ConversionPattern": "[%d] %p %m (%c)%n",
    })


def log4j2_properties(log_file: Path) -> str:
    """Kafka 4.x logs through Log4j 2: the same file, size and levels as log4j_properties gives Kafka 3.9.1."""
    return properties({
        "status": "warn",
        "appender.file.type": "RollingFile",
        "appender.file.name": "file",
        "appender.file.fileName": log_file,
        "appender.file.filePattern": f"{log_file}.%i",
        "appender.file.layout.type": "PatternLayout",
        "appender.file.layout.pattern": "[%d] %p %m (%c)%n",
        "appender.file.policies.type": "Policies",
        "appender.file.policies.size.type": "SizeBasedTriggeringPolicy",
        "appender.file.policies.size.size": "20MB",
        "appender.file.strategy.type": "DefaultRolloverStrategy",
        "appender.file.strategy.max": 2,
        "rootLogger.level": "info",
        "rootLogger.appenderRef.file.ref": "file",
        "logger.request.name": "kafka.request.logger",
        "logger.request.level": "warn",
        "logger.statechange.name": "state.change.logger",
        "logger.statechange.level": "warn",
        "logger.cleaner.name": "kafka.log.LogCleaner",
        "logger.cleaner.level": "warn",
    })


def tools_log4j2_properties() -> str:
    """tools_log4j_properties for Kafka 4.x's tools: warnings to stderr only, so their stdout stays parseable."""
    return properties({
        "status": "warn",
        "appender.stderr.type": "Console",
        "appender.stderr.name": "stderr",
        "appender.stderr.target": "SYSTEM_ERR",
        "appender.stderr.layout.type": "PatternLayout",
        "appender.stderr.layout.pattern": "[%d] %p %m (%c)%n",
        "rootLogger.level": "warn",
        "rootLogger.appenderRef.stderr.ref": "stderr",
    })


def logging_option(log_config: Path, kafka: str) -> str:
    """The JVM option that points Kafka's logging at its config: Log4j 1 (reload4j) in 3.x, Log4j 2 in 4.x."""
    if layout.uses_log4j2(kafka):
        return f"-Dlog4j2.configurationFile={log_config}"
    return f"-Dlog4j.configuration=file:{log_config}"


def log_config_name(kafka: str) -> str:
    """The file name of a node's logging config: the syntax differs between Log4j 1 and Log4j 2."""
    return "log4j2.properties" if layout.uses_log4j2(kafka) else "log4j.properties"


def log_config(log_file: Path, kafka: str) -> str:
    """A node's logging config for its Kafka version, writing log_file."""
    return log4j2_properties(log_file) if layout.uses_log4j2(kafka) else log4j_properties(log_file)


def tools_log_config(root: Path, kafka: str) -> tuple[Path, str]:
    """Where the tools of a Kafka version find their logging config in the lab root, and its text."""
    if layout.uses_log4j2(kafka):
        return root / "tools-log4j2.properties", tools_log4j2_properties()
    return root / "tools-log4j.properties", tools_log4j_properties()


def sshd_config(root: Path, host: str) -> str:
    directory = layout.host_dir(host, root)
    lines = [
        f"ListenAddress {layout.ALL_HOSTS[host]}:{layout.SSH_PORT}",
        f"HostKey {directory / 'conf' / 'ssh_host_ed25519_key'}",
        f"PidFile {directory / 'run' / 'sshd.pid'}",
        f"AuthorizedKeysFile {root / 'ssh' / 'authorized_keys'}",
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        # The lab's files are owned by root in /var/lib; StrictModes would also check parent directories.
        "StrictModes no",
        "UseDNS no",
        "PrintMotd no",
        "MaxSessions 50",
        "MaxStartups 50:30:100",
        "Subsystem sftp internal-sftp",
        "AcceptEnv LANG LC_*",
        # The hosts share this machine's root account, and bash sources ~/.bashrc for every command sshd runs
        # unless it believes it is nested: a developer's interactive setup there (pyenv, cargo) would add about
        # 0.25 s to each remote command, a cost the stock shell of a real broker host does not have.
        "SetEnv SHLVL=1",
    ]
    return "\n".join(lines) + "\n"


def java_command(main_class: str, heap: str, log4j_file: Path, args: list[str], extra: str = "",
                 kafka: str | None = None) -> list[str]:
    """A JVM on the jars of a Kafka version (default: the ZooKeeper lab's)."""
    kafka = kafka or layout.kafka_version(layout.ZOOKEEPER)
    java = layout.java_binary() or "/usr/bin/java"
    classpath = f"{layout.jar_cache(kafka=kafka)}/*"
    return [
        java, *heap.split(), *JVM_COMMON.split(), *extra.split(),
        logging_option(log4j_file, kafka), "-cp", classpath, main_class, *args,
    ]


def zookeeper_command(root: Path) -> list[str]:
    conf = layout.host_dir("zk1", root) / "conf"
    return java_command("org.apache.zookeeper.server.quorum.QuorumPeerMain", ZK_HEAP,
                        conf / "log4j.properties", [str(conf / "zoo.cfg")])


def broker_command(root: Path, broker_id: int) -> list[str]:
    conf = layout.host_dir(layout.broker_host(broker_id), root) / "conf"
    logs = layout.host_dir(layout.broker_host(broker_id), root) / "logs"
    return java_command("kafka.Kafka", BROKER_HEAP, conf / "log4j.properties", [str(conf / "server.properties")],
                        extra=f"-Dkafka.logs.dir={logs}")


def kraft_command(root: Path, host: str, heap: str, kafka: str | None = None) -> list[str]:
    """A KRaft broker or controller of a Kafka version (default: the KRaft lab's, 4.4.0): kafka.Kafka on the host's
    server.properties, logging through the host's Log4j 2 (4.x) or Log4j 1 (3.x) config."""
    kafka = layout.check_kafka(layout.KRAFT, kafka)
    conf = layout.host_dir(host, root) / "conf"
    logs = layout.host_dir(host, root) / "logs"
    return java_command("kafka.Kafka", heap, conf / log_config_name(kafka), [str(conf / "server.properties")],
                        extra=f"-Dkafka.logs.dir={logs}", kafka=kafka)


def storage_format_command(root: Path, host: str, cluster_id: str, kafka: str | None = None) -> list[str]:
    """StorageTool format for one KRaft node (kafka.tools.StorageTool in 3.9 and 4.x alike); -g makes it a no-op on
    a log dir already formatted for this cluster."""
    kafka = layout.check_kafka(layout.KRAFT, kafka)
    conf = layout.host_dir(host, root) / "conf"
    return java_command("kafka.tools.StorageTool", "-Xmx128m", tools_log_config(root, kafka)[0],
                        ["format", "-t", cluster_id, "-c", str(conf / "server.properties"), "-g"],
                        extra="-XX:TieredStopAtLevel=1", kafka=kafka)


def consumer_command(root: Path) -> list[str]:
    """The consumer's command line without its config argument (the start script appends it per group): the
    launcher that runs the legacy or the modern consumer, whichever the group's config names."""
    return [layout.venv_python(), str(layout.REPO / "lab" / "run_consumer.py")]


_RUNNING_FUNCTION = """\
# Running = the pid in the pid file is alive and still runs our command (not a reused pid, not a zombie).
# A process in the middle of an exec shows an empty command line for an instant: look again.
is_running() {
    local pid line
    [ -s "$PIDFILE" ] || return 1
    pid=$(cat "$PIDFILE")
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        [ -r "/proc/$pid/cmdline" ] || return 1
        line=$(tr '\\0' ' ' < "/proc/$pid/cmdline")
        if [ -n "$line" ]; then
            grep -qF -- "$MARKER" <<< "$line"
            return
        fi
        grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && return 1
        sleep 0.05
    done
    return 1
}
"""


def service_scripts(name: str, label: str, directory: Path, command: list[str], stop_timeout: int,
                    per_group: bool = False) -> dict[str, str]:
    """Start, stop, status and kill scripts for one service, in the style of kafka-server-start.sh -daemon.

    The marker (a string only our command line contains) guards against pid reuse. With per_group, the
    scripts take a consumer group as their first argument and keep a pid file, config and log per group;
    the stop timeout is then the second argument.
    """
    command_line = " ".join(shlex.quote(part) for part in command)
    base = shlex.quote(str(directory))
    if per_group:
        variables = (
            'GROUP="${1:?usage: $0 <consumer group> [stop timeout]}"\n'
            'case "$GROUP" in */*|.*|"") echo "invalid consumer group name: $GROUP" >&2; exit 2;; esac\n'
            f"CONFIG={base}/conf/{name}-\"$GROUP\".json\n"
            f"PIDFILE={base}/run/{name}-\"$GROUP\".pid\n"
            f"LOG={base}/logs/{name}-\"$GROUP\".log\n"
            'MARKER="$CONFIG"\n'
            f'LABEL="{label} $GROUP"\n'
            f'TIMEOUT="${{2:-{stop_timeout}}}"\n'
        )
        command_line += ' --config "$CONFIG"'
        check_config = ('[ -f "$CONFIG" ] || { echo "no config $CONFIG for group $GROUP: '
                        'run python -m lab consumer configure first" >&2; exit 2; }\n')
        out = '"$LOG"'
    else:
        variables = (
            f"PIDFILE={base}/run/{name}.pid\n"
            f"LOG={shlex.quote(str(directory / 'logs' / (name + '.out')))}\n"
            f"MARKER={shlex.quote(command[-1])}\n"
            f"LABEL={shlex.quote(label)}\n"
            f'TIMEOUT="${{1:-{stop_timeout}}}"\n'
        )
        check_config = ""
        out = '"$LOG"'
    header = "#!/bin/bash\n# WHAT\n# Generated by `python -m lab up`; edits are overwritten.\nset -u\n" + variables \
        + _RUNNING_FUNCTION

    start = header.replace("WHAT", f"Starts {name} in the background with a pid file; exit 0 if already running.") + f"""
if is_running; then
    echo "$LABEL already running (pid $(cat "$PIDFILE"))"
    exit 0
fi
{check_config}mkdir -p "$(dirname "$PIDFILE")" "$(dirname "$LOG")"
cd {base}
setsid nohup {command_line} >> {out} 2>&1 < /dev/null &
echo $! > "$PIDFILE"
# Return only once the command has replaced the shell, so status and stop see it right away.
for _ in $(seq 50); do
    is_running && break
    sleep 0.1
done
if ! is_running; then
    echo "$LABEL exited at once; see $LOG" >&2
    exit 1
fi
echo "$LABEL started (pid $(cat "$PIDFILE"))"
"""
    stop = header.replace("WHAT", f"Stops {name}: SIGTERM, then waits for it to exit (bounded; never kills).") + """
if ! is_running; then
    rm -f "$PIDFILE"
    echo "$LABEL not running"
    exit 0
fi
pid=$(cat "$PIDFILE")
kill -TERM "$pid"
deadline=$((SECONDS + TIMEOUT))
while is_running; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "$LABEL (pid $pid) still running after ${TIMEOUT}s; see the logs next to $LOG" >&2
        exit 1
    fi
    sleep 0.2
done
rm -f "$PIDFILE"
echo "$LABEL stopped"
"""
    status = header.replace("WHAT", f"Exit 0 when {name} runs, 3 when it does not (LSB status codes).") + """
if is_running; then
    echo "$LABEL running (pid $(cat "$PIDFILE"))"
    exit 0
fi
echo "$LABEL not running"
exit 3
"""
    kill = header.replace("WHAT", f"Kills {name} with SIGKILL: the last resort after a stop timed out.") + """
if ! is_running; then
    rm -f "$PIDFILE"
    echo "$LABEL not running"
    exit 0
fi
pid=$(cat "$PIDFILE")
kill -KILL "$pid"
for _ in $(seq 100); do
    is_running || break
    sleep 0.1
done
if is_running; then
    echo "$LABEL (pid $pid) survived SIGKILL" >&2
    exit 1
fi
rm -f "$PIDFILE"
echo "$LABEL killed"
"""
    return {"start": start, "stop": stop, "status": status, "kill": kill}
