# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`lab up`, `lab down` and `lab status`: the cluster's life cycle, driven through the service scripts.

Two metadata modes share the broker hosts, addresses and scripts: ZooKeeper (zk1 and Kafka 3.9.1, the default) and
KRaft (three dedicated controllers and Kafka 4.4.0, or 3.9.1 with kafka="3.9.1"). The lab root remembers which mode
and version run (layout.MODE_FILE, layout.KAFKA_FILE), so every command after `up` follows them; only one lab runs
at a time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from lab import kraft, layout, processes, render, zk
from lab.errors import LabError
from lab.fetch import jars_cached

SSHD = "/usr/sbin/sshd"
ZK_WAIT = 30.0
BROKER_WAIT = 60.0
HEALTH_WAIT = 90.0
# Six JVMs start at once on two cores in KRaft mode: the quorum and three registrations take longer than ZooKeeper's.
KRAFT_WAIT = 120.0
FORMAT_WAIT = 120.0


@dataclass(frozen=True)
class Service:
    """One Java service of the lab and its scripts."""

    host: str
    name: str  # file stem of its scripts: kafka (brokers and controllers), zookeeper
    address: str
    port: int
    log_file: Path

    @property
    def directory(self) -> Path:
        return layout.host_dir(self.host)

    def script(self, action: str) -> Path:
        return self.directory / "bin" / f"{self.name}-{action}.sh"

    @property
    def pid_file(self) -> Path:
        return self.directory / "run" / f"{self.name}.pid"

    @property
    def marker(self) -> str:
        return str(self.directory / "conf" / ("zoo.cfg" if self.name == "zookeeper" else "server.properties"))

    def pid(self) -> int | None:
        return processes.running_pid(self.pid_file, self.marker)


def zookeeper_service() -> Service:
    return Service("zk1", "zookeeper", layout.ZK_ADDRESS, layout.ZK_PORT,
                   layout.host_dir("zk1") / "logs" / "zookeeper.log")


def broker_service(broker_id: int) -> Service:
    return Service(layout.broker_host(broker_id), "kafka", layout.BROKERS[broker_id], layout.KAFKA_PORT,
                   layout.broker_log_file(broker_id))


def controller_service(node_id: int) -> Service:
    """A KRaft controller: same script names as a broker (kafka-*.sh, conf/server.properties), so one set of
    broker_service variables in the inventory serves both groups and only the port differs."""
    return Service(layout.controller_host(node_id), "kafka", layout.CONTROLLERS[node_id], layout.CONTROLLER_PORT,
                   layout.controller_log_file(node_id))


def services(metadata: str) -> list[Service]:
    """The Java services of a mode in start order: metadata first (ZooKeeper or the controllers), then brokers."""
    brokers = [broker_service(b) for b in layout.BROKERS]
    if layout.check_mode(metadata) == layout.KRAFT:
        return [controller_service(n) for n in layout.CONTROLLERS] + brokers
    return [zookeeper_service()] + brokers


def all_services() -> list[Service]:
    """Every Java service of either mode, so nothing started in the other mode is overlooked."""
    return [zookeeper_service()] + [controller_service(n) for n in layout.CONTROLLERS] + \
        [broker_service(b) for b in layout.BROKERS]


def sshd_pid_file(host: str) -> Path:
    return layout.host_dir(host) / "run" / "sshd.pid"


def sshd_config_file(host: str) -> Path:
    return layout.host_dir(host) / "conf" / "sshd_config"


def sshd_pid(host: str) -> int | None:
    return processes.running_pid(sshd_pid_file(host), str(sshd_config_file(host)))


# ---------------------------------------------------------------- generate

def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    path.chmod(mode)


def _ensure_key(path: Path, comment: str) -> None:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                       check=True, capture_output=True)
    path.chmod(0o600)


