"""``logiflow anomalies``: the anomalies the streaming detector found, newest first.

    logiflow anomalies                    # the last 24 hours
    logiflow anomalies --since 7d --service storefront --json

How they are found: ``logiflow.anomaly.detector``; where they are: ``<prefix>-anomalies-*``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from logiflow.anomaly.listing import recent_anomalies
from logiflow.cli import options
from logiflow.cli.state import state
from logiflow.contract import anomalies as a
from logiflow.io.es_client import connect

console = Console()
_SEVERITY_STYLE = {a.CRITICAL: "bold red", a.MAJOR: "red", a.MINOR: "yellow"}


def anomalies(
    ctx: typer.Context,
    since: Annotated[
        str, typer.Option(help="From this time on (ISO 8601, or a duration ago: 2h, 7d).")
    ] = "24h",
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print the documents as JSON.")] = False,
    es_host: options.EsHosts = None,
    index_prefix: options.IndexPrefix = None,
) -> None:
    """List the anomalies found: error spikes, latency regressions, traffic drops and surges."""
    config = state(ctx).config(elasticsearch=options.elasticsearch_overrides(es_host, index_prefix))
    start = options.time_or_ago(since) or datetime.now(UTC) - timedelta(days=1)
    with connect(config.elasticsearch) as client:
        found = recent_anomalies(client, config.elasticsearch.index_prefix, start, service, limit)
    if as_json:
        typer.echo(json.dumps(found, indent=2, sort_keys=True))
        return
    if not found:
        console.print(f"No anomalies since {start:%Y-%m-%d %H:%M} UTC.")
        return
    table = Table(title=f"Anomalies since {start:%Y-%m-%d %H:%M} UTC", title_justify="left")
    for column in ("minute (UTC)", "severity", "score", "what"):
        table.add_column(column, overflow="fold")
    for doc in found:
        severity = doc.get(a.SEVERITY_NAME, "")
        table.add_row(
            str(doc.get(a.TIMESTAMP, ""))[:16].replace("T", " "),
            f"[{_SEVERITY_STYLE.get(severity, '')}]{severity}[/]",
            f"{doc.get(a.SCORE, 0):.0f}",
            str(doc.get(a.MESSAGE, "")),
        )
    console.print(table)
