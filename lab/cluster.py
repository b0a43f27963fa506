"""`lab up`, `lab down` and `lab status`: the cluster's life cycle, driven through the service scripts."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from lab import layout, processes, render, zk
from lab.errors import LabError
from lab.fetch import jars_cached

SSHD = "/usr/sbin/sshd"
ZK_WAIT = 30.0
BROKER_WAIT = 60.0
HEALTH_WAIT = 90.0


@dataclass(frozen=True)
class Service:
    """One Java service of the lab and its scripts."""

    host: str
    name: str  # file stem of its scripts: kafka, zookeeper
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


def generate(root: Path | None = None) -> None:
    """Write every config and script under the lab root; keys are made once and reused afterwards."""
    root = root or layout.lab_root()
    for host in layout.HOSTS:
        for sub in ("bin", "conf", "logs", "run", "data"):
            (root / host / sub).mkdir(parents=True, exist_ok=True)
    _ensure_key(layout.lab_key(root), "kafka-ops-lab")
    public_key = layout.lab_key(root).with_suffix(".pub").read_text()
    _write(root / "ssh" / "authorized_keys", public_key, 0o600)
    known_hosts = []
    for host, address in layout.HOSTS.items():
        host_key = root / host / "conf" / "ssh_host_ed25519_key"
        _ensure_key(host_key, f"root@{host}")
        _write(root / host / "conf" / "sshd_config", render.sshd_config(root, host), 0o600)
        key_type, key = host_key.with_suffix(".pub").read_text().split()[:2]
        known_hosts.append(f"[{address}]:{layout.SSH_PORT} {key_type} {key}\n")
    _write(root / "ssh" / "known_hosts", "".join(known_hosts))

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
    app_dir = root / layout.APP_HOST
    consumer_scripts = render.service_scripts("consumer", "consumer", app_dir, render.consumer_command(root),
                                              render.CONSUMER_STOP_TIMEOUT, per_group=True)
    _write_scripts(app_dir, "consumer", consumer_scripts)
    _write(root / "tools-log4j.properties", render.tools_log4j_properties())


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

def preflight() -> None:
    if not layout.java_binary():
        raise LabError("java not found: install Java 17 (apt-get install openjdk-17-jre-headless)")
    if not jars_cached():
        raise LabError(f"Kafka's jars are not in {layout.jar_cache()}: run python -m lab fetch (make jars) first")
    if not Path(SSHD).exists():
        raise LabError(f"{SSHD} not found: install openssh-server (apt-get install openssh-server)")
    wanted = [(f"sshd on {host}", address, layout.SSH_PORT, sshd_pid(host)) for host, address in layout.HOSTS.items()]
    for service in [zookeeper_service(), *(broker_service(b) for b in layout.BROKERS)]:
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


def up() -> dict:
    """Start whatever part of the lab is not running; on failure stop what this call started and raise."""
    started = time.monotonic()
    phases: dict[str, float] = {}
    preflight()
    generate()
    trust_lab_host_keys()
    started_sshd: list[str] = []
    started_services: list[Service] = []
    try:
        mark = time.monotonic()
        for host in layout.HOSTS:
            if sshd_pid(host) is None:
                _start_sshd(host)
                started_sshd.append(host)
        phases["sshd"] = time.monotonic() - mark
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
    except BaseException:
        _stop_started(started_services, started_sshd)
        raise
    return {"seconds": round(time.monotonic() - started, 1), "phases": {k: round(v, 1) for k, v in phases.items()},
            "started": [s.host for s in started_services] + [f"sshd:{h}" for h in started_sshd]}


def _stop_started(services: list[Service], sshd_hosts: list[str]) -> None:
    for service in reversed(services):
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
    """Brokers in stop order: the active controller last, so leadership moves only once."""
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


def start_brokers(order: list[int] | None = None) -> None:
    """Start brokers (the given order, else 1..3) and wait until all are registered and in sync."""
    for broker_id in order or list(layout.BROKERS):
        service = broker_service(broker_id)
        if service.pid() is None:
            _start_service(service)
    _wait_brokers(list(layout.BROKERS))
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


def down() -> list[str]:
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
    for host in layout.HOSTS:
        if sshd_pid(host) is not None:
            _stop_sshd(host)
            stopped.append(f"sshd:{host}")
    leftovers = running_processes()
    if leftovers:
        raise LabError(f"still running after down: {leftovers}; stop them by pid")
    return stopped


def running_processes() -> dict[str, int]:
    """Every lab process that runs now, by label."""
    found: dict[str, int] = {}
    for host in layout.HOSTS:
        pid = sshd_pid(host)
        if pid:
            found[f"sshd:{host}"] = pid
    for service in [zookeeper_service(), *(broker_service(b) for b in layout.BROKERS)]:
        pid = service.pid()
        if pid:
            found[service.host] = pid
    from lab import consumer

    for group in consumer.running_groups():
        pid = consumer.pid(group)
        if pid:
            found[f"consumer:{group}"] = pid
    return found


def is_up() -> bool:
    if zookeeper_service().pid() is None or any(broker_service(b).pid() is None for b in layout.BROKERS):
        return False
    if any(sshd_pid(host) is None for host in layout.HOSTS):
        return False
    try:
        with zk.client(timeout=2.0) as client:
            return set(zk.children(client, "/brokers/ids")) == {str(b) for b in layout.BROKERS}
    except LabError:
        return False


# ---------------------------------------------------------------- status

def status() -> dict:
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
    under = [{"topic": p["topic"], "partition": p["partition"]} for p in partitions if len(p["isr"]) < len(p["replicas"])]
    offline = [{"topic": p["topic"], "partition": p["partition"]} for p in partitions
               if p["leader"] not in brokers]
    return {"brokers": brokers, "controller": controller, "partitions": partitions,
            "under_replicated_partitions": under, "offline_partitions": offline, "groups": groups,
            "processes": running_processes(), "memory_kib": lab_rss_kib()}


def format_status(current: dict) -> str:
    lines = [f"brokers registered: {current['brokers'] or 'none'} (expected {sorted(layout.BROKERS)})",
             f"controller: {current['controller']}",
             f"partitions: {len(current['partitions'])}, under-replicated: "
             + (", ".join(f"{p['topic']}-{p['partition']}" for p in current["under_replicated_partitions"]) or "none")
             + ", offline: "
             + (", ".join(f"{p['topic']}-{p['partition']}" for p in current["offline_partitions"]) or "none")]
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
