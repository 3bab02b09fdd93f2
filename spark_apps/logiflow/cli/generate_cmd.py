"""``logiflow generate``: synthetic web traffic into the Kafka logs topic at a target rate.

    logiflow generate --rate 500 --duration 60            # 30,000 lines over a minute
    logiflow generate --rate 200 --error-burst 20+30:orders-api   # orders-api fails for 30 s
    logiflow generate --rate 50                           # until Ctrl-C
    logiflow generate --rate 100 --duration 7200 --latency-spike 3600+600:orders-api \
        --traffic-drop 5400+300:catalog-api --labels incidents.jsonl   # labelled incidents

With ``--duration`` (or ``--count``) exactly rate x duration (or count) lines are sent, paced at
the rate, so the run takes about that long. Lines come from ``logiflow.ingest.generator``:
nginx access lines (storefront) and JSON API logs (orders-api, catalog-api). Incidents
(``ingest.incidents``) break the traffic on purpose; ``--labels`` writes what was broken, as the
ground truth ``logiflow anomalies --labels`` scores the detector against.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from logiflow.anomaly.evaluation import ERROR_BURST, LATENCY_REGRESSION, TRAFFIC_DROP
from logiflow.anomaly.labels import write_labels
from logiflow.cli import options as cli_options
from logiflow.cli.progress import RateMeter, StatusLine, human_bytes
from logiflow.cli.state import state
from logiflow.ingest.generator import SERVICES
from logiflow.ingest.incidents import IncidentSpec
from logiflow.ingest.producer import LogProducer
from logiflow.ingest.traffic import FormatChoice, TrafficOptions, TrafficSender
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
            help="AT+LENGTH[:SERVICE[@ENDPOINT][:SHARE]] seconds from the start: that share "
            "(0.5) fails with 5xx, e.g. 30+60:storefront@/products/{id} (repeatable).",
        ),
    ] = None,
    latency_spike: Annotated[
        list[str] | None,
        typer.Option(
            "--latency-spike",
            help="AT+LENGTH[:SERVICE[@ENDPOINT][:FACTOR]]: requests FACTOR (3) times slower, "
            "e.g. 60+300:orders-api (repeatable).",
        ),
    ] = None,
    traffic_drop: Annotated[
        list[str] | None,
        typer.Option(
            "--traffic-drop",
            help="AT+LENGTH:SERVICE[:KEPT]: only KEPT (0.2) of the service's requests arrive, "
            "e.g. 120+300:catalog-api (repeatable).",
        ),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option(
            help="Write the incidents as labels (JSON lines: kind, service, endpoint, start, "
            "end) for `logiflow anomalies --labels`.",
            dir_okay=False,
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
        incidents=[
            IncidentSpec.parse(kind, text)
            for kind, texts in (
                (ERROR_BURST, error_burst),
                (LATENCY_REGRESSION, latency_spike),
                (TRAFFIC_DROP, traffic_drop),
            )
            for text in texts or []
        ],
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
    if labels is not None and sender.started_at is not None:
        truth = [i for spec in options.incidents for i in spec.labels(sender.started_at, SERVICES)]
        write_labels(labels, truth)
        console.print(f"wrote {len(truth)} incident labels to {labels}", highlight=False)
    console.print(
        f"generated {stats.acked} lines ({human_bytes(stats.bytes_sent)}, "
        f"{sender.errors_sent} with status >= 400, {sender.dead_letter_candidates} malformed) "
        f"to {config.kafka.logs_topic} at {config.kafka.bootstrap_servers} in {elapsed:.1f}s "
        f"({stats.acked / elapsed if elapsed else 0:.0f}/s)",
        highlight=False,
        soft_wrap=True,
    )
