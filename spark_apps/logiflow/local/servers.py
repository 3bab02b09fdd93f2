"""Runs the embedded default's servers as local processes: one Kafka broker, one Elasticsearch node.

Both listen on 127.0.0.1 only, keep their configuration, data and logs under
``LocalSettings.state_dir`` (``kafka/`` and ``elasticsearch/``) and record a pid file there, so
``logiflow local down`` and ``status`` work from any process.

* Kafka 4.x runs as one KRaft process that is both broker and controller. Its storage is
  formatted once with a fresh cluster id; log4j2 writes the broker log to ``kafka/kafka.log``.
  Topics are created explicitly (``create_topics``); automatic creation is off so a typo in a
  topic name fails instead of silently creating a new topic.
* Elasticsearch runs from the integ-test-zip distribution with security off (loopback only),
  single-node discovery, no bundled JDK: it uses the JDK 17 on PATH (Elasticsearch 8.19 supports
  17; ``ES_JAVA_HOME`` or ``JAVA_HOME`` override). Elasticsearch refuses to run as root; when we
  are root (CI containers) it is started in a user namespace where it sees an ordinary uid while
  keeping our file access.

Each server runs in its own session (process group) so stopping it reaches the JVMs it forks:
SIGTERM to the group, then SIGKILL after a grace period. Servers started in the foreground also
get a parent-death signal and an atexit hook, so a Ctrl-C or a crash of the owner leaves no
orphan. Only processes whose environment carries our marker for this state directory are ever
signalled, so a stale pid file can never make us kill somebody else's process.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import ctypes
import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rich.console import Console

from logiflow.config import LocalSettings, LogiflowConfig
from logiflow.errors import LogiflowError, ServiceUnreachableError
from logiflow.local import artifacts

LOOPBACK = "127.0.0.1"
MARKER_ENV = "LOGIFLOW_LOCAL_SERVER"
DEFAULT_START_TIMEOUT = 180.0
DEFAULT_STOP_GRACE = 30.0
# Elasticsearch refuses uid 0; inside the user namespace it runs as this (unprivileged) uid.
_NAMESPACE_UID = 1000

# C1 only: halves the CPU a server burns while starting (measured: Elasticsearch 9 s instead of
# 16 s of CPU, 22 s instead of 41 s wall on a busy 2-core machine); the peak speed C2 would add
# later is not needed at single-machine volumes.
_SMALL_MACHINE_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1",)

ServerName = Literal["kafka", "elasticsearch"]
State = Literal["running", "starting", "stopped", "stale"]


class LocalServerError(LogiflowError):
    """A local server failed to start or stop; the message names it and quotes its log."""

    exit_code = 5


@dataclass(frozen=True)
class ServerStatus:
    name: ServerName
    state: State
    address: str
    pid: int | None
    log_file: Path

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "address": self.address,
            "pid": self.pid,
            "log_file": str(self.log_file),
        }


# --- small helpers ---------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port free on loopback right now (for tests and the ES transport port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return True
    return False


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log yet)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def _java_home(*env_vars: str) -> Path:
    for var in env_vars:
        if os.environ.get(var):
            return Path(os.environ[var])
    java = shutil.which("java")
    if java is None:
        raise LocalServerError(
            "no Java found: install a JDK 17 or newer, or set JAVA_HOME, to run the local servers"
        )
    return Path(java).resolve().parent.parent


def _pid_alive_and_ours(pid: int, marker: str) -> bool:
    """True if ``pid`` runs and was started by us for this state dir (guards against pid reuse)."""
    if _LINUX:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            return False
        return f"{MARKER_ENV}={marker}".encode() in environ.split(b"\0")
    # Elsewhere (macOS) other processes' environments are not readable; both servers carry
    # the state dir on their command line instead.
    result = subprocess.run(["ps", "-p", str(pid), "-o", "command="], capture_output=True,
                            text=True, check=False)  # fmt: skip
    return result.returncode == 0 and marker in result.stdout


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Loaded here, not in the forked child: dlopen after fork in a threaded process can deadlock.
_LINUX = sys.platform.startswith("linux")
_LIBC = ctypes.CDLL(None, use_errno=True) if _LINUX else None
_PR_SET_PDEATHSIG = 1


def _set_parent_death_signal() -> None:
    """Runs in the child before exec: get SIGTERM when the parent dies, even by SIGKILL."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


_userns_ok: bool | None = None


