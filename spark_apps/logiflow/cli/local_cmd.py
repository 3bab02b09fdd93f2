"""``logiflow local up|down|status|fetch``: the local Kafka and Elasticsearch servers (and the
s3proxy S3 server when ``archive.enabled`` names no endpoint of its own).

``up`` fetches what is missing (first run only), starts both servers in the background, waits
until they are healthy and creates the pipeline's topics; they keep running until ``down``.
``up --foreground`` keeps them tied to the terminal instead and stops them on Ctrl-C.
``up --prometheus`` also starts a local Prometheus (Debian's package) scraping every LogiFlow
process that serves metrics here (``metrics.port``), the ETL's Spark UI and Elasticsearch through
its exporter (``elasticsearch_exporter``, which it starts too); ``down`` stops both.
``status --json`` prints their state and addresses for scripts. Ports, heaps and the state
directory come from the ``local`` section of the config (``LOGIFLOW_LOCAL__*``) or the flags.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from logiflow.cli.state import state
from logiflow.config import LogiflowConfig
from logiflow.io.topic_admin import ensure_pipeline_topics
from logiflow.local import artifacts
from logiflow.local.elasticsearch_exporter_server import ElasticsearchExporterServer
from logiflow.local.process import ServerProcess
from logiflow.local.prometheus_server import PrometheusServer
from logiflow.local.servers import DEFAULT_START_TIMEOUT, LocalServers

local_app = typer.Typer(
    help="Local Kafka and Elasticsearch servers (the embedded default): up, down, status.",
    no_args_is_help=True,
)

out = Console()
err = Console(stderr=True)

StateDirOption = Annotated[
    Path | None,
    typer.Option("--state-dir", help="Where the servers keep config, data, logs and pid files."),
]


def _config(ctx: typer.Context, state_dir: Path | None, **local: Any) -> LogiflowConfig:
    return state(ctx).config(local={"state_dir": state_dir, **local})


def _servers(config: LogiflowConfig) -> LocalServers:
    return LocalServers(config.local, err, archive=config.archive)


@local_app.command("up")
def up(
    ctx: typer.Context,
    state_dir: StateDirOption = None,
    kafka_port: Annotated[int | None, typer.Option(help="Kafka client port.")] = None,
    elasticsearch_port: Annotated[int | None, typer.Option(help="Elasticsearch HTTP port.")] = None,
    foreground: Annotated[
        bool, typer.Option("--foreground", help="Stay attached; stop the servers on Ctrl-C.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for both servers to become healthy.")
    ] = DEFAULT_START_TIMEOUT,
    prometheus: Annotated[
        bool,
        typer.Option(
            "--prometheus",
            help="Also start a local Prometheus scraping LogiFlow, and Elasticsearch's exporter.",
        ),
    ] = False,
) -> None:
    """Start the local Kafka broker and Elasticsearch node and create the pipeline's topics."""
    config = _config(ctx, state_dir, kafka_port=kafka_port, elasticsearch_port=elasticsearch_port)
    servers = _servers(config)
    started = servers.start(timeout=timeout, foreground=foreground)
    try:
        if prometheus:
            start_monitor(PrometheusServer(config.local, err), foreground, timeout)
            start_monitor(ElasticsearchExporterServer(config.local, err), foreground, timeout)
        config = servers.apply_to(config)
        created = ensure_pipeline_topics(config)
        for name, was_started in started.items():
            if not was_started:
                err.print(f"{name} was already running")
        if created:
            err.print("created topics: " + ", ".join(created))
        _print_table(servers)
        if foreground:
            err.print("servers running; press Ctrl-C to stop them")
            while True:
                signal.pause()
    finally:
        if foreground:
            with err.status("stopping the local servers"):
                servers.stop()
                for monitor in _monitoring(config):
                    monitor.stop()


