"""``logiflow generate``: synthetic web traffic into the Kafka logs topic at a target rate.

    logiflow generate --rate 500 --duration 60            # 30,000 lines over a minute
    logiflow generate --rate 200 --error-burst 20+30:orders-api   # orders-api fails for 30 s
    logiflow generate --rate 50                           # until Ctrl-C

With ``--duration`` (or ``--count``) exactly rate x duration (or count) lines are sent, paced at
the rate, so the run takes about that long. Lines come from ``logiflow.ingest.generator``:
nginx access lines (storefront) and JSON API logs (orders-api, catalog-api).
"""

from __future__ import annotations

import threading
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from logiflow.cli import options as cli_options
from logiflow.cli.progress import RateMeter, StatusLine, human_bytes
from logiflow.cli.state import state
from logiflow.ingest.producer import LogProducer
from logiflow.ingest.traffic import BurstSpec, FormatChoice, TrafficOptions, TrafficSender
from logiflow.stop_signals import StopSignals

console = Console(stderr=True)


def line_count(rate: float, duration: float | None, count: int | None) -> int | None:
    if count is not None and duration is not None:
        raise typer.BadParameter("give --duration or --count, not both", param_hint="--count")
    if count is not None:
        return count
    if duration is not None:
        return round(rate * duration)
    return None


def generate(
    ctx: typer.Context,
    rate: cli_options.Rate = 100.0,
    duration: Annotated[
        float | None,
        typer.Option(
            help="Seconds to run (sends rate x duration lines).", callback=cli_options.positive
        ),
    ] = None,
    count: Annotated[
        int | None, typer.Option(min=0, help="Lines to send, instead of --duration.")
    ] = None,
    seed: cli_options.Seed = 0,
    line_format: Annotated[
        FormatChoice, typer.Option("--format", help="nginx access lines, JSON API logs, or both.")
    ] = "mixed",
    malformed: cli_options.MalformedShare = 0.0,
    error_burst: Annotated[
        list[str] | None,
        typer.Option(
            "--error-burst",
            help="AT+LENGTH[:SERVICE[:SHARE]] seconds from the start, e.g. 30+60:orders-api "
            "(repeatable).",
        ),
    ] = None,
    topic: cli_options.LogsTopic = None,
    bootstrap_servers: cli_options.BootstrapServers = None,
) -> None:
    """Send realistic synthetic traffic (access and JSON API logs) to Kafka at a steady rate."""
    config = state(ctx).config(kafka=cli_options.kafka_overrides(bootstrap_servers, topic))
    options = TrafficOptions(
        rate=rate,
        count=line_count(rate, duration, count),
        seed=seed,
        format=line_format,
        malformed_share=malformed,
        bursts=[BurstSpec.parse(text) for text in error_burst or []],
    )
    producer = LogProducer(config.kafka, config.ship, config.kafka.logs_topic)
    producer.connect()
    stop = threading.Event()
    meter = RateMeter()
    started = time.monotonic()

    with StatusLine(console) as live:

        def tick() -> None:
            stats = producer.stats
            total = f"/{options.count}" if options.count is not None else ""
            live.update(
                Text.assemble(
                    ("generating ", "bold"),
                    f"{stats.sent}{total} lines sent, {stats.acked} acknowledged "
                    f"({meter.update(stats.acked):.0f}/s, target {rate:g}/s), "
                    f"{human_bytes(stats.bytes_sent)}",
                )
            )

        sender = TrafficSender(producer, options, stop=stop, on_tick=tick)
        with StopSignals(stop, interrupt_second=True):
            sender.run()

    elapsed = time.monotonic() - started
    stats = producer.stats
    console.print(
        f"generated {stats.acked} lines ({human_bytes(stats.bytes_sent)}, "
        f"{sender.errors_sent} with status >= 400, {sender.dead_letter_candidates} malformed) "
        f"to {config.kafka.logs_topic} at {config.kafka.bootstrap_servers} in {elapsed:.1f}s "
        f"({stats.acked / elapsed if elapsed else 0:.0f}/s)",
        highlight=False,
        soft_wrap=True,
    )
