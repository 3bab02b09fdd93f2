"""``logiflow dashboard``: serve the local web dashboard (every panel, filters, auto-refresh).

    logiflow dashboard                      # http://127.0.0.1:5601
    logiflow dashboard --port 8080 --time-zone Europe/Paris

It reads the same Elasticsearch as the rest of LogiFlow and needs nothing else: no Kibana, no
internet (every asset is served from installed packages). ``logiflow run`` starts it too.
Registered by ``logiflow.cli.main``; ``logiflow run`` starts the same server (``start_for_run``).
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from logiflow.cli import options
from logiflow.cli.state import state
from logiflow.config import DashboardSettings, LogiflowConfig
from logiflow.errors import ConfigError, LogiflowError

if TYPE_CHECKING:
    from logiflow.dashboard.server import BackgroundDashboard

console = Console()


def dashboard_url(settings: DashboardSettings) -> str:
    host = settings.host
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        shown = "127.0.0.1"
    return f"http://{shown}:{settings.port}"


def check_port_free(settings: DashboardSettings) -> None:
    """Fail with a message that says what to do, before uvicorn prints a traceback-ish error."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.host, settings.port))
        except OSError as exc:
            raise ConfigError(
                f"cannot serve the dashboard on {settings.host}:{settings.port} "
                f"({exc.strerror}); pick another with --port or dashboard.port"
            ) from exc


def start_for_run(config: LogiflowConfig, out: Console) -> BackgroundDashboard | None:
    """The dashboard beside ``logiflow run``: its URL printed, or why it is not there.

    A busy port must not stop the pipeline, so this warns instead of failing.
    """
    from logiflow.dashboard.server import start_in_background

    url = dashboard_url(config.dashboard)
    try:
        check_port_free(config.dashboard)
        running = start_in_background(config, url)
    except LogiflowError as exc:
        out.print(f"[yellow]dashboard not started:[/] {exc}", highlight=False)
        return None
    out.print(f"Dashboard: [bold]{url}[/]", highlight=False)
    return running


def dashboard(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 5601).")] = None,
    time_zone: Annotated[
        str | None, typer.Option("--time-zone", help="IANA time zone of the heatmap and axes.")
    ] = None,
    es_host: options.EsHosts = None,
    index_prefix: options.IndexPrefix = None,
) -> None:
    """Serve the local web dashboard on http://127.0.0.1:5601 (configurable)."""
    config = state(ctx).config(
        elasticsearch=options.elasticsearch_overrides(es_host, index_prefix),
        dashboard={"host": host, "port": port, "time_zone": time_zone},
    )
    check_port_free(config.dashboard)
    from logiflow.dashboard.server import serve

    console.print(
        f"LogiFlow dashboard on [bold]{dashboard_url(config.dashboard)}[/] "
        f"(Elasticsearch {', '.join(config.elasticsearch.hosts)}); Ctrl-C stops it.",
        highlight=False,
    )
    serve(config)