def _monitoring(config: LogiflowConfig) -> list[ServerProcess]:
    """The processes ``up --prometheus`` adds: Prometheus and Elasticsearch's exporter."""
    return [PrometheusServer(config.local, err), ElasticsearchExporterServer(config.local, err)]


def start_monitor(server: ServerProcess, foreground: bool, timeout: float) -> None:
    """Start a monitoring process (Prometheus, an exporter) unless it runs; wait until ready."""
    if server.running_pid() is not None:
        err.print(f"{server.name} was already running")
        return
    proc = server.launch(foreground)
    deadline = time.monotonic() + timeout
    while not server.healthy():
        if proc.poll() is not None:
            raise server.failure(f"exited with code {proc.returncode} while starting")
        if time.monotonic() > deadline:
            raise server.failure(f"not ready after {timeout:.0f}s")
        time.sleep(0.3)
    err.print(f"{server.display} is up at {server.address}")


@local_app.command("down")
def down(ctx: typer.Context, state_dir: StateDirOption = None) -> None:
    """Stop the local servers (SIGTERM, then SIGKILL after a grace period)."""
    config = _config(ctx, state_dir)
    servers = _servers(config)
    with err.status("stopping the local servers"):
        stopped = servers.stop()
        for monitor in _monitoring(config):
            stopped[monitor.name] = monitor.stop()
    for name, was_running in stopped.items():
        err.print(f"{name}: {'stopped' if was_running else 'was not running'}")


@local_app.command("status")
def status(
    ctx: typer.Context,
    state_dir: StateDirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show whether the local servers run, and where (always exits 0; read the state)."""
    servers = _servers(_config(ctx, state_dir))
    if as_json:
        out.print_json(json.dumps(status_document(servers)))
    else:
        _print_table(servers)


@local_app.command("fetch")
def fetch(ctx: typer.Context) -> None:
    """Download and verify the servers and the Spark Kafka connector into the cache."""
    config = state(ctx).config()
    servers = _servers(config)
    servers.fetch()
    jars = artifacts.connector_jars(config.local, err)
    if config.archive.enabled:
        jars += artifacts.s3a_jars(config.local, err)
    err.print(f"cache ready in {config.local.cache_dir} ({len(jars)} connector jars)")


def status_document(servers: LocalServers) -> dict[str, Any]:
    """What ``status --json`` prints."""
    report = servers.status()
    kafka = report["kafka"].as_dict()
    kafka["bootstrap_servers"] = servers.kafka_bootstrap
    elasticsearch = report["elasticsearch"].as_dict()
    elasticsearch["url"] = servers.elasticsearch_url
    prometheus = PrometheusServer(servers.settings, err)
    exporter = ElasticsearchExporterServer(servers.settings, err)
    document = {
        "state_dir": str(servers.settings.state_dir),
        "kafka": kafka,
        "elasticsearch": elasticsearch,
        "prometheus": prometheus.status().as_dict() | {"url": prometheus.address},
        "elasticsearch_exporter": exporter.status().as_dict() | {"url": exporter.address},
    }
    if "s3proxy" in report:
        s3proxy = report["s3proxy"].as_dict()
        s3proxy["endpoint"] = servers.s3proxy.address
        s3proxy["bucket"] = servers.archive.bucket
        document["s3proxy"] = s3proxy
    return document


def _print_table(servers: LocalServers) -> None:
    table = Table("server", "state", "address", "pid", "log")
    colours = {"running": "green", "starting": "yellow", "stale": "red", "stopped": "dim"}
    monitoring: list[ServerProcess] = [
        PrometheusServer(servers.settings, err),
        ElasticsearchExporterServer(servers.settings, err),
    ]
    for item in [*servers.status().values(), *(m.status() for m in monitoring)]:
        table.add_row(
            item.name,
            f"[{colours[item.state]}]{item.state}[/]",
            item.address,
            str(item.pid or "-"),
            str(item.log_file),
        )
    out.print(table)