def generate(root: Path | None = None, metadata: str = layout.ZOOKEEPER, kafka: str | None = None) -> None:
    """Write every config and script of the mode (and its Kafka version, default the mode's) under the lab root; keys
    are made once and reused afterwards."""
    root = root or layout.lab_root()
    for host in layout.hosts(metadata):
        for sub in ("bin", "conf", "logs", "run", "data"):
            (root / host / sub).mkdir(parents=True, exist_ok=True)
    _ensure_key(layout.lab_key(root), "kafka-ops-lab")
    public_key = layout.lab_key(root).with_suffix(".pub").read_text()
    _write(root / "ssh" / "authorized_keys", public_key, 0o600)
    known_hosts = []
    # Every host of both modes: one known_hosts serves both inventories, and a host keeps its key across switches.
    for host, address in layout.ALL_HOSTS.items():
        host_key = root / host / "conf" / "ssh_host_ed25519_key"
        _ensure_key(host_key, f"root@{host}")
        _write(root / host / "conf" / "sshd_config", render.sshd_config(root, host), 0o600)
        key_type, key = host_key.with_suffix(".pub").read_text().split()[:2]
        known_hosts.append(f"[{address}]:{layout.SSH_PORT} {key_type} {key}\n")
    _write(root / "ssh" / "known_hosts", "".join(known_hosts))
    if metadata == layout.KRAFT:
        _generate_kraft(root, layout.check_kafka(metadata, kafka))
    else:
        _generate_zookeeper(root)
    app_dir = root / layout.APP_HOST
    consumer_scripts = render.service_scripts("consumer", "consumer", app_dir, render.consumer_command(root),
                                              render.CONSUMER_STOP_TIMEOUT, per_group=True)
    _write_scripts(app_dir, "consumer", consumer_scripts)
    _write(root / "tools-log4j.properties", render.tools_log4j_properties())
    _write(root / "tools-log4j2.properties", render.tools_log4j2_properties())


def _generate_zookeeper(root: Path) -> None:
    zk_dir = root / "zk1"
    _write(zk_dir / "conf" / "zoo.cfg", render.zoo_cfg(root))
    _write(zk_dir / "conf" / "log4j.properties", render.log4j_properties(zk_dir / "logs" / "zookeeper.log"))
    zk_scripts = render.service_scripts("zookeeper", "zookeeper zk1", zk_dir, render.zookeeper_command(root),
                                        render.ZK_STOP_TIMEOUT)
    _write_scripts(zk_dir, "zookeeper", zk_scripts)
    for broker_id in layout.BROKERS:
        directory = root / layout.broker_host(broker_id)
        _write(directory / "conf" / "server.properties", render.server_properties(root, broker_id))
        _write(directory / "conf" / "log4j.properties",
               render.log4j_properties(layout.broker_log_file(broker_id, root)))
        _write_scripts(directory, "kafka", render.service_scripts(
            "kafka", f"kafka{broker_id} (broker {broker_id})", directory, render.broker_command(root, broker_id),
            render.BROKER_STOP_TIMEOUT))


def _generate_kraft(root: Path, kafka: str) -> None:
    nodes = [(layout.controller_host(n), f"controller{n - 100} (controller {n})", render.controller_properties(root, n),
              render.CONTROLLER_HEAP) for n in layout.CONTROLLERS]
    nodes += [(layout.broker_host(b), f"kafka{b} (broker {b})", render.kraft_broker_properties(root, b),
               render.BROKER_HEAP) for b in layout.BROKERS]
    for host, label, server_properties, heap in nodes:
        directory = root / host
        _write(directory / "conf" / "server.properties", server_properties)
        _write(directory / "conf" / render.log_config_name(kafka),
               render.log_config(directory / "logs" / "server.log", kafka))
        _write_scripts(directory, "kafka", render.service_scripts(
            "kafka", label, directory, render.kraft_command(root, host, heap, kafka), render.BROKER_STOP_TIMEOUT))


def _write_scripts(directory: Path, name: str, scripts: dict[str, str]) -> None:
    for action, text in scripts.items():
        _write(directory / "bin" / f"{name}-{action}.sh", text, 0o755)


def trust_lab_host_keys(root: Path | None = None) -> None:
    """Put the lab's host keys in root's known_hosts, so plain `ssh -p 2222 root@127.0.0.11` works."""
    root = root or layout.lab_root()
    known_hosts = Path.home() / ".ssh" / "known_hosts"
    known_hosts.parent.mkdir(mode=0o700, exist_ok=True)
    ours = (root / "ssh" / "known_hosts").read_text().splitlines()
    hosts = {line.split()[0] for line in ours}
    existing = known_hosts.read_text().splitlines() if known_hosts.exists() else []
    kept = [line for line in existing if line.split(" ", 1)[0] not in hosts]
    wanted = kept + ours
    if wanted != existing:
        known_hosts.write_text("".join(line + "\n" for line in wanted))
        known_hosts.chmod(0o600)


