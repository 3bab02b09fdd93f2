"""The embedded default's servers: one Kafka broker, one Elasticsearch node and, when the raw-log
archive is enabled with no endpoint of its own, one s3proxy (``s3proxy_server``).

Both listen on 127.0.0.1 only, keep their configuration, data and logs under
``LocalSettings.state_dir`` (``kafka/`` and ``elasticsearch/``) and record a pid file there, so
``logiflow local down`` and ``status`` work from any process. ``LocalServers`` starts them
together (Elasticsearch first, it boots slowest), waits until both are healthy, and stops what
it started; the servers themselves are in ``kafka_server`` and ``elasticsearch_server``, the
process handling they share in ``process``.
"""

from __future__ import annotations

import atexit
import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import SecretStr
from rich.console import Console

from logiflow.config import ArchiveSettings, LocalSettings, LogiflowConfig
from logiflow.errors import ServiceUnreachableError
from logiflow.local import artifacts
from logiflow.local.elasticsearch_server import ElasticsearchServer
from logiflow.local.kafka_server import KafkaServer
from logiflow.local.process import DEFAULT_STOP_GRACE, ServerName, ServerProcess, ServerStatus
from logiflow.local.s3proxy_server import S3ProxyServer
from logiflow.stop_signals import exit_on_sigterm

DEFAULT_START_TIMEOUT = 180.0


class LocalServers:
    """The local Kafka broker and Elasticsearch node of one state directory."""

    def __init__(
        self,
        settings: LocalSettings,
        console: Console | None = None,
        *,
        elasticsearch_node_settings: dict[str, str] | None = None,
        archive: ArchiveSettings | None = None,
    ) -> None:
        """``elasticsearch_node_settings``: extra static node settings (elasticsearch.yml);
        ``archive``: the archive settings, which decide whether s3proxy is one of the servers."""
        self.settings = settings
        self.console = console if console is not None else Console(stderr=True)
        self.kafka = KafkaServer(settings, self.console)
        self.elasticsearch = ElasticsearchServer(
            settings, self.console, node_settings=elasticsearch_node_settings
        )
        archive = archive or ArchiveSettings()
        self.archive = archive
        self.s3proxy = S3ProxyServer(settings, self.console, archive.bucket)
        # The local S3 server stands in for an archive endpoint the config does not give.
        self.with_s3proxy = archive.enabled and archive.endpoint is None
        self._atexit_registered = False
        # Servers this object launched in the foreground; only these are stopped at exit, never
        # servers it found already running (e.g. from `logiflow local up`).
        self._owned: set[ServerName] = set()

    @property
    def servers(self) -> tuple[ServerProcess, ...]:
        core: tuple[ServerProcess, ...] = (self.kafka, self.elasticsearch)
        return (*core, self.s3proxy) if self.with_s3proxy else core

    @property
    def kafka_bootstrap(self) -> str:
        return self.kafka.address

    @property
    def elasticsearch_url(self) -> str:
        return self.elasticsearch.address

    def fetch(self) -> None:
        """Download and verify everything the servers need (safe to call at any time)."""
        artifacts.ensure_kafka(self.settings, self.console)
        # Small, and fetched up front so turning local.kafka_metrics_port on needs no network.
        artifacts.ensure_kafka_metrics_reporter(self.settings, self.console)
        artifacts.ensure_elasticsearch(self.settings, self.console)
        if self.with_s3proxy:
            artifacts.ensure_s3proxy(self.settings, self.console)

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
            for server in (self.elasticsearch, self.kafka, *self.servers[2:]):
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
        names = " and ".join(s.display for s in pending)
        with self.console.status(f"waiting for {names} to become healthy") as live:
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
        """Stop the servers; returns, per server, whether it was running. An s3proxy left
        running from a config that enabled the archive is stopped too."""
        stopped = {server.name: server.stop(grace) for server in self.servers}
        if not self.with_s3proxy and self.s3proxy.running_pid() is not None:
            stopped[self.s3proxy.name] = self.s3proxy.stop(grace)
        return stopped

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
            exit_on_sigterm()
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

    def apply_archive_to(self, config: LogiflowConfig) -> LogiflowConfig:
        """``config`` with the archive pointed at the local s3proxy, if it stands in for it."""
        if not self.with_s3proxy:
            return config
        credentials = self.s3proxy.credentials()
        archive = config.archive.model_copy(
            update={
                "endpoint": self.s3proxy.address,
                "path_style": True,
                "access_key_id": credentials.access_key_id,
                "secret_access_key": SecretStr(credentials.secret_access_key),
            }
        )
        return config.model_copy(update={"archive": archive})

    def apply_to(self, config: LogiflowConfig) -> LogiflowConfig:
        """``config`` with Kafka, Elasticsearch (and the archive) pointed at these servers."""
        archive = self.apply_archive_to(config).archive
        return config.model_copy(
            update={
                "archive": archive,
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
