"""``logiflow replay-dead-letters``: send the dead-letter topic through the pipeline again.

    logiflow replay-dead-letters --dry-run    # what is there, counted by reason
    logiflow replay-dead-letters              # after the fix: back into the logs topic

Each run continues where the previous one (same ``--group``) stopped; see
``logiflow.ingest.replay`` for the guarantees.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from logiflow.cli import options
from logiflow.cli.state import state
from logiflow.ingest.replay import DEFAULT_GROUP, replay_dead_letters

console = Console()


def replay(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count by reason; send and commit nothing.")
    ] = False,
    group: Annotated[
        str, typer.Option(help="Consumer group that remembers how far replays got.")
    ] = DEFAULT_GROUP,
    topic: options.LogsTopic = None,
    bootstrap_servers: options.BootstrapServers = None,
) -> None:
    """Send the dead letters back to the logs topic, once their cause is fixed."""
    config = state(ctx).config(kafka=options.kafka_overrides(bootstrap_servers, topic))
    result = replay_dead_letters(config.kafka, config.ship, group=group, dry_run=dry_run)
    if result.reasons:
        table = Table(title="Dead letters by reason", title_justify="left")
        table.add_column("reason", overflow="fold")
        table.add_column("lines", justify="right")
        for reason, count in result.reasons.most_common():
            table.add_row(reason or "(none given)", f"{count:,}")
        console.print(table)
    action = "would send" if dry_run else "sent"
    console.print(
        f"read {result.read:,} dead letters from {config.kafka.dead_letter_topic!r}; "
        f"{action} {result.unique:,} to {config.kafka.logs_topic!r}; "
        f"{result.duplicates:,} duplicates skipped",
        highlight=False,
    )
    if result.expired:
        console.print(
            f"[yellow]{result.expired:,} dead letters were deleted by Kafka retention before "
            "any replay sent them[/]; their documents remain in the dead-letter index",
            highlight=False,
        )
