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
- shutdown is ordered and complete: queries stop between batches, ``SparkSession.stop()`` ends
  the JVM (which also exits by itself if this process dies: PySpark's gateway quits when its
  stdin closes), so nothing is orphaned;
- the price, sharing one interpreter with Spark's driver-side callbacks, is small: the
  generator and the view do little work, and the heavy lifting runs in the JVM and in Spark's
  separate Python workers.

Live view figures: events/s in from the logs topic's end offsets; consumer lag = end offsets
minus the offsets the events query has finished; docs/s indexed from the ETL's batch accounts;
dead letters, requests/min, error rate and top endpoints from Elasticsearch (last minute by
``@timestamp``; the generator stamps lines with the current time).
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from confluent_kafka.admin import AdminClient
from elasticsearch import Elasticsearch
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from logiflow.cli.main import app, state
from logiflow.cli.progress import RateMeter
from logiflow.config import LogiflowConfig
from logiflow.contract import index_names as names
from logiflow.errors import LogiflowError
from logiflow.ingest.producer import LogProducer, client_config, end_offsets
from logiflow.ingest.traffic import TrafficOptions, TrafficSender
from logiflow.io.es_client import connect
from logiflow.io.es_setup import setup_elasticsearch
from logiflow.report import LiveSnapshot, build_report, live_snapshot

if TYPE_CHECKING:
    from logiflow.job import EtlResult

console = Console(stderr=True)

REFRESH_SECONDS = 2.0
CATCH_UP_SECONDS = 60.0
TOPIC_PARTITIONS = 2


def _new_etl_result() -> EtlResult:
    # logiflow.job is imported where it is used, as elsewhere in this module: importing it
    # up front (the streaming job and its sinks) would add ~0.1 s to every logiflow command.
    from logiflow.job import EtlResult

    return EtlResult()


@dataclass
class EtlThread:
    """``logiflow.job.run_etl`` on a worker thread, with its own stop event."""

    config: LogiflowConfig
    spark: Any
    # Filled by the job as batches finish; the live view reads it.
    result: EtlResult = field(default_factory=_new_etl_result)
    stop: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="logiflow-etl", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from logiflow.job import run_etl

        try:
            run_etl(
                self.config,
                spark=self.spark,
                setup_es=False,
                stop=self.stop,
                result=self.result,
            )
        except BaseException as exc:  # reported by the main thread
            self.error = exc

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def finish(self, timeout: float = 120.0) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def processed_offsets(self) -> int | None:
        """Sum over partitions of the offsets the events query's last finished batch reached."""
        query_name = f"{self.config.elasticsearch.index_prefix}-{names.EVENTS_QUERY}"
        for query in self.spark.streams.active:
            if query.name != query_name:
                continue
            progress = query.lastProgress
            if not progress:
                return None
            total = 0
            for source in progress["sources"]:
                offsets = source["endOffset"]
                if isinstance(offsets, str):
                    offsets = json.loads(offsets)
                for partitions in (offsets or {}).values():
                    total += sum(int(v) for v in partitions.values())
            return total
        return None


@dataclass
class Sample:
    end_offsets: int | None = None
    processed: int | None = None
    events_in_rate: float = 0.0
    indexed_rate: float = 0.0
    snapshot: LiveSnapshot | None = None
    es_error: str | None = None

    @property
    def lag(self) -> int | None:
        if self.end_offsets is None or self.processed is None:
            return None
        return max(0, self.end_offsets - self.processed)


