"""``logiflow run``: the whole pipeline on this machine with a live view (``make run``).

    logiflow run                      # until Ctrl-C
    logiflow run --rate 500 --duration 120 --keep-servers

Steps: start the local Kafka and Elasticsearch (reusing ones already running for the same state
directory), create the topics and the index templates, start the streaming ETL and the traffic
generator, then refresh a live view every couple of seconds. On Ctrl-C (or after ``--duration``
seconds of flow) the generator stops, the ETL is given a short while to catch up, its queries
stop, Spark stops, and the servers this command started are stopped (``--keep-servers`` leaves
them up for ``logiflow report`` and Kibana-free poking). A second Ctrl-C skips the catch-up.

The ETL runs in this process, on a worker thread, rather than as a ``logiflow etl`` child:
- the live view reads the streaming query's own progress (``StreamingQuery.lastProgress``: the
  Kafka offsets each finished batch reached) and the per-batch accounts, without scraping logs
  or checkpoint files;
- shutdown is ordered and complete: queries stop between batches, ``stop_session`` stops Spark
  and waits for the JVM and its Python workers to exit (the JVM also exits by itself if this
  process dies: PySpark's gateway quits when its stdin closes), so nothing is orphaned;
- the price, sharing one interpreter with Spark's driver-side callbacks, is small: the
  generator and the view do little work, and the heavy lifting runs in the JVM and in Spark's
  separate Python workers.

This module is the orchestration; the threads are in ``run_threads``, the view in
``live_view``. Spark's own log goes to ``<local.state_dir>/logs/spark.log``, off the view.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from elasticsearch import Elasticsearch
from rich.console import Console
from rich.live import Live

from logiflow.cli import options
from logiflow.cli.live_view import LiveView, Sample
from logiflow.cli.run_threads import EtlThread, GeneratorThread
from logiflow.cli.spark_runtime import connector_jars, require_spark, spark_log_file
from logiflow.cli.state import state
from logiflow.config import LogiflowConfig
from logiflow.contract import index_names as names
from logiflow.ingest.producer import LogProducer
from logiflow.ingest.traffic import TrafficOptions, TrafficSender
from logiflow.io.es_client import connect
from logiflow.io.es_setup import setup_elasticsearch
from logiflow.io.topic_admin import ensure_pipeline_topics
from logiflow.local.servers import LocalServers
from logiflow.report import build_report
from logiflow.stop_signals import StopSignals

console = Console(stderr=True)

REFRESH_SECONDS = 2.0
CATCH_UP_SECONDS = 60.0
TOPIC_PARTITIONS = 2


@dataclass(frozen=True)
class RunOptions:
    traffic: TrafficOptions
    duration: float | None
    catch_up: float


def run(
    ctx: typer.Context,
    rate: options.Rate = 200.0,
    duration: Annotated[
        float | None,
        typer.Option(
            help="Stop after this many seconds of flow (default: run until Ctrl-C).",
            callback=options.positive,
        ),
    ] = None,
    seed: options.Seed = 0,
    malformed: options.MalformedShare = 0.005,
    keep_servers: Annotated[
        bool, typer.Option("--keep-servers", help="Leave Kafka and Elasticsearch running.")
    ] = False,
    catch_up: Annotated[
        float,
        typer.Option(
            min=0.0, help="At the end, wait up to this many seconds for the ETL to catch up."
        ),
    ] = CATCH_UP_SECONDS,
    summary_json: Annotated[
        bool,
        typer.Option("--summary-json", help="At the end, print the report as JSON on stdout."),
    ] = False,
) -> None:
    """Run the whole pipeline here: local servers, ETL, generator, and a live view."""
    require_spark()
    run_options = RunOptions(
        TrafficOptions(rate=rate, seed=seed, malformed_share=malformed), duration, catch_up
    )
    base = state(ctx).config()
    if "checkpoint_dir" not in base.spark.model_fields_set:
        # The checkpoint records offsets of this state directory's Kafka: keep them together.
        spark = base.spark.model_copy(
            update={"checkpoint_dir": str(base.local.state_dir / "checkpoints")}
        )
        base = base.model_copy(update={"spark": spark})
    servers = LocalServers(base.local, console, archive=base.archive)
    # Ctrl-C while the servers start interrupts the start (which cleans up after itself).
    started = servers.start(foreground=not keep_servers)
    try:
        with StopSignals() as stop_signals:
            summary = _run_pipeline(servers.apply_to(base), run_options, stop_signals)
    finally:
        if not keep_servers:
            for server in servers.servers:
                if started.get(server.name):
                    console.print(f"stopping {server.display}")
                    server.stop()
        else:
            console.print(
                f"servers left running: Kafka {servers.kafka_bootstrap}, Elasticsearch "
                f"{servers.elasticsearch_url} (stop them with `logiflow local down`)"
            )
    if summary_json:
        typer.echo(json.dumps(summary, sort_keys=True))


def _run_pipeline(
    config: LogiflowConfig, run_options: RunOptions, stop_signals: StopSignals
) -> dict[str, Any]:
    from logiflow.cli.dashboard_cmd import start_for_run
    from logiflow.job import session_for
    from logiflow.spark_session import stop_session

    created = ensure_pipeline_topics(config, partitions=TOPIC_PARTITIONS)
    if created:
        console.print(f"created Kafka topics: {', '.join(created)}")
    es = connect(config.elasticsearch)
    dashboard = None
    try:
        steps = setup_elasticsearch(es, config.elasticsearch)
        changed = sum(step.action in ("created", "updated") for step in steps)
        console.print(f"Elasticsearch set up ({changed} templates/policies created or updated)")
        dashboard = start_for_run(config, console)
        jars = connector_jars(config, "download", console)
        log_file = spark_log_file(config, console)
        with console.status("starting Spark"):
            spark = session_for(config, jars, log_file)
        stop_signals.install()
        if stop_signals.requested.is_set():
            stop_session(spark)
            raise KeyboardInterrupt
        try:
            return _flow(config, es, spark, run_options, stop_signals)
        finally:
            with console.status("stopping Spark"):
                stop_session(spark)
    finally:
        if dashboard is not None:
            dashboard.stop()
        es.close()


def _flow(
    config: LogiflowConfig,
    es: Elasticsearch,
    spark: Any,
    run_options: RunOptions,
    stop_signals: StopSignals,
) -> dict[str, Any]:
    etl = EtlThread(config, spark)
    etl.start()
    producer = LogProducer(config.kafka, config.ship, config.kafka.logs_topic)
    producer.connect()
    generator = GeneratorThread(TrafficSender(producer, run_options.traffic))
    generator.start()
    view = LiveView(config, es, etl, generator.sender)

    def check() -> None:
        etl.raise_if_failed()
        generator.raise_if_failed()

    caught_up = False
    try:
        with _live_display(view) as show:
            _watch_flow(show, check, stop_signals, run_options.duration)
            # Stop the input, then let the ETL finish what is in Kafka (bounded).
            generator.finish()
            check()
            caught_up = _watch_catch_up(show, check, stop_signals, run_options.catch_up)
    finally:
        generator.sender.stop.set()
        with console.status("stopping the ETL"):
            etl.finish()
    check()
    return _summary(config, es, etl, producer, caught_up)


@contextlib.contextmanager
def _live_display(view: LiveView) -> Iterator[Callable[[str], Sample]]:
    """Yields ``show(phase) -> Sample``: a live table on a terminal, status lines elsewhere."""
    with (
        Live(console=console, refresh_per_second=2, transient=False)
        if console.is_terminal
        else contextlib.nullcontext()
    ) as live:

        def show(phase: str) -> Sample:
            sample = view.sample()
            if live is not None:
                live.update(view.render(sample, phase))
            else:
                console.print(
                    f"{phase}: {view.status_line(sample)}", highlight=False, soft_wrap=True
                )
            return sample

        yield show


def _watch_flow(
    show: Callable[[str], Sample],
    check: Callable[[], None],
    stop_signals: StopSignals,
    duration: float | None,
) -> None:
    """Refresh the view until Ctrl-C or the end of ``duration``."""
    deadline = None if duration is None else time.monotonic() + duration
    while not stop_signals.requested.is_set():
        if deadline is not None and time.monotonic() >= deadline:
            return
        check()
        show("running")
        stop_signals.requested.wait(REFRESH_SECONDS)


def _watch_catch_up(
    show: Callable[[str], Sample],
    check: Callable[[], None],
    stop_signals: StopSignals,
    catch_up: float,
) -> bool:
    """Refresh the view until the ETL has read everything (True), a second Ctrl-C or timeout."""
    catch_up_until = time.monotonic() + catch_up
    while not stop_signals.forced.is_set() and time.monotonic() < catch_up_until:
        if show("catching up").lag == 0:
            return True
        check()
        stop_signals.forced.wait(1.0)
    return False


def _summary(
    config: LogiflowConfig,
    es: Elasticsearch,
    etl: EtlThread,
    producer: LogProducer,
    caught_up: bool,
) -> dict[str, Any]:
    """The closing report: what Elasticsearch holds, and this run's own accounts."""
    prefix = config.elasticsearch.index_prefix
    with contextlib.suppress(Exception):
        es.indices.refresh(
            index=names.index_pattern(prefix, names.EVENTS)
            + ","
            + names.index_pattern(prefix, names.DEAD_LETTER),
            ignore_unavailable=True,
            allow_no_indices=True,
        )
    report = build_report(es, prefix)
    summary = report.as_json()
    summary["generated_lines"] = producer.stats.acked
    summary["caught_up"] = caught_up
    # The indices outlive a run (the state dir is kept), so this run's own accounts are
    # reported apart from what Elasticsearch holds in total.
    this_run = dict(etl.result.totals)
    summary["this_run"] = this_run
    console.print(
        f"this run: generated {producer.stats.acked:,} lines; the ETL read {this_run['input']:,}"
        f" (indexed {this_run['indexed']:,}, filtered {this_run['filtered']:,}, dead letters "
        f"{this_run['dead_letter']:,}). Elasticsearch now holds {report.events_indexed:,} events "
        f"and {report.dead_letters:,} dead letters in all (error rate "
        f"{report.traffic.error_rate:.1%}); see `logiflow report` for more",
        highlight=False,
        soft_wrap=True,
    )
    return summary
