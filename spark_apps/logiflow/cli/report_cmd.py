"""``logiflow report``: what is in Elasticsearch, as tables for people or JSON for scripts.

    logiflow report
    logiflow report --json | jq .error_rate

JSON keys (stable): index_prefix, events_indexed, dead_letters, filtered, batches {batches,
input, indexed, filtered, dead_letter}, requests, errors, error_rate, status_classes {1xx..5xx},
top_endpoints [{endpoint, requests, errors, error_rate}], first_event, last_event.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console, Group
from rich.table import Table

from logiflow.cli import options
from logiflow.cli.state import state
from logiflow.io.es_client import connect, describe_hosts
from logiflow.report import Report, build_report, refresh_before_counting

console = Console()


def report_tables(report: Report) -> Group:
    totals = Table(title="LogiFlow in Elasticsearch", show_header=False, title_justify="left")
    totals.add_column("what")
    totals.add_column("count", justify="right")
    totals.add_row("events indexed", f"{report.events_indexed:,}")
    totals.add_row("dead letters", f"{report.dead_letters:,}")
    totals.add_row("filtered (by drop rules)", f"{report.batches.filtered:,}")
    totals.add_row("lines read by the ETL", f"{report.batches.input:,}")
    totals.add_row("requests", f"{report.traffic.requests:,}")
    totals.add_row("error rate (status >= 400)", f"{report.traffic.error_rate:.2%}")
    totals.add_row("first event", report.first_event or "-")
    totals.add_row("last event", report.last_event or "-")

    classes = Table(title="Requests by status class", title_justify="left")
    classes.add_column("class")
    classes.add_column("requests", justify="right")
    classes.add_column("share", justify="right")
    for name, value in report.traffic.status_classes.items():
        share = value / report.traffic.requests if report.traffic.requests else 0.0
        classes.add_row(name, f"{value:,}", f"{share:.1%}")

    endpoints = Table(title="Top endpoints", title_justify="left")
    endpoints.add_column("endpoint", overflow="fold")
    endpoints.add_column("requests", justify="right")
    endpoints.add_column("errors", justify="right")
    endpoints.add_column("error rate", justify="right")
    for endpoint in report.traffic.top_endpoints:
        endpoints.add_row(
            endpoint.endpoint,
            f"{endpoint.requests:,}",
            f"{endpoint.errors:,}",
            f"{endpoint.error_rate:.1%}",
        )
    return Group(totals, classes, endpoints)


def report(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (stable keys).")] = False,
    top: Annotated[int, typer.Option(help="How many endpoints to list.", min=1)] = 10,
    es_host: options.EsHosts = None,
    index_prefix: options.IndexPrefix = None,
) -> None:
    """Show what is in Elasticsearch: events, dead letters, filtered, status classes, endpoints."""
    config = state(ctx).config(elasticsearch=options.elasticsearch_overrides(es_host, index_prefix))
    settings = config.elasticsearch
    with connect(settings) as client:
        # What the ETL wrote a moment ago counts too.
        refresh_before_counting(client, settings.index_prefix, settings.refresh_interval)
        result = build_report(client, settings.index_prefix, top=top)
    if as_json:
        typer.echo(json.dumps(result.as_json(), indent=2, sort_keys=True))
        return
    console.print(f"Elasticsearch {describe_hosts(settings)}, prefix {settings.index_prefix!r}")
    console.print(report_tables(result))