class LiveView:
    """Gathers the figures for one refresh of the view."""

    def __init__(
        self, config: LogiflowConfig, es: Elasticsearch, etl: EtlThread, sender: TrafficSender
    ) -> None:
        self.config = config
        self.es = es
        self.etl = etl
        self.sender = sender
        self.admin = AdminClient(client_config(config.kafka))
        metadata = self.admin.list_topics(timeout=10)
        self.partitions = len(metadata.topics[config.kafka.logs_topic].partitions)
        self.in_meter = RateMeter(window=6)
        self.indexed_meter = RateMeter(window=6)
        self.started = time.monotonic()

    def end_offsets(self) -> int:
        offsets = end_offsets(self.admin, self.config.kafka.logs_topic, self.partitions)
        return sum(offsets.values())

    def sample(self) -> Sample:
        result = Sample()
        try:
            result.end_offsets = self.end_offsets()
            result.events_in_rate = self.in_meter.update(result.end_offsets)
        except Exception:  # a slow broker must not kill the view; the figure shows as "?"
            result.end_offsets = None
        result.processed = self.etl.processed_offsets()
        result.indexed_rate = self.indexed_meter.update(self.etl.result.totals["indexed"])
        try:
            result.snapshot = live_snapshot(self.es, self.config.elasticsearch.index_prefix)
        except Exception as exc:
            result.es_error = str(exc).splitlines()[0][:120]
        return result

    def render(self, sample: Sample, phase: str) -> Group:
        def fmt(value: int | None) -> str:
            return "?" if value is None else f"{value:,}"

        elapsed = time.monotonic() - self.started
        etl_result = self.etl.result
        stats = self.sender.producer.stats
        head = Text.assemble(
            ("LogiFlow ", "bold cyan"),
            (phase, "bold"),
            f"  {elapsed:,.0f}s  ·  Kafka {self.config.kafka.bootstrap_servers}  ·  "
            f"Elasticsearch {', '.join(self.config.elasticsearch.hosts)}  ·  Ctrl-C stops",
        )
        flow = Table(show_header=False, box=None, padding=(0, 2))
        flow.add_column(style="dim")
        flow.add_column(justify="right")
        flow.add_column(style="dim")
        flow.add_column(justify="right")
        lag = sample.lag
        lag_text = "starting" if lag is None else f"{lag:,}"
        flow.add_row(
            "events/s in (Kafka)", f"{sample.events_in_rate:,.0f}",
            "generated", f"{stats.acked:,}",
        )  # fmt: skip
        flow.add_row(
            "docs/s indexed", f"{sample.indexed_rate:,.0f}",
            "consumer lag", lag_text,
        )  # fmt: skip
        snapshot = sample.snapshot
        minute = snapshot.last_minute if snapshot else None
        flow.add_row(
            "events in Elasticsearch", fmt(snapshot.events_indexed if snapshot else None),
            "dead letters", fmt(snapshot.dead_letters if snapshot else None),
        )  # fmt: skip
        flow.add_row(
            "requests/min", fmt(minute.requests if minute else None),
            "error rate (1 min)", f"{minute.error_rate:.1%}" if minute else "?",
        )  # fmt: skip
        flow.add_row(
            "ETL batches", f"{etl_result.batch_count:,}",
            "filtered", f"{etl_result.totals['filtered']:,}",
        )  # fmt: skip
        endpoints = Table(title="top endpoints (last minute)", title_justify="left", box=None)
        endpoints.add_column("endpoint", overflow="fold")
        endpoints.add_column("req/min", justify="right")
        endpoints.add_column("errors", justify="right")
        for endpoint in minute.top_endpoints if minute else []:
            endpoints.add_row(endpoint.endpoint, f"{endpoint.requests:,}", f"{endpoint.errors:,}")
        parts: list[Any] = [head, flow, endpoints]
        if sample.es_error:
            parts.append(Text(f"Elasticsearch: {sample.es_error}", style="yellow"))
        return Group(*parts)

    def status_line(self, sample: Sample) -> str:
        """The plain-text form, one line per refresh, for logs without a terminal."""
        snapshot = sample.snapshot
        return (
            f"t={time.monotonic() - self.started:.0f}s in/s={sample.events_in_rate:.0f} "
            f"indexed/s={sample.indexed_rate:.0f} lag={sample.lag} "
            f"events={snapshot.events_indexed if snapshot else '?'} "
            f"dead_letters={snapshot.dead_letters if snapshot else '?'} "
            f"generated={self.sender.producer.stats.acked}"
        )


