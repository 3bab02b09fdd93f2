"""``logiflow ship``: send log files (or stdin) to the Kafka logs topic.

    logiflow ship /var/log/nginx/access.log              # ship what is there, then exit
    logiflow ship --follow /var/log/nginx/access.log     # keep following (tail -F) until Ctrl-C
    logiflow ship --follow '/var/log/nginx/*.log'        # a glob (quoted): new files join too
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
from logiflow.errors import ConfigError
from logiflow.ingest.producer import DeliveryStats, LogProducer
from logiflow.ingest.rotated_files import expand_patterns, has_patterns
from logiflow.ingest.shipper import ShipCounts, Shipper, default_reject_file
from logiflow.metrics.exporter import serve_metrics
from logiflow.stop_signals import StopSignals

console = Console(stderr=True)


def ship(
    ctx: typer.Context,
    files: Annotated[
        list[str] | None,
        typer.Argument(
            help="Log files or globs to ship, e.g. 'logs/*.log' (quoted: new files matching it "
            "are picked up while following; rotated files it matches are read oldest first); "
            "'-' or none reads stdin.",
            metavar="FILE|GLOB",
            show_default=False,
        ),
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
    patterns, use_stdin = _files_or_stdin(files, follow)
    producer = LogProducer(config.kafka, config.ship, config.kafka.logs_topic)
    producer.connect()
    serve_metrics(config, "shipper")
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
        interrupted = _ship_until_stopped(
            shipper, stop, patterns, use_stdin=use_stdin, follow=follow
        )
    _print_summary(config, producer.stats, shipper.counts, time.monotonic() - started)
    if interrupted and use_stdin:
        raise KeyboardInterrupt


def _files_or_stdin(files: list[str] | None, follow: bool) -> tuple[list[str], bool]:
    """The files or globs to ship, and whether to read stdin instead ('-' or no file given)."""
    paths = [p for p in (files or []) if p != "-"]
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
    shipper: Shipper, stop: threading.Event, patterns: list[str], *, use_stdin: bool, follow: bool
) -> bool:
    """Ship stdin or the files until they end or a signal stops it; True if interrupted."""
    # Stdin: the first Ctrl-C must break the blocking read; files: it stops after the line.
    try:
        with StopSignals(stop, interrupt_first=use_stdin, interrupt_second=True):
            if use_stdin:
                shipper.ship_stream(sys.stdin.buffer)
            else:
                _ship_patterns(shipper, patterns, follow=follow)
    except KeyboardInterrupt:
        return True
    return False


def _ship_patterns(shipper: Shipper, patterns: list[str], *, follow: bool) -> None:
    """Expand the globs (again every few seconds while following) and ship what they match."""
    found = expand_patterns(patterns)
    if not found and not follow:
        raise ConfigError(f"no file matches {' '.join(patterns)}")
    shipper.ship_files(
        found,
        follow=follow,
        read_rotated_first=[path for path, rotated in found.items() if rotated],
        discover=(lambda: expand_patterns(patterns)) if has_patterns(patterns) else None,
    )


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
