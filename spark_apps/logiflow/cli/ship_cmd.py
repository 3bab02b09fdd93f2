"""``logiflow ship``: send log files (or stdin) to the Kafka logs topic.

    logiflow ship /var/log/nginx/access.log              # ship what is there, then exit
    logiflow ship --follow /var/log/nginx/access.log     # keep following (tail -F) until Ctrl-C
    kubectl logs deploy/api | logiflow ship --service api

Ctrl-C (or SIGTERM) stops cleanly: records already read are delivered and positions saved. The
exit code is non-zero if Kafka is unreachable or any record was not acknowledged.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from logiflow.cli import options
from logiflow.cli.progress import RateMeter, StatusLine, human_bytes
from logiflow.cli.state import state
from logiflow.config import LogiflowConfig
from logiflow.ingest.producer import DeliveryStats, LogProducer
from logiflow.ingest.shipper import ShipCounts, Shipper, default_reject_file
from logiflow.stop_signals import StopSignals

console = Console(stderr=True)


def ship(
    ctx: typer.Context,
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Log files to ship; '-' or none reads stdin.", show_default=False),
    ] = None,
    follow: Annotated[
        bool,
        typer.Option("--follow", "-f", help="Keep following the files (rotation-aware)."),
    ] = False,
    service: Annotated[
        str | None,
        typer.Option(help="Service name in the record key (default: the file's name, or stdin)."),
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Host name in the record key (default: this machine's).")
    ] = None,
    topic: options.LogsTopic = None,
    bootstrap_servers: options.BootstrapServers = None,
    state_file: Annotated[
        Path | None,
        typer.Option(help="Where file positions are kept (default: <state_dir>/shipper/)."),
    ] = None,
    reject_file: Annotated[
        Path | None, typer.Option(help="Where lines too long for Kafka are kept intact.")
    ] = None,
    max_line_bytes: Annotated[
        int | None,
        typer.Option(
            help="Longest line sent to Kafka; longer ones are cut (and kept whole aside)."
        ),
    ] = None,
) -> None:
    """Send log lines to Kafka, from files (optionally followed) or stdin."""
    config = state(ctx).config(
        kafka=options.kafka_overrides(bootstrap_servers, topic),
        ship={
            "service": service,
            "host": host,
            "state_file": state_file,
            "reject_file": reject_file,
            "max_line_bytes": max_line_bytes,
        },
    )
    paths, use_stdin = _files_or_stdin(files, follow)
    producer = LogProducer(config.kafka, config.ship, config.kafka.logs_topic)
    producer.connect()
    if use_stdin and sys.stdin.isatty():
        console.print("reading lines from the terminal; Ctrl-D ends (give files to ship them)")
    stop = threading.Event()
    meter = RateMeter()
    started = time.monotonic()
    with StatusLine(console) as live:
        shipper = Shipper(
            config,
            producer,
            stop=stop,
            on_tick=lambda: live.update(_status(producer.stats, shipper.counts, meter, stop)),
            notify=lambda message: live.note(f"[yellow]note:[/] {message}"),
        )
        interrupted = _ship_until_stopped(shipper, stop, paths, use_stdin=use_stdin, follow=follow)
    _print_summary(config, producer.stats, shipper.counts, time.monotonic() - started)
    if interrupted and use_stdin:
        raise KeyboardInterrupt


def _files_or_stdin(files: list[Path] | None, follow: bool) -> tuple[list[Path], bool]:
    """The files to ship, and whether to read stdin instead ('-' or no file given)."""
    paths = [p for p in (files or []) if str(p) != "-"]
    use_stdin = not files or len(paths) < len(files)
    if use_stdin and paths:
        raise typer.BadParameter("ship either files or stdin ('-'), not both")
    if use_stdin and follow:
        raise typer.BadParameter("--follow applies to files; stdin is read until it ends")
    return paths, use_stdin


def _status(
    stats: DeliveryStats, counts: ShipCounts, meter: RateMeter, stop: threading.Event
) -> Text:
    """The live status line: progress so far, with rejected and failed lines called out."""
    rate = meter.update(stats.acked)
    text = Text.assemble(
        ("shipping " if not stop.is_set() else "finishing ", "bold"),
        f"{stats.sent} lines sent, {stats.acked} acknowledged ({rate:.0f}/s), "
        f"{human_bytes(stats.bytes_sent)}, {stats.in_flight} in flight",
    )
    if counts.rejected:
        text.append(f", {counts.rejected} too long", style="yellow")
    if stats.failed:
        text.append(f", {stats.failed} failed", style="bold red")
    return text


def _ship_until_stopped(
    shipper: Shipper, stop: threading.Event, paths: list[Path], *, use_stdin: bool, follow: bool
) -> bool:
    """Ship stdin or the files until they end or a signal stops it; True if interrupted."""
    # Stdin: the first Ctrl-C must break the blocking read; files: it stops after the line.
    try:
        with StopSignals(stop, interrupt_first=use_stdin, interrupt_second=True):
            if use_stdin:
                shipper.ship_stream(sys.stdin.buffer)
            else:
                shipper.ship_files(paths, follow=follow)
    except KeyboardInterrupt:
        return True
    return False


def _print_summary(
    config: LogiflowConfig, stats: DeliveryStats, counts: ShipCounts, elapsed: float
) -> None:
    """What was shipped, and what was not (too long, or waiting for its newline)."""
    console.print(
        f"shipped {stats.acked} lines ({human_bytes(stats.bytes_sent)}) to "
        f"{config.kafka.logs_topic} at {config.kafka.bootstrap_servers} in {elapsed:.1f}s"
        + (f"; {counts.blank} blank lines skipped" if counts.blank else ""),
        highlight=False,
        soft_wrap=True,
    )
    if counts.rejected:
        console.print(
            f"[yellow]{counts.rejected} lines longer than {config.ship.max_line_bytes} "
            f"bytes were cut to that length for Kafka (its record limit; the ETL dead-letters "
            f"them); kept intact in {default_reject_file(config)}[/]",
            highlight=False,
            soft_wrap=True,
        )
    for path, count in counts.held_back.items():
        console.print(
            f"[dim]{path}: the last {count} bytes have no newline yet; they are shipped once the "
            "line is complete[/]",
            highlight=False,
            soft_wrap=True,
        )
