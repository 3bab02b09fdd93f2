"""``logiflow check``: prove a running pipeline end to end with one marker line.

    logiflow check --timeout 300

Sends one access-log line with a unique marker to the logs topic and waits until the running
ETL has indexed it. Exit 0 when the event is searchable, 1 when it did not appear in time. The
chart's ``helm test`` runs exactly this command.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from logiflow.cli.state import state
from logiflow.io.es_client import connect
from logiflow.pipeline_check import find_marker, new_marker, send_marker

err_console = Console(stderr=True)


def check(
    ctx: typer.Context,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the marker to be searchable.", min=1)
    ] = 300.0,
) -> None:
    """Send one marker line through the running pipeline and wait until it is searchable."""
    config = state(ctx).config()
    with connect(config.elasticsearch) as client:
        marker = new_marker()
        send_marker(config, marker)
        typer.echo(f"sent marker {marker.token} to topic {config.kafka.logs_topic}")
        index = find_marker(client, config.elasticsearch.index_prefix, marker, timeout)
    if index is None:
        err_console.print(
            f"[bold red]error:[/] marker {marker.token} not indexed after {timeout:g}s: is "
            "`logiflow etl` running and reading this topic?",
            highlight=False,
        )
        raise typer.Exit(1)
    typer.echo(f"found marker {marker.token} in {index}")