def _user_namespace_prefix() -> list[str]:
    """Command prefix that makes Elasticsearch see a non-root uid when we are root."""
    global _userns_ok
    if os.geteuid() != 0:
        return []
    unshare = shutil.which("unshare")
    prefix = [
        unshare or "unshare", "--user",
        f"--map-user={_NAMESPACE_UID}", f"--map-group={_NAMESPACE_UID}", "--",
    ]  # fmt: skip
    if _userns_ok is None:
        _userns_ok = (
            unshare is not None
            and subprocess.run([*prefix, "true"], capture_output=True, check=False).returncode == 0
        )
    if not _userns_ok:
        raise LocalServerError(
            "Elasticsearch refuses to run as root and user namespaces are unavailable here "
            "(unshare --user failed): run logiflow as a non-root user"
        )
    return prefix


# --- one server ------------------------------------------------------------------------------


class _Server:
    """What Kafka and Elasticsearch share: a process group, a pid file, a log, a health check."""

    name: ServerName
    display: str

    def __init__(self, settings: LocalSettings, console: Console) -> None:
        self.settings = settings
        self.console = console
        self.dir = settings.state_dir.resolve() / self.name
        self.pid_file = self.dir / f"{self.name}.pid"
        # Marks our processes; identifies this state dir, so two stacks never confuse each other.
        self.marker = str(settings.state_dir.resolve())

    # subclass hooks
    @property
    def address(self) -> str:
        raise NotImplementedError

    @property
    def ports(self) -> list[int]:
        raise NotImplementedError

    @property
    def log_file(self) -> Path:
        raise NotImplementedError

    def prepare(self) -> tuple[list[str], dict[str, str], Path]:
        """Write config, return (command, extra environment, working directory)."""
        raise NotImplementedError

    def healthy(self) -> bool:
        raise NotImplementedError

    # pid file
    def _read_pid_file(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.pid_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def running_pid(self) -> int | None:
        data = self._read_pid_file()
        if data is None:
            return None
        pid = int(data.get("pid", 0))
        if pid > 0 and _pid_alive_and_ours(pid, self.marker):
            return pid
        return None

    def status(self) -> ServerStatus:
        data = self._read_pid_file()
        pid = self.running_pid()
        state: State
        if pid is None:
            state = "stale" if data is not None else "stopped"
        else:
            state = "running" if self.healthy() else "starting"
        return ServerStatus(self.name, state, self.address, pid, self.log_file)

    # lifecycle
    def launch(self, foreground: bool) -> subprocess.Popen[bytes]:
        busy = [port for port in self.ports if _port_in_use(port)]
        if busy:
            raise LocalServerError(
                f"{self.display} cannot start: port {busy[0]} on {LOOPBACK} is already in use "
                f"(another server is running there?); choose other ports in the local settings"
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        command, extra_env, cwd = self.prepare()
        env = {**os.environ, **extra_env, MARKER_ENV: self.marker}
        out = open(self.console_file, "ab")  # noqa: SIM115 - handed to the child
        try:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=env,
                start_new_session=True,
                # Only on Linux; elsewhere the atexit hook is the only safety net.
                preexec_fn=_set_parent_death_signal if foreground and _LINUX else None,
            )
        except OSError as exc:
            raise LocalServerError(f"cannot start {self.display}: {exc}") from exc
        finally:
            out.close()
        record = {"pid": proc.pid, "address": self.address, "started_at": time.time()}
        self.pid_file.write_text(json.dumps(record), encoding="utf-8")
        return proc

    @property
    def console_file(self) -> Path:
        """The process's stdout/stderr: JVM errors before logging is set up end up here."""
        return self.dir / f"{self.name}.out"

    def diagnostic_logs(self) -> list[Path]:
        """Files whose last lines explain a failure."""
        return [self.log_file, self.console_file]

    def failure(self, reason: str) -> LocalServerError:
        logs = [p for p in self.diagnostic_logs() if p.is_file() and p.stat().st_size]
        text = "\n".join(f"last lines of {p}:\n{tail(p)}" for p in logs)
        return LocalServerError(
            f"{self.display} at {self.address} {reason}; {text or f'no output in {self.dir}'}"
        )

    def stop(self, grace: float = DEFAULT_STOP_GRACE) -> bool:
        """Stop the server if it runs; True if there was something to stop."""
        pid = self.running_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        # The server leads its own session, so its pid is the process group id.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while _group_alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.2)
        if _group_alive(pid):
            self.console.print(
                f"[yellow]{self.display} did not stop within {grace:.0f}s; killing it[/]"
            )
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            while _group_alive(pid):
                _reap(pid)
                time.sleep(0.1)
        _reap(pid)
        self.pid_file.unlink(missing_ok=True)
        return True


def _reap(pid: int) -> None:
    """Collect our own child's exit status so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, base64url without padding.

    Like Kafka's own ``Uuid.randomUuid``, never one starting with "-": the storage tool's
    argument parser would take it for an option.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class KafkaServer(_Server):
    name: ServerName = "kafka"
    display = "Kafka"

    def __init__(
        self,
        settings: LocalSettings,
        console: Console,
        *,
        extra_properties: dict[str, str] | None = None,
        scram_users: dict[str, str] | None = None,
    ) -> None:
        """``extra_properties`` are added to (or replace) server.properties; ``scram_users``
        (name -> password) get SCRAM-SHA-512 credentials when the storage is formatted. Both
        serve a broker secured like the chart's (TLS + SCRAM + ACLs) next to the plain one."""
        super().__init__(settings, console)
        self.extra_properties = dict(extra_properties or {})
        self.scram_users = dict(scram_users or {})

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.settings.kafka_port}"

    @property
    def ports(self) -> list[int]:
        return [self.settings.kafka_port, self.settings.kafka_controller_port]

    @property
    def log_file(self) -> Path:
        return self.dir / "logs" / "server.log"

    @property
    def cluster_id_file(self) -> Path:
        return self.dir / "cluster.id"

    def _write_config(self) -> tuple[Path, Path]:
        s = self.settings
        data_dir = self.dir / "data"
        logs_dir = self.dir / "logs"
        data_dir.mkdir(parents=True, exist_ok=True)
        logs_dir.mkdir(parents=True, exist_ok=True)
        properties = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{LOOPBACK}:{s.kafka_controller_port}",
            "listeners": f"PLAINTEXT://{LOOPBACK}:{s.kafka_port},"
            f"CONTROLLER://{LOOPBACK}:{s.kafka_controller_port}",
            "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{s.kafka_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(data_dir),
            "auto.create.topics.enable": "false",
            "num.partitions": "1",
            # One node: every internal topic has a single replica.
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "min.insync.replicas": "1",
            # Consumers in tests and `logiflow run` should not wait 3 s for a rebalance.
            "group.initial.rebalance.delay.ms": "0",
            "log.retention.hours": "168",
            **self.extra_properties,
        }
        config = self.dir / "server.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in properties.items()), encoding="utf-8")
        log4j = self.dir / "log4j2.properties"
        log4j.write_text(
            "status = warn\n"
            "appender.file.type = RollingFile\n"
            "appender.file.name = FILE\n"
            f"appender.file.fileName = {self.log_file}\n"
            f"appender.file.filePattern = {logs_dir}/server.log.%i\n"
            "appender.file.layout.type = PatternLayout\n"
            "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
            "appender.file.policies.type = Policies\n"
            "appender.file.policies.size.type = SizeBasedTriggeringPolicy\n"
            "appender.file.policies.size.size = 50MB\n"
            "appender.file.strategy.type = DefaultRolloverStrategy\n"
            "appender.file.strategy.max = 3\n"
            "rootLogger.level = INFO\n"
            "rootLogger.appenderRef.file.ref = FILE\n"
            # The request log and the state-change log are noise at this scale.
            "logger.state.name = state.change.logger\n"
            "logger.state.level = WARN\n",
            encoding="utf-8",
        )
        return config, log4j

    def prepare(self) -> tuple[list[str], dict[str, str], Path]:
        libs = artifacts.ensure_kafka(self.settings, self.console).path / "libs"
        config, log4j = self._write_config()
        java = str(_java_home("JAVA_HOME") / "bin" / "java")
        common = [
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}",
            f"-Dkafka.logs.dir={self.dir / 'logs'}",
            "-cp",
            f"{libs}/*",
        ]
        if not (self.dir / "data" / "meta.properties").exists():
            self._format_storage([java, "-Xmx256m", *_SMALL_MACHINE_JVM_OPTIONS, *common], config)
        heap = self.settings.kafka_heap
        server = [java, f"-Xms{heap}", f"-Xmx{heap}", *_SMALL_MACHINE_JVM_OPTIONS,
                  "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]  # fmt: skip
        return [*server, *common, "kafka.Kafka", str(config)], {}, self.dir

    def _format_storage(self, jvm: list[str], config: Path) -> None:
        cluster_id = self._cluster_id()
        if not cluster_id or cluster_id.startswith("-"):
            cluster_id = new_cluster_id()
            self.cluster_id_file.write_text(cluster_id, encoding="ascii")
        scram = [
            arg
            for user, password in self.scram_users.items()
            for arg in ("--add-scram", f"SCRAM-SHA-512=[name={user},password={password}]")
        ]
        result = subprocess.run(
            [*jvm, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config),
             "--ignore-formatted", *scram],
            capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if result.returncode != 0:
            raise LocalServerError(
                f"formatting Kafka storage in {self.dir / 'data'} failed: "
                f"{(result.stdout + result.stderr).strip()[-2000:]}"
            )

    def healthy(self) -> bool:
        return kafka_ready(self.address, expected_cluster_id=self._cluster_id(), timeout=2.0)

    def _cluster_id(self) -> str | None:
        try:
            return self.cluster_id_file.read_text(encoding="ascii").strip()
        except OSError:
            return None


class ElasticsearchServer(_Server):
    name: ServerName = "elasticsearch"
    display = "Elasticsearch"

    @property
    def address(self) -> str:
        return f"http://{LOOPBACK}:{self.settings.elasticsearch_port}"

    @property
    def ports(self) -> list[int]:
        return [self.settings.elasticsearch_port]

    @property
    def log_file(self) -> Path:
        return self.dir / "logs" / f"{self.cluster_name}.log"

    @property
    def cluster_name(self) -> str:
        # Unique per state dir: the health check refuses a different node on a reused port.
        digest = hashlib.sha1(self.marker.encode()).hexdigest()[:10]
        return f"logiflow-local-{digest}"

    def prepare(self) -> tuple[list[str], dict[str, str], Path]:
        home = artifacts.ensure_elasticsearch(self.settings, self.console).path
        conf = self.dir / "config"
        logs = self.dir / "logs"
        tmp = self.dir / "tmp"
        for path in (conf / "jvm.options.d", self.dir / "data", logs, tmp):
            path.mkdir(parents=True, exist_ok=True)
        for name in ("log4j2.properties", "roles.yml", "role_mapping.yml", "users", "users_roles"):
            shutil.copyfile(home / "config" / name, conf / name)
        # The distribution's GC log goes to a relative path; our logs live elsewhere.
        jvm_options = (home / "config" / "jvm.options").read_text(encoding="utf-8")
        kept = [line for line in jvm_options.splitlines() if "-Xlog:gc" not in line]
        (conf / "jvm.options").write_text("\n".join(kept) + "\n", encoding="utf-8")
        heap = self.settings.elasticsearch_heap
        (conf / "jvm.options.d" / "logiflow.options").write_text(
            "\n".join([f"-Xms{heap}", f"-Xmx{heap}", *_SMALL_MACHINE_JVM_OPTIONS]) + "\n",
            encoding="utf-8",
        )
        settings = {
            "cluster.name": self.cluster_name,
            "node.name": "logiflow-local",
            "network.host": LOOPBACK,
            "http.port": str(self.settings.elasticsearch_port),
            # Nothing connects to the transport port of a single node; any free one will do.
            "transport.port": str(free_port()),
            "discovery.type": "single-node",
            # Loopback only, no other users: TLS and auth would only get in the way here.
            "xpack.security.enabled": "false",
            # Developer disks are often fuller than the production defaults allow.
            "cluster.routing.allocation.disk.watermark.low": "97%",
            "cluster.routing.allocation.disk.watermark.high": "98%",
            "cluster.routing.allocation.disk.watermark.flood_stage": "99%",
            "action.destructive_requires_name": "false",
        }
        (conf / "elasticsearch.yml").write_text(
            "".join(f"{k}: {json.dumps(v)}\n" for k, v in settings.items()), encoding="utf-8"
        )
        env = {
            "ES_JAVA_HOME": str(_java_home("ES_JAVA_HOME", "JAVA_HOME")),
            "ES_PATH_CONF": str(conf),
            "ES_TMPDIR": str(tmp),
            "ES_JAVA_OPTS": "",
        }
        # Paths as -E flags rather than in the yml: they put the state dir on the command line,
        # which is how the process is recognised where /proc is missing.
        command = [
            *_user_namespace_prefix(), str(home / "bin" / "elasticsearch"),
            f"-Epath.data={self.dir / 'data'}", f"-Epath.logs={logs}",
        ]  # fmt: skip
        # Relative paths in jvm.options (hs_err, replay files) land in the logs directory.
        return command, env, logs

    def diagnostic_logs(self) -> list[Path]:
        # Its console output repeats the log and also holds errors from before logging starts.
        return [self.console_file]

    def healthy(self) -> bool:
        return elasticsearch_ready(self.address, expected_cluster=self.cluster_name, timeout=2.0)


# --- health checks usable against any address -------------------------------------------


def kafka_ready(
    bootstrap: str, expected_cluster_id: str | None = None, timeout: float = 5.0
) -> bool:
    """True when a metadata request to ``bootstrap`` succeeds (and the cluster id matches)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": int(timeout * 1000),
                         "logger": _silent_logger})  # fmt: skip
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException:
        return False
    if not metadata.brokers:
        return False
    return expected_cluster_id is None or metadata.cluster_id == expected_cluster_id


# librdkafka logs every refused connection while a broker starts; the caller reports instead.
_silent_logger = logging.getLogger("logiflow.local.kafka-probe")
_silent_logger.addHandler(logging.NullHandler())
_silent_logger.propagate = False


def elasticsearch_ready(
    url: str, expected_cluster: str | None = None, timeout: float = 5.0
) -> bool:
    """True when cluster health is yellow or green (and the cluster name matches)."""
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health", timeout=timeout) as response:
            health = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return False
    if health.get("status") not in ("yellow", "green"):
        return False
    return expected_cluster is None or health.get("cluster_name") == expected_cluster


# --- the pair -----------------------------------------------------------------------------


class LocalServers:
    """The local Kafka broker and Elasticsearch node of one state directory."""

    def __init__(self, settings: LocalSettings, console: Console | None = None) -> None:
        self.settings = settings
        self.console = console if console is not None else Console(stderr=True)
        self.kafka = KafkaServer(settings, self.console)
        self.elasticsearch = ElasticsearchServer(settings, self.console)
        self._atexit_registered = False
        # Servers this object launched in the foreground; only these are stopped at exit, never
        # servers it found already running (e.g. from `logiflow local up`).
        self._owned: set[ServerName] = set()

    @property
    def servers(self) -> tuple[_Server, _Server]:
        return (self.kafka, self.elasticsearch)

    @property
    def kafka_bootstrap(self) -> str:
        return self.kafka.address

    @property
    def elasticsearch_url(self) -> str:
        return self.elasticsearch.address

    def fetch(self) -> None:
        """Download and verify everything the servers need (safe to call at any time)."""
        artifacts.ensure_kafka(self.settings, self.console)
        artifacts.ensure_elasticsearch(self.settings, self.console)

    def start(
        self, timeout: float = DEFAULT_START_TIMEOUT, foreground: bool = True
    ) -> dict[ServerName, bool]:
        """Start both servers (reusing ones already running here) and wait until healthy.

        Returns, per server, whether this call started it. ``foreground`` ties the servers to
        this process: they are stopped at exit and die with it if it is killed. Without it they
        keep running until ``stop`` (``logiflow local up``). If anything fails, whatever this call
        started is stopped again before the error propagates.

        Start foreground servers from the main thread (or one that lives as long as they do):
        Linux sends the parent-death signal when the launching *thread* ends.
        """
        started: dict[ServerName, bool] = {}
        procs: dict[ServerName, subprocess.Popen[bytes]] = {}
        try:
            # Elasticsearch boots slowest: launch it first so Kafka's storage formatting and
            # start overlap with it.
            for server in reversed(self.servers):
                if server.running_pid() is not None:
                    started[server.name] = False
                    continue
                procs[server.name] = server.launch(foreground)
                started[server.name] = True
            if foreground and procs:
                self._owned.update(procs)
                self._register_atexit()
            self._wait_healthy(procs, timeout)
        except BaseException:
            for server in self.servers:
                if server.name in procs:
                    server.stop(grace=10)
            raise
        return started

    def _wait_healthy(
        self, procs: dict[ServerName, subprocess.Popen[bytes]], timeout: float
    ) -> None:
        pending = list(self.servers)
        deadline = time.monotonic() + timeout
        with self.console.status("waiting for Kafka and Elasticsearch to become healthy") as live:
            while pending:
                for server in list(pending):
                    proc = procs.get(server.name)
                    if proc is not None and proc.poll() is not None:
                        raise server.failure(f"exited with code {proc.returncode} while starting")
                    if server.healthy():
                        pending.remove(server)
                        self.console.print(f"{server.display} is up at {server.address}")
                if not pending:
                    break
                if time.monotonic() > deadline:
                    names = " and ".join(s.display for s in pending)
                    raise pending[0].failure(f"({names}) not healthy after {timeout:.0f}s")
                live.update("waiting for " + " and ".join(s.display for s in pending))
                time.sleep(0.5)

    def stop(self, grace: float = DEFAULT_STOP_GRACE) -> dict[ServerName, bool]:
        """Stop both servers; returns, per server, whether it was running."""
        return {server.name: server.stop(grace) for server in self.servers}

    def status(self) -> dict[ServerName, ServerStatus]:
        return {server.name: server.status() for server in self.servers}

    def require_healthy(self) -> None:
        """Raise ServiceUnreachableError naming the first server that does not answer."""
        for server in self.servers:
            if not server.healthy():
                raise ServiceUnreachableError(
                    server.display, server.address,
                    f"the local server is not running or not healthy (see {server.log_file}); "
                    "start it with `logiflow local up`",
                )  # fmt: skip

    def _stop_owned(self) -> None:
        for server in self.servers:
            if server.name in self._owned:
                server.stop()
        self._owned.clear()

    def _register_atexit(self) -> None:
        if not self._atexit_registered:
            atexit.register(self._stop_owned)
            _install_sigterm_handler()
            self._atexit_registered = True

    @contextlib.contextmanager
    def running(self, timeout: float = DEFAULT_START_TIMEOUT) -> Iterator[LocalServers]:
        """Start in the foreground, yield, stop the servers this block started."""
        started = self.start(timeout=timeout, foreground=True)
        try:
            yield self
        finally:
            for server in self.servers:
                if started.get(server.name):
                    server.stop()

    def apply_to(self, config: LogiflowConfig) -> LogiflowConfig:
        """``config`` with Kafka and Elasticsearch pointed at these servers."""
        return config.model_copy(
            update={
                "kafka": config.kafka.model_copy(
                    update={
                        "bootstrap_servers": self.kafka_bootstrap,
                        "security_protocol": "PLAINTEXT",
                    }
                ),
                "elasticsearch": config.elasticsearch.model_copy(
                    update={"hosts": [self.elasticsearch_url]}
                ),
                "local": self.settings,
            }
        )


@dataclass(frozen=True)
class LocalStack:
    """Running local servers together with a config whose services point at them."""

    servers: LocalServers
    config: LogiflowConfig

    @property
    def kafka_bootstrap(self) -> str:
        return self.servers.kafka_bootstrap

    @property
    def elasticsearch_url(self) -> str:
        return self.servers.elasticsearch_url


def _install_sigterm_handler() -> None:
    """Turn SIGTERM into a normal exit so atexit hooks stop the servers (main thread only)."""
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
        signal.signal(signal.SIGTERM, _exit)


# --- topics -------------------------------------------------------------------------------


def create_topics(
    bootstrap: str, topics: Iterable[str], partitions: int = 2, timeout: float = 30.0
) -> list[str]:
    """Create ``topics`` if missing (idempotent); returns the ones this call created."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap, "logger": _silent_logger})
    wanted = list(dict.fromkeys(topics))
    try:
        existing = set(admin.list_topics(timeout=timeout).topics)
    except KafkaException as exc:
        raise ServiceUnreachableError("Kafka", bootstrap, str(exc.args[0])) from exc
    missing = [t for t in wanted if t not in existing]
    if not missing:
        return []
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in missing],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    created = []
    for topic, future in futures.items():
        try:
            future.result()
            created.append(topic)
        except KafkaException as exc:
            error = exc.args[0]
            # Another process created it between our listing and our request.
            if error.code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise LogiflowError(f"cannot create Kafka topic {topic!r}: {error.str()}") from exc
    return created


def ensure_pipeline_topics(config: LogiflowConfig, partitions: int = 2) -> list[str]:
    """The logs and dead-letter topics of ``config``, created if missing."""
    topics = [config.kafka.logs_topic]
    if config.kafka.dead_letter_topic:
        topics.append(config.kafka.dead_letter_topic)
    return create_topics(config.kafka.bootstrap_servers, topics, partitions=partitions)