# ---------------------------------------------------------------- up

def mode_conflict(wanted: str, running_mode: str, running: dict[str, int], wanted_kafka: str | None = None,
                  running_kafka: str | None = None) -> str | None:
    """Why `up` in mode `wanted` (Kafka wanted_kafka, default the mode's) must refuse while the lab root's mode is
    running_mode (Kafka running_kafka, default that mode's) and `running` runs; None when it may go on. Both modes
    and all versions use the brokers' addresses, so one lab must be down before another starts."""
    wanted_kafka = layout.check_kafka(wanted, wanted_kafka)
    running_kafka = running_kafka or layout.kafka_version(running_mode)
    if not running or (running_mode, running_kafka) == (wanted, wanted_kafka):
        return None
    option = " --metadata kraft" if wanted == layout.KRAFT else ""
    if wanted_kafka != layout.kafka_version(wanted):
        option += f" --kafka {wanted_kafka}"
    what = f"a {running_mode} lab of Kafka {running_kafka}" if running_mode == wanted else f"a {running_mode} lab"
    return (f"{what} is up ({', '.join(sorted(running))}): run python -m lab down first, then "
            f"python -m lab up{option}")


def preflight(metadata: str = layout.ZOOKEEPER, kafka: str | None = None) -> None:
    kafka = layout.check_kafka(metadata, kafka)
    if not layout.java_binary():
        raise LabError("java not found: install Java 17 (apt-get install openjdk-17-jre-headless)")
    if not jars_cached(layout.jar_cache(kafka=kafka)):
        raise LabError(f"Kafka's jars are not in {layout.jar_cache(kafka=kafka)}: run python -m lab fetch (make jars) "
                       "first")
    if not Path(SSHD).exists():
        raise LabError(f"{SSHD} not found: install openssh-server (apt-get install openssh-server)")
    conflict = mode_conflict(metadata, layout.mode(), running_processes(), kafka, layout.lab_kafka())
    if conflict:
        raise LabError(conflict)
    wanted = [(f"sshd on {host}", address, layout.SSH_PORT, sshd_pid(host))
              for host, address in layout.hosts(metadata).items()]
    for service in services(metadata):
        wanted.append((f"{service.name} on {service.host}", service.address, service.port, service.pid()))
    for label, address, port, pid in wanted:
        if pid is None and not processes.port_is_free(address, port):
            raise LabError(f"{address}:{port} (for {label}) is already taken by another process: "
                           f"find it with `ss -ltnp 'sport = :{port}'` and stop it")


def _start_sshd(host: str) -> None:
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    result = subprocess.run([SSHD, "-f", str(sshd_config_file(host))], capture_output=True, text=True, check=False)
    deadline = time.monotonic() + 10
    while sshd_pid(host) is None:
        if result.returncode != 0 or time.monotonic() > deadline:
            raise LabError(f"sshd for {host} did not start: {(result.stderr or 'no output').strip().splitlines()[-1]}")
        time.sleep(0.05)


def _start_service(service: Service) -> None:
    result = processes.run_script(service.script("start"))
    if result.returncode != 0:
        raise LabError(f"{service.script('start')} failed: {(result.stderr or result.stdout).strip()}")


def _wait_zookeeper(service: Service) -> None:
    deadline = time.monotonic() + ZK_WAIT
    while not processes.zookeeper_serving(service.address, service.port):
        if service.pid() is None or time.monotonic() > deadline:
            raise LabError(f"ZooKeeper zk1 did not come up on {service.address}:{service.port}: "
                           f"see {service.log_file} and {service.directory / 'logs' / 'zookeeper.out'}")
        time.sleep(0.1)
    with zk.client(chroot="") as client:
        client.ensure_path(layout.ZK_CHROOT)


def _wait_brokers(broker_ids: list[int]) -> None:
    deadline = time.monotonic() + BROKER_WAIT
    with zk.client() as client:
        pending = list(broker_ids)
        while pending:
            registered = set(zk.children(client, "/brokers/ids"))
            for broker_id in list(pending):
                service = broker_service(broker_id)
                if str(broker_id) in registered and processes.port_answers(service.address, service.port):
                    pending.remove(broker_id)
                elif service.pid() is None:
                    raise LabError(f"broker kafka{broker_id} exited during start: see {service.log_file}")
            if pending and time.monotonic() > deadline:
                first = broker_service(pending[0])
                raise LabError(f"broker kafka{pending[0]} did not register in ZooKeeper within {BROKER_WAIT:.0f} s: "
                               f"see {first.log_file}")
            if pending:
                time.sleep(0.2)


