"""``logiflow anomalies``: the anomalies the streaming detector found, newest first.

    logiflow anomalies                    # the last 24 hours
    logiflow anomalies --since 7d --service storefront --json
    logiflow anomalies --since 3h --labels incidents.jsonl   # score against `generate --labels`

How they are found: ``logiflow.anomaly.detector``; where they are: ``<prefix>-anomalies-*``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from logiflow.anomaly.evaluation import Evaluation, evaluate
from logiflow.anomaly.labels import found as found_detections
from logiflow.anomaly.labels import read_labels
from logiflow.anomaly.listing import anomalies_between, recent_anomalies
from logiflow.cli import options
from logiflow.cli.state import state
from logiflow.config import interval_seconds
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
    labels: Annotated[
        Path | None,
        typer.Option(
            help="Score what was found since --since against these incident labels (from "
            "`logiflow generate --labels`): recall and delay per kind, false alarms.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    es_host: options.EsHosts = None,
    index_prefix: options.IndexPrefix = None,
) -> None:
    """List the anomalies found: error spikes, latency regressions, traffic drops and surges."""
    config = state(ctx).config(elasticsearch=options.elasticsearch_overrides(es_host, index_prefix))
    start = options.time_or_ago(since) or datetime.now(UTC) - timedelta(days=1)
    if labels is not None:
        incidents = read_labels(labels)
        end = datetime.now(UTC)
        with connect(config.elasticsearch) as client:
            documents = anomalies_between(client, config.elasticsearch.index_prefix, start, end)
        window = round(interval_seconds(config.aggregate.window))
        days = (end - start).total_seconds() / 86_400
        result = evaluate(incidents, found_detections(documents), window, days)
        if as_json:
            typer.echo(json.dumps(_score_json(result), indent=2, sort_keys=True))
        else:
            _print_score(result, start)
        return
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


def _score_json(result: Evaluation) -> dict[str, object]:
    return {
        "kinds": {
            kind: {"incidents": k.incidents, "detected": k.detected, "recall": k.recall,
                   "delays": k.delays}
            for kind, k in result.kinds.items()
            if k.incidents
        },
        "alarms": result.alarms,
        "precision": result.precision,
        "false_alarms": result.false_alarms,
    }  # fmt: skip


def _print_score(result: Evaluation, start: datetime) -> None:
    title = f"Labelled incidents since {start:%Y-%m-%d %H:%M} UTC"
    table = Table(title=title, title_justify="left")
    for column in ("incident kind", "incidents", "detected", "recall", "delay (windows)"):
        table.add_column(column)
    for kind, k in result.kinds.items():
        if k.incidents:
            delay = f"max {max(k.delays)}" if k.delays else "-"
            table.add_row(kind, str(k.incidents), str(k.detected), f"{k.recall:.2f}", delay)
    console.print(table)
    false = sum(result.false_alarms.values())
    console.print(
        f"{result.alarms} alarms, {false} false (precision {result.precision:.2f})"
        + "".join(f"; {service}: {n} false" for service, n in sorted(result.false_alarms.items()))
    )