class Interrupts:
    """Ctrl-C/SIGTERM set ``requested``; a second one also sets ``forced``."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.forced = threading.Event()
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Interrupts:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.getsignal(sig)
        self.install()
        return self

    def install(self) -> None:
        """(Re)claim the signals: creating a SparkContext installs its own SIGINT handler."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, _signum: int, _frame: FrameType | None) -> None:
        if self.requested.is_set():
            self.forced.set()
        self.requested.set()

    def __exit__(self, *_exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


@app.command("run")
def run(
    ctx: typer.Context,
    rate: Annotated[float, typer.Option(help="Generated lines per second.")] = 200.0,
    duration: Annotated[
        float | None,
        typer.Option(help="Stop after this many seconds of flow (default: run until Ctrl-C)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the traffic generator.")] = 0,
    malformed: Annotated[
        float, typer.Option(help="Share of garbage lines, to show dead letters.")
    ] = 0.005,
    keep_servers: Annotated[
        bool, typer.Option("--keep-servers", help="Leave Kafka and Elasticsearch running.")
    ] = False,
    catch_up: Annotated[
        float,
        typer.Option(help="At the end, wait up to this many seconds for the ETL to catch up."),
    ] = CATCH_UP_SECONDS,
    summary_json: Annotated[
        bool,
        typer.Option("--summary-json", help="At the end, print the report as JSON on stdout."),
    ] = False,
) -> None:
    """Run the whole pipeline here: local servers, ETL, generator, and a live view."""
    from logiflow.local.servers import LocalServers

    if rate <= 0:
        raise typer.BadParameter("--rate must be positive")
    base = state(ctx).config()
    if "checkpoint_dir" not in base.spark.model_fields_set:
        # The checkpoint records offsets of this state directory's Kafka: keep them together.
        spark = base.spark.model_copy(
            update={"checkpoint_dir": str(base.local.state_dir / "checkpoints")}
        )
        base = base.model_copy(update={"spark": spark})
    servers = LocalServers(base.local, console)
    # Ctrl-C while the servers start interrupts the start (which cleans up after itself).
    started = servers.start(foreground=not keep_servers)
    try:
        with Interrupts() as interrupts:
            summary = _run_pipeline(
                servers.apply_to(base), rate, duration, seed, malformed, catch_up, interrupts
            )
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
    config: LogiflowConfig,
    rate: float,
    duration: float | None,
    seed: int,
    malformed: float,
    catch_up: float,
    interrupts: Interrupts,
) -> dict[str, Any]:
    from logiflow.cli.dashboard_cmd import start_for_run
    from logiflow.job import session_for
    from logiflow.local.servers import ensure_pipeline_topics

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
        with console.status("starting Spark (first run downloads the Kafka connector)"):
            spark = session_for(config, "download")
        # Spark's warnings go straight to the terminal and would tear the live view apart;
        # failures still surface through the queries.
        spark.sparkContext.setLogLevel("ERROR")
        interrupts.install()
        if interrupts.requested.is_set():
            spark.stop()
            raise KeyboardInterrupt
        try:
            return _flow(config, es, spark, rate, duration, seed, malformed, catch_up, interrupts)
        finally:
            with console.status("stopping Spark"):
                spark.stop()
    finally:
        if dashboard is not None:
            dashboard.stop()
        es.close()


def _flow(
    config: LogiflowConfig,
    es: Elasticsearch,
    spark: Any,
    rate: float,
    duration: float | None,
    seed: int,
    malformed: float,
    catch_up: float,
    interrupts: Interrupts,
) -> dict[str, Any]:
    etl = EtlThread(config, spark)
    etl.start()
    producer = LogProducer(config.kafka, config.ship, config.kafka.logs_topic)
    producer.connect()
    generator_stop = threading.Event()
    sender = TrafficSender(
        producer,
        TrafficOptions(rate=rate, seed=seed, malformed_share=malformed),
        stop=generator_stop,
    )
    generator_error: list[BaseException] = []

    def generate() -> None:
        try:
            sender.run()
        except BaseException as exc:
            generator_error.append(exc)

    generator = threading.Thread(target=generate, name="logiflow-generator", daemon=True)
    generator.start()
    view = LiveView(config, es, etl, sender)
    deadline = None if duration is None else time.monotonic() + duration
    interactive = console.is_terminal
    caught_up = False
    try:
        with (
            Live(console=console, refresh_per_second=2, transient=False)
            if interactive
            else (contextlib.nullcontext()) as live
        ):

            def show(phase: str) -> Sample:
                sample = view.sample()
                if live is not None:
                    live.update(view.render(sample, phase))
                else:
                    console.print(
                        f"{phase}: {view.status_line(sample)}", highlight=False, soft_wrap=True
                    )
                return sample

            while not interrupts.requested.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    break
                _raise_from(etl, generator_error)
                show("running")
                interrupts.requested.wait(REFRESH_SECONDS)
            # Stop the input, then let the ETL finish what is in Kafka (bounded).
            generator_stop.set()
            generator.join(60)
            _raise_from(etl, generator_error)
            catch_up_until = time.monotonic() + catch_up
            while not interrupts.forced.is_set() and time.monotonic() < catch_up_until:
                sample = show("catching up")
                if sample.lag == 0:
                    caught_up = True
                    break
                _raise_from(etl, generator_error)
                interrupts.forced.wait(1.0)
    finally:
        generator_stop.set()
        with console.status("stopping the ETL"):
            etl.finish()
    _raise_from(etl, generator_error)
    with contextlib.suppress(Exception):
        es.indices.refresh(
            index=names.index_pattern(config.elasticsearch.index_prefix, names.EVENTS)
            + ","
            + names.index_pattern(config.elasticsearch.index_prefix, names.DEAD_LETTER),
            ignore_unavailable=True,
            allow_no_indices=True,
        )
    report = build_report(es, config.elasticsearch.index_prefix)
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


def _raise_from(etl: EtlThread, generator_error: list[BaseException]) -> None:
    if etl.error is not None:
        raise etl.error
    if generator_error:
        raise generator_error[0]
    if etl.thread is not None and not etl.alive and not etl.stop.is_set():
        raise LogiflowError("the ETL stopped unexpectedly; see the messages above")