def _wait_kraft(timeout: float = KRAFT_WAIT) -> dict:
    """Wait until the quorum has a leader and every broker is registered and unfenced; returns the quorum."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        for service in services(layout.KRAFT):
            if service.pid() is None:
                raise LabError(f"{service.host} exited during start: see {service.log_file} and "
                               f"{service.directory / 'logs' / 'kafka.out'}")
        if any(processes.port_answers(layout.BROKERS[b], layout.KAFKA_PORT) for b in layout.BROKERS):
            try:
                brokers = kraft.brokers(timeout=0)
                current = kraft.quorum(timeout=0)
                if brokers == sorted(layout.BROKERS) and current["leader_id"] != -1:
                    return current
                last = f"unfenced brokers {brokers}, quorum leader {current['leader_id']}"
            except LabError as error:
                last = str(error)
        if time.monotonic() > deadline:
            raise LabError(f"the KRaft lab did not come up within {timeout:.0f} s (last seen: {last}): see the "
                           "controllers' and brokers' logs/server.log")
        time.sleep(0.5)


def ensure_cluster_id(root: Path | None = None) -> str:
    """The KRaft lab's cluster id, made once and kept in the lab root: every node is formatted with it."""
    path = layout.cluster_id_file(root)
    if path.exists():
        return path.read_text().strip()
    cluster_id = None
    while cluster_id is None:
        cluster_id = render.new_cluster_id(os.urandom(16))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cluster_id + "\n")
    return cluster_id


def formatted_cluster_id(log_dir: Path) -> str | None:
    """cluster.id in a log dir's meta.properties, None when the dir is not formatted."""
    try:
        lines = (log_dir / "meta.properties").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("cluster.id="):
            return line.split("=", 1)[1].strip()
    return None


def kraft_log_dirs(root: Path | None = None) -> dict[str, Path]:
    """Each KRaft node's host and its (only) log dir, which StorageTool formats."""
    found = {layout.controller_host(n): layout.controller_log_dir(n, root) for n in layout.CONTROLLERS}
    found.update({layout.broker_host(b): layout.broker_log_dir(b, root, layout.KRAFT) for b in layout.BROKERS})
    return found


def storage_kafka(root: Path | None = None) -> str | None:
    """The Kafka version the KRaft storage was formatted with; None when no node is formatted. Storage formatted
    before the lab wrote it down was formatted by 4.4.0, the only KRaft version then."""
    path = layout.storage_kafka_file(root)
    if path.exists():
        return path.read_text().strip() or None
    if any(formatted_cluster_id(log_dir) for log_dir in kraft_log_dirs(root).values()):
        return layout.kafka_version(layout.KRAFT)
    return None


def reset_storage_of_other_version(root: Path | None = None, kafka: str | None = None) -> list[Path]:
    """Remove the KRaft log dirs and cluster id when the storage was formatted by another Kafka version than
    `kafka` (default: the KRaft lab's); returns the log dirs removed. 3.9.1 cannot read what 4.4.0 wrote (`Can't
    read version 4 of BrokerEndpoint`), and 4.4.0 on 3.9.1's storage would keep metadata.version 3.9-IV0, not run
    as a 4.4 cluster: each version gets a freshly formatted cluster of its own (the lab's topics are disposable)."""
    kafka = layout.check_kafka(layout.KRAFT, kafka)
    previous = storage_kafka(root)
    if previous in (None, kafka):
        return []
    running = [service.host for service in services(layout.KRAFT) if service.pid() is not None]
    if running:
        raise LabError(f"the KRaft storage is Kafka {previous}'s and {', '.join(running)} still run it: run "
                       "python -m lab down first")
    removed = [log_dir for log_dir in kraft_log_dirs(root).values() if log_dir.exists()]
    for log_dir in removed:
        shutil.rmtree(log_dir)
    layout.cluster_id_file(root).unlink(missing_ok=True)
    layout.storage_kafka_file(root).unlink(missing_ok=True)
    return removed


