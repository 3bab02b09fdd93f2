"""A local server as a process we own: launched in its own session, tracked by a pid file,
stopped by process group; the parts Kafka and Elasticsearch share (``ServerProcess``).

Each server runs in its own session (process group) so stopping it reaches the JVMs it forks:
SIGTERM to the group, then SIGKILL after a grace period. Servers started in the foreground also
get a parent-death signal (and, from ``LocalServers``, an atexit hook), so a Ctrl-C or a crash of
the owner leaves no orphan. Only processes whose environment carries our marker for this state
directory are ever signalled, so a stale pid file can never make us kill somebody else's
process.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rich.console import Console

from logiflow.config import LocalSettings
from logiflow.errors import LogiflowError

LOOPBACK = "127.0.0.1"
MARKER_ENV = "LOGIFLOW_LOCAL_SERVER"
DEFAULT_STOP_GRACE = 30.0

# C1 only: halves the CPU a server burns while starting (measured: Elasticsearch 9 s instead of
# 16 s of CPU, 22 s instead of 41 s wall on a busy 2-core machine); the peak speed C2 would add
# later is not needed at single-machine volumes.
SMALL_MACHINE_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1",)

ServerName = Literal["kafka", "elasticsearch", "s3proxy", "prometheus", "elasticsearch-exporter"]
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


def java_home(*env_vars: str) -> Path:
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
    if LINUX:
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
LINUX = sys.platform.startswith("linux")
_LIBC = ctypes.CDLL(None, use_errno=True) if LINUX else None
_PR_SET_PDEATHSIG = 1


def _set_parent_death_signal() -> None:
    """Runs in the child before exec: get SIGTERM when the parent dies, even by SIGKILL."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class ServerProcess:
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

    def running_address(self) -> str | None:
        """The address the running server was started with (its pid file); None if stopped.
        Other processes need not share the ports of the config that started it."""
        data = self._read_pid_file()
        if data is None or self.running_pid() is None:
            return None
        return str(data.get("address") or self.address)

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
                preexec_fn=_set_parent_death_signal if foreground and LINUX else None,
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
            reap(pid)
            time.sleep(0.2)
        if _group_alive(pid):
            self.console.print(
                f"[yellow]{self.display} did not stop within {grace:.0f}s; killing it[/]"
            )
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            while _group_alive(pid):
                reap(pid)
                time.sleep(0.1)
        reap(pid)
        self.pid_file.unlink(missing_ok=True)
        return True


def reap(pid: int) -> None:
    """Collect our own child's exit status so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