def format_storage(root: Path | None = None, kafka: str | None = None) -> list[str]:
    """Format every KRaft node not yet formatted with the lab's cluster id (StorageTool format -g, all at once) for
    Kafka `kafka` (default: the KRaft lab's), after removing storage another version formatted; refuse a log dir
    formatted for another cluster. Returns the hosts formatted now."""
    root = root or layout.lab_root()
    kafka = layout.check_kafka(layout.KRAFT, kafka)
    reset_storage_of_other_version(root, kafka)
    cluster_id = ensure_cluster_id(root)
    pending = []
    for host, log_dir in kraft_log_dirs(root).items():
        found = formatted_cluster_id(log_dir)
        if found is None:
            pending.append(host)
        elif found != cluster_id:
            raise LabError(f"{log_dir} is formatted for cluster {found}, not the lab's {cluster_id} "
                           f"({layout.cluster_id_file(root)}): remove {log_dir} and run lab up --metadata kraft again")
    running = {host: subprocess.Popen(render.storage_format_command(root, host, cluster_id, kafka),
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for host in pending}
    for host, process in running.items():
        output = process.communicate(timeout=FORMAT_WAIT)[0]
        if process.returncode != 0:
            lines = output.strip().splitlines() or ["no output"]
            raise LabError(f"StorageTool format failed on {host}: {lines[-1]}")
    layout.storage_kafka_file(root).write_text(kafka + "\n")
    return pending


def up(metadata: str = layout.ZOOKEEPER, kafka: str | None = None) -> dict:
    """Start whatever part of the mode's lab (of Kafka `kafka`, default the mode's) is not running; on failure stop
    what this call started and raise."""
    layout.check_mode(metadata)
    try:
        kafka = layout.check_kafka(metadata, kafka)
    except ValueError as error:
        raise LabError(str(error)) from None
    started = time.monotonic()
    phases: dict[str, float] = {}
    preflight(metadata, kafka)
    generate(metadata=metadata, kafka=kafka)
    layout.save_mode(metadata, kafka=kafka)
    trust_lab_host_keys()
    started_sshd: list[str] = []
    started_services: list[Service] = []
    try:
        mark = time.monotonic()
        for host in layout.hosts(metadata):
            if sshd_pid(host) is None:
                _start_sshd(host)
                started_sshd.append(host)
        phases["sshd"] = time.monotonic() - mark
        if metadata == layout.KRAFT:
            _up_kraft(phases, started_services, kafka)
        else:
            _up_zookeeper(phases, started_services)
    except BaseException:
        _stop_started(started_services, started_sshd)
        raise
    return {"seconds": round(time.monotonic() - started, 1), "phases": {k: round(v, 1) for k, v in phases.items()},
            "started": [s.host for s in started_services] + [f"sshd:{h}" for h in started_sshd],
            "metadata": metadata, "kafka": kafka}


def _up_kraft(phases: dict[str, float], started_services: list[Service], kafka: str) -> None:
    mark = time.monotonic()
    format_storage(kafka=kafka)
    phases["format"] = time.monotonic() - mark
    mark = time.monotonic()
    # Controllers and brokers start together: a broker waits for the quorum by itself, and on two cores the JVMs'
    # start-up overlaps better than it queues.
    for service in services(layout.KRAFT):
        if service.pid() is None:
            _start_service(service)
            started_services.append(service)
    _wait_kraft()
    phases["kraft"] = time.monotonic() - mark


def _up_zookeeper(phases: dict[str, float], started_services: list[Service]) -> None:
    mark = time.monotonic()
    zookeeper = zookeeper_service()
    if zookeeper.pid() is None:
        _start_service(zookeeper)
        started_services.append(zookeeper)
    _wait_zookeeper(zookeeper)
    phases["zookeeper"] = time.monotonic() - mark
    mark = time.monotonic()
    for broker_id in layout.BROKERS:
        service = broker_service(broker_id)
        if service.pid() is None:
            _start_service(service)
            started_services.append(service)
    _wait_brokers(list(layout.BROKERS))
    phases["brokers"] = time.monotonic() - mark


def _stop_started(services_started: list[Service], sshd_hosts: list[str]) -> None:
    for service in reversed(services_started):
        processes.run_script(service.script("stop"), "60")
    for host in sshd_hosts:
        _stop_sshd(host)


# ---------------------------------------------------------------- down

def _stop_sshd(host: str) -> None:
    pid = sshd_pid(host)
    if pid is None:
        sshd_pid_file(host).unlink(missing_ok=True)
        return
    # Sessions (Ansible's persistent connections) are children of the listener; they go first.
    for child in processes.children_of(pid):
        processes.terminate(child, "sshd", 5)
    processes.terminate(pid, str(sshd_config_file(host)), 10)
    sshd_pid_file(host).unlink(missing_ok=True)


def stop_consumers() -> list[str]:
    from lab import consumer  # imported late: the consumer module needs kafka-python only when used

    stopped = []
    for group in consumer.running_groups():
        consumer.stop(group)
        stopped.append(group)
    return stopped


def broker_stop_order() -> list[int]:
    """Brokers in stop order. ZooKeeper mode: the active controller (a broker) last, so leadership moves only once.
    KRaft mode: by id; the active controller is a dedicated controller, which stays up to approve each stop."""
    if layout.mode() == layout.KRAFT:
        return sorted(layout.BROKERS)
    controller = None
    try:
        with zk.client(timeout=2.0) as client:
            controller = (zk.read_json(client, "/controller") or {}).get("brokerid")
    except LabError:
        pass
    return sorted(layout.BROKERS, key=lambda broker_id: (broker_id == controller, broker_id))


def stop_brokers() -> list[int]:
    """Stop every running broker cleanly (controlled shutdown), controller last; returns the stop order."""
    order = [b for b in broker_stop_order() if broker_service(b).pid() is not None]
    for broker_id in order:
        service = broker_service(broker_id)
        result = processes.run_script(service.script("stop"), timeout=render.BROKER_STOP_TIMEOUT + 30)
        if result.returncode != 0:
            raise LabError(f"broker kafka{broker_id} did not stop: {result.stderr.strip()} (see {service.log_file})")
    return order


def _wait_registered(broker_ids: list[int]) -> None:
    if layout.mode() == layout.KRAFT:
        _wait_kraft()
    else:
        _wait_brokers(broker_ids)


def start_brokers(order: list[int] | None = None) -> None:
    """Start brokers (the given order, else 1..3) and wait until all are registered and in sync. On KRaft every
    stopped controller starts first: a broker cannot register without a quorum leader."""
    if layout.mode() == layout.KRAFT:
        for node_id in layout.CONTROLLERS:
            if controller_service(node_id).pid() is None:
                _start_service(controller_service(node_id))
    for broker_id in order or list(layout.BROKERS):
        service = broker_service(broker_id)
        if service.pid() is None:
            _start_service(service)
    _wait_registered(list(layout.BROKERS))
    wait_healthy()


def wait_healthy(timeout: float = HEALTH_WAIT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        current = status()
        problems = current["offline_partitions"] + current["under_replicated_partitions"]
        if len(current["brokers"]) == len(layout.BROKERS) and not problems:
            return
        if time.monotonic() > deadline:
            raise LabError(f"cluster not healthy after {timeout:.0f} s: brokers {current['brokers']}, "
                           f"{len(current['under_replicated_partitions'])} under-replicated and "
                           f"{len(current['offline_partitions'])} offline partitions (see the brokers' server.log)")
        time.sleep(0.5)


def controller_stop_order(leader_id: int) -> list[int]:
    """KRaft controllers in stop order: followers first, the active controller (quorum leader) last, so the quorum
    elects a new leader at most once."""
    return sorted(layout.CONTROLLERS, key=lambda node_id: (node_id == leader_id, node_id))


def _down_kraft() -> list[str]:
    stopped = [f"consumer:{g}" for g in stop_consumers()]
    leader_id = -1
    if any(broker_service(b).pid() is not None for b in layout.BROKERS):
        try:
            leader_id = kraft.quorum(timeout=2.0)["leader_id"]
        except LabError:
            pass
    # Brokers first, while the quorum can still approve their controlled shutdown (see lab/README.md).
    stopped += [f"kafka{b}" for b in stop_brokers()]
    for node_id in controller_stop_order(leader_id):
        service = controller_service(node_id)
        if service.pid() is not None:
            result = processes.run_script(service.script("stop"), timeout=render.BROKER_STOP_TIMEOUT + 30)
            if result.returncode != 0:
                raise LabError(f"controller {service.host} did not stop: {result.stderr.strip()} "
                               f"(see {service.log_file})")
            stopped.append(service.host)
    return stopped


def _down_zookeeper() -> list[str]:
    stopped: list[str] = []
    zookeeper = zookeeper_service()
    if zookeeper.pid() is not None:
        stopped += [f"consumer:{g}" for g in stop_consumers()]
        stopped += [f"kafka{b}" for b in stop_brokers()]
    else:
        # Without ZooKeeper a controlled shutdown cannot finish; stop consumers and brokers all the same.
        stopped += [f"consumer:{g}" for g in stop_consumers()]
        for broker_id in layout.BROKERS:
            if broker_service(broker_id).pid() is not None:
                processes.run_script(broker_service(broker_id).script("stop"), "60")
                stopped.append(f"kafka{broker_id}")
    if zookeeper.pid() is not None:
        processes.run_script(zookeeper.script("stop"))
        stopped.append("zk1")
    return stopped


def down() -> list[str]:
    """Stop everything of the lab root's mode, then sshd on every host of either mode."""
    kraft_runs = any(controller_service(n).pid() is not None for n in layout.CONTROLLERS)
    stopped = _down_kraft() if layout.mode() == layout.KRAFT or kraft_runs else _down_zookeeper()
    for host in layout.ALL_HOSTS:
        if sshd_pid(host) is not None:
            _stop_sshd(host)
            stopped.append(f"sshd:{host}")
    leftovers = running_processes()
    if leftovers:
        raise LabError(f"still running after down: {leftovers}; stop them by pid")
    layout.forget_mode()
    return stopped


def running_processes() -> dict[str, int]:
    """Every lab process of either mode that runs now, by label."""
    found: dict[str, int] = {}
    for host in layout.ALL_HOSTS:
        pid = sshd_pid(host)
        if pid:
            found[f"sshd:{host}"] = pid
    for service in all_services():
        pid = service.pid()
        if pid:
            found[service.host] = pid
    from lab import consumer

    for group in consumer.running_groups():
        pid = consumer.pid(group)
        if pid:
            found[f"consumer:{group}"] = pid
    return found


def is_up(metadata: str = layout.ZOOKEEPER, kafka: str | None = None) -> bool:
    """True when the lab of that mode and Kafka version (default: the mode's) runs: its services, its hosts' sshd,
    all brokers registered (and, in KRaft mode, unfenced under a quorum leader)."""
    if (layout.mode(), layout.lab_kafka()) != (layout.check_mode(metadata), layout.check_kafka(metadata, kafka)):
        return False
    if any(service.pid() is None for service in services(metadata)):
        return False
    if any(sshd_pid(host) is None for host in layout.hosts(metadata)):
        return False
    if metadata == layout.KRAFT:
        try:
            return kraft.brokers(timeout=2.0) == sorted(layout.BROKERS) and kraft.quorum(timeout=2.0)["leader_id"] != -1
        except LabError:
            return False
    try:
        with zk.client(timeout=2.0) as client:
            return set(zk.children(client, "/brokers/ids")) == {str(b) for b in layout.BROKERS}
    except LabError:
        return False


# ---------------------------------------------------------------- status

def _partition_health(brokers: list[int], partitions: list[dict]) -> tuple[list[dict], list[dict]]:
    under = [{"topic": p["topic"], "partition": p["partition"]} for p in partitions
             if len(p["isr"]) < len(p["replicas"])]
    offline = [{"topic": p["topic"], "partition": p["partition"]} for p in partitions if p["leader"] not in brokers]
    return under, offline


def status() -> dict:
    if layout.mode() == layout.KRAFT:
        return _kraft_status()
    if zookeeper_service().pid() is None:
        raise LabError("ZooKeeper zk1 is not running: the lab is down (start it with python -m lab up)")
    with zk.client() as client:
        brokers = sorted(int(b) for b in zk.children(client, "/brokers/ids"))
        controller = (zk.read_json(client, "/controller") or {}).get("brokerid")
        partitions = []
        for topic in zk.children(client, "/brokers/topics"):
            assignment = (zk.read_json(client, f"/brokers/topics/{topic}") or {}).get("partitions", {})
            for partition, replicas in sorted(assignment.items(), key=lambda item: int(item[0])):
                state = zk.read_json(client, f"/brokers/topics/{topic}/partitions/{partition}/state") or {}
                partitions.append({"topic": topic, "partition": int(partition), "replicas": replicas,
                                   "leader": state.get("leader", -1), "isr": state.get("isr", [])})
        groups = []
        for group in zk.children(client, "/consumers"):
            members = zk.children(client, f"/consumers/{group}/ids")
            offsets = []
            for topic in zk.children(client, f"/consumers/{group}/offsets"):
                for partition in sorted(zk.children(client, f"/consumers/{group}/offsets/{topic}"), key=int):
                    text = zk.read_text(client, f"/consumers/{group}/offsets/{topic}/{partition}") or ""
                    # A node that is not a decimal offset (the tests write some on purpose) is shown as it is.
                    offset = int(text) if text.strip().lstrip("-").isdigit() else text
                    offsets.append({"topic": topic, "partition": int(partition), "offset": offset})
            groups.append({"group": group, "state": "active" if members else "inactive", "members": members,
                           "offsets": offsets})
    under, offline = _partition_health(brokers, partitions)
    return {"metadata": layout.ZOOKEEPER, "kafka": layout.lab_kafka(), "brokers": brokers, "controller": controller, "partitions": partitions,
            "under_replicated_partitions": under, "offline_partitions": offline, "groups": groups,
            "processes": running_processes(), "memory_kib": lab_rss_kib()}


def _kraft_status() -> dict:
    """status() of the KRaft lab, from the Admin API: the same keys, the quorum's leader as the controller, and the
    consumer groups Kafka coordinates (a KRaft lab has no ZooKeeper groups)."""
    from lab import kafka_groups

    if all(broker_service(b).pid() is None for b in layout.BROKERS):
        raise LabError("no KRaft broker is running: the lab is down (start it with python -m lab up --metadata kraft)")
    brokers = kraft.brokers()
    quorum = kraft.quorum()
    partitions = kraft.partitions()
    groups = []
    for group, state in kafka_groups.states().items():
        members = kafka_groups.describe(group).get("members", [])
        offsets = [{"topic": topic, "partition": partition, "offset": offset}
                   for (topic, partition), offset in sorted(kafka_groups.committed_offsets(group).items())]
        groups.append({"group": group, "state": state, "members": [m.get("member_id") for m in members],
                       "offsets": offsets})
    under, offline = _partition_health(brokers, partitions)
    return {"metadata": layout.KRAFT, "kafka": layout.lab_kafka(), "brokers": brokers, "controller": quorum["leader_id"], "quorum": quorum,
            "partitions": partitions, "under_replicated_partitions": under, "offline_partitions": offline,
            "groups": groups, "processes": running_processes(), "memory_kib": lab_rss_kib()}


def format_status(current: dict) -> str:
    lines = [f"lab: {current['metadata']} mode, Kafka {current['kafka']}",
             f"brokers registered: {current['brokers'] or 'none'} (expected {sorted(layout.BROKERS)})",
             f"controller: {current['controller']}"]
    if "quorum" in current:
        quorum = current["quorum"]
        lines[2] += " (KRaft: the quorum leader)"
        lines.append(f"quorum: leader {quorum['leader_id']} (epoch {quorum['leader_epoch']}), voters "
                     f"{quorum['voters']}, observers {quorum['observers']}, high watermark {quorum['high_watermark']}")
    lines.append(f"partitions: {len(current['partitions'])}, under-replicated: "
                 + (", ".join(f"{p['topic']}-{p['partition']}" for p in current["under_replicated_partitions"]) or "none")
                 + ", offline: "
                 + (", ".join(f"{p['topic']}-{p['partition']}" for p in current["offline_partitions"]) or "none"))
    for group in current["groups"]:
        lines.append(f"consumer group {group['group']}: {group['state']} ({len(group['members'])} live)"
                     + "".join(f"\n  member {m}" for m in group["members"]))
        for offset in group["offsets"]:
            lines.append(f"  {offset['topic']} partition {offset['partition']}: offset {offset['offset']}")
    lines.append("processes: " + ", ".join(f"{name}={pid}" for name, pid in current["processes"].items()))
    lines.append(f"memory: {current['memory_kib'] / 1024:.0f} MiB resident (every lab process and its children)")
    return "\n".join(lines)


def lab_rss_kib() -> int:
    """Resident memory of every lab process and its children (sshd sessions included), in KiB."""
    total = 0
    seen = set()
    stack = list(running_processes().values())
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += processes.rss_kib(pid)
        stack.extend(processes.children_of(pid))
    return total
