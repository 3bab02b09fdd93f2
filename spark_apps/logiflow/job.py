"""The streaming job: Kafka -> ETL transforms -> Elasticsearch, with checkpoints and triggers.

Run it with ``logiflow etl [--until-caught-up]`` on one machine, or through ``etl_main.py`` (the
SparkApplication's main file) on Kubernetes. It runs the streaming query ``events`` on the logs
topic and, with ``archive.enabled``, the raw-log archive's own query (``archive_query``). Each
events micro-batch is decoded and parsed once and kept (``processed_once``); from those rows:

- its indexed events go to ``<prefix>-events-*``;
- its dead letters to ``<prefix>-deadletter-*`` (searchable there next to the events) and,
  unless switched off, to the Kafka topic ``kafka.dead_letter_topic`` (raw bytes plus reason
  headers, for replay; events Elasticsearch refused go to both stores too);
- its per-minute aggregates, as partial documents for the windows the batch touched, to
  ``<prefix>-aggregates-*`` (``etl.aggregate_windows``: readers sum the partials);
- one accounting document to ``<prefix>-batches``: input = indexed + filtered + dead letters,
  the events whose own time was out of bounds (``etl.bound_event_time``), and the Kafka offsets
  the batch read per partition, which ``logiflow audit`` reconciles with the broker and the
  documents (``contract.offset_ranges``).

With ``anomaly.enabled``, the batch's partials also go to ``anomaly.topic`` as minute counts, and a
second query, ``anomalies`` (``logiflow.anomaly.query``), judges them per service and endpoint
in streaming state; it reads no log line.

The query's checkpoint is ``spark.checkpoint_dir/events`` (``.../anomalies`` for the second).
A batch whose writes fail is failed as a whole and its offsets are not committed, so a restart
replays it; since every document, aggregate partials included, is written by an id derived from
the records, the replay overwrites rather than duplicates.

The driver's metrics (``metrics.etl_monitor``, on ``metrics.port``) are fed from the same
accounting, and each committed batch's end offsets go to the consumer group
``kafka.consumer_group`` so Kafka's lag tools see the job (``io.consumer_group``).

Triggers: ``processingTime(spark.trigger_interval)`` continuously, or ``availableNow`` with
``until_caught_up`` (read everything there is now, then stop) for backfills and tests. SIGTERM
and Ctrl-C stop the query between batches.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from elasticsearch import ApiError, TransportError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from logiflow.anomaly.minute_counts import minute_count_records
from logiflow.anomaly.query import ANOMALIES_QUERY, start_anomaly_query
from logiflow.archive_query import ARCHIVE_QUERY, SupervisedQuery, start_archive_query
from logiflow.batch_accounting import BatchAccount, EtlResult, add_counts, write_account
from logiflow.batch_clock import BatchClock, checkpoint_batch_clock
from logiflow.config import LogiflowConfig
from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.contract.metrics import REASON_ES_REJECTED
from logiflow.etl.aggregate_windows import LATENCY_BUCKETS
from logiflow.etl.bound_event_time import bound_event_time
from logiflow.etl.pipeline import (
    aggregate,
    process_records,
    select_dead_letter_records,
    select_dead_letters,
    select_events,
    tally_batch,
)
from logiflow.io.archive_check import check_archive
from logiflow.io.bulk_retries import retry_transient
from logiflow.io.es_client import connect, create_es_client
from logiflow.io.es_privileges import Component, check_own_privileges
from logiflow.io.es_setup import setup_elasticsearch
from logiflow.io.kafka_diagnosis import check_kafka, invisible_topic
from logiflow.io.sink_elasticsearch import (
    WriteCounts,
    aggregate_index,
    dead_letter_index,
    event_index,
    write_documents,
)
from logiflow.io.sink_kafka import write_records
from logiflow.io.source_kafka import read_kafka
from logiflow.metrics.etl_monitor import EtlMonitor
from logiflow.query_errors import EtlFailedError, query_failure, short_batch_errors
from logiflow.report import refresh_before_counting
from logiflow.spark_session import PROMETHEUS_SERVLET_CONF, create_spark_session, stop_session
from logiflow.stop_signals import StopSignals

QUERY_NAMES = (names.EVENTS_QUERY,)
# Spark's local property holding the streaming query's id (kept in its checkpoint), set on the
# thread that runs foreachBatch.
_QUERY_ID_PROPERTY = "sql.streaming.queryId"
__all__ = ["BatchAccount", "EtlFailedError", "EtlResult", "query_failure", "run_etl"]


def checkpoint_location(config: LogiflowConfig, query: str) -> str:
    base = config.spark.checkpoint_dir
    # A URL (s3a://, hdfs://) is joined as text; Path would eat the double slash.
    return f"{base.rstrip('/')}/{query}" if "://" in base else str(Path(base) / query)


@contextmanager
def processed_once(batch: DataFrame) -> Iterator[DataFrame]:
    """The batch computed once and kept (memory, spilling to disk) under a one-node plan.

    Every write of a batch is its own Spark job over these rows. With ``persist`` each job still
    carried the whole parse plan (hundreds of nodes) through analysis, optimization and the cache
    lookup; the bench-e2e profile found that plan work dominating the driver at a few hundred
    records/s. ``localCheckpoint`` cuts the lineage, so each later job plans one node.
    """
    rows = batch.localCheckpoint(eager=True)
    try:
        yield rows
    finally:
        # Freed now rather than when the driver's GC finds the RDD unreachable (every 30 min).
        rows._jdf.queryExecution().logical().rdd().unpersist(False)


def events_batch_writer(
    config: LogiflowConfig,
    result: EtlResult,
    on_batch: Callable[[BatchAccount], None] | None,
    batch_clock: BatchClock,
    stop: threading.Event | None = None,
    *,
    query: str = names.EVENTS_QUERY,
    run_id: str | None = None,
) -> Callable[[DataFrame, int], None]:
    """The events query's foreachBatch function; backfill calls it on batches of its own, with
    its ``query`` name and a ``run_id`` in place of the streaming checkpoint's id.

    Batches come from ``process_records``; ``batch_clock`` gives each batch's clock, which
    bounds its event times (``etl.bound_event_time``)."""
    es = config.elasticsearch
    prefix = es.index_prefix
    dead_letter_topic = config.kafka.dead_letter_topic
    partials = aggregate(config)
    write_windows = windows_writer(config)

    def write_batch(stream_batch: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        bounded = stream_batch.transform(bound_event_time(config.parse, batch_clock(batch_id)))
        # Processed once; the selections and counts below all read the kept rows.
        with processed_once(bounded) as batch:
            tally = tally_batch(batch)
            counts = tally.outcomes
            total = sum(counts.values())
            events = windows = dead = None
            if counts[ecs.OUTCOME_INDEXED]:
                events = write_documents(select_events(batch), event_index(prefix), es)
                windows = write_windows(partials(batch))
                result.aggregate_docs += windows.written
            if counts[ecs.OUTCOME_DEAD_LETTER]:
                dead = write_documents(select_dead_letters(batch), dead_letter_index(prefix), es)
            rejections = events.rejections if events else ()
            if dead_letter_topic and (counts[ecs.OUTCOME_DEAD_LETTER] or rejections):
                rejected_ids = (
                    batch.sparkSession.createDataFrame(
                        [(r.doc_id, r.reason) for r in rejections],
                        f"`{ecs.DOC_ID}` string, `{ecs.ERROR_MESSAGE}` string",
                    )
                    if rejections
                    else None
                )
                records = select_dead_letter_records(batch, rejected_ids)
                write_records(records, config.kafka, dead_letter_topic)
            rejected = events.rejected if events else 0
            account = BatchAccount(
                batch_id=batch_id,
                input=total,
                indexed=events.written if events else 0,
                filtered=counts[ecs.OUTCOME_FILTERED],
                # Lines that did not parse, plus events Elasticsearch refused (now dead letters).
                dead_letter=(dead.written + dead.rejected if dead else 0) + rejected,
                event_time_out_of_bounds=tally.event_time_out_of_bounds,
                event_time_late=tally.event_time_late,
                offset_ranges=tally.offset_ranges,
                checkpoint=run_id
                or batch.sparkSession.sparkContext.getLocalProperty(_QUERY_ID_PROPERTY),
                dead_letter_reasons=add_counts(
                    tally.dead_letter_reasons, {REASON_ES_REJECTED: rejected}
                ),
                es_retries=add_counts(*(w.retries for w in (events, windows, dead) if w)),
                es_rejected=rejected,
            )
            write_account(config, query, account, stop)
            account.seconds = time.monotonic() - started
        result.add(account)
        if on_batch is not None:
            on_batch(account)

    return write_batch


def windows_writer(config: LogiflowConfig) -> Callable[[DataFrame], WriteCounts]:
    """Writes a batch's partial aggregates to Elasticsearch and, when anomaly detection is on,
    as minute counts to ``anomaly.topic`` (``anomaly.minute_counts``); returns what
    Elasticsearch took. The partials are computed once for both."""
    es = config.elasticsearch
    minutes_topic = config.anomaly.topic if config.anomaly.enabled else None

    def write(partials: DataFrame) -> WriteCounts:
        if minutes_topic is None:
            return write_documents(partials, aggregate_index(es.index_prefix), es)
        kept = partials.persist()
        try:
            indexed = kept.drop(LATENCY_BUCKETS)  # the detector's, not the index's
            written = write_documents(indexed, aggregate_index(es.index_prefix), es)
            records = minute_count_records(kept)
            write_records(records, config.kafka, minutes_topic, "the minute counts")
            return written
        finally:
            kept.unpersist()

    return write


def make_countable(config: LogiflowConfig) -> None:
    """Caught up: what the job wrote is searchable before it returns, so a count right after
    (``logiflow report``, a test, a script) sees all of it. Best effort: the data is written;
    ``report`` refreshes again itself."""
    es = config.elasticsearch
    client = create_es_client(es)
    try:
        refresh_before_counting(client, es.index_prefix, es.refresh_interval)
    except (ApiError, TransportError):
        pass
    finally:
        client.close()


def start_queries(
    spark: SparkSession,
    config: LogiflowConfig,
    until_caught_up: bool,
    result: EtlResult,
    on_batch: Callable[[BatchAccount], None] | None = None,
    stop: threading.Event | None = None,
) -> list[StreamingQuery]:
    """Start the streaming queries: ``events``; with ``archive.enabled``, ``archive``; and when
    running continuously with ``anomaly.enabled``, ``anomalies`` (caught-up runs start it after
    ``events``, see ``run_etl``).

    ``stop``: set when the job is asked to stop; ends a wait for Elasticsearch in the driver."""
    prefix = config.elasticsearch.index_prefix
    archive: list[StreamingQuery] = []
    if config.archive.enabled:
        # Its own query: its offsets and checkpoint are its own, the ETL never waits on S3.
        checkpoint = checkpoint_location(config, ARCHIVE_QUERY)
        start_archive = partial(start_archive_query, spark, config, until_caught_up, checkpoint)
        # Caught-up runs (tests, scripts) must end: they give up after 8 restarts (~3 min).
        restarts = 8 if until_caught_up else None
        archive.append(SupervisedQuery(ARCHIVE_QUERY, start_archive, restarts))  # type: ignore[arg-type]
    stream = read_kafka(spark, config.kafka).transform(process_records(config))
    checkpoint = checkpoint_location(config, names.EVENTS_QUERY)
    write_batch = events_batch_writer(
        config, result, on_batch, checkpoint_batch_clock(spark, checkpoint), stop
    )
    writer = (
        stream.writeStream.queryName(f"{prefix}-{names.EVENTS_QUERY}")
        .option("checkpointLocation", checkpoint)
        .foreachBatch(short_batch_errors(write_batch))
    )
    if until_caught_up:
        return [writer.trigger(availableNow=True).start(), *archive]
    queries = [writer.trigger(processingTime=config.spark.trigger_interval).start(), *archive]
    if config.anomaly.enabled:
        anomalies = checkpoint_location(config, ANOMALIES_QUERY)
        queries.append(start_anomaly_query(spark, config, anomalies, until_caught_up=False))
    return queries


def await_queries(
    queries: list[StreamingQuery],
    stop: threading.Event,
    poll_seconds: float = 0.5,
    on_poll: Callable[[list[StreamingQuery]], None] | None = None,
) -> bool:
    """Wait until every query ends or ``stop`` is set; True when stopped by ``stop``.
    ``on_poll(queries)``: called at every poll (the metrics follow the progress)."""
    try:
        while any(q.isActive for q in queries):
            if stop.is_set():
                return True
            if on_poll is not None:
                on_poll(queries)
            for q in queries:
                failure = query_failure(q) if not q.isActive else None
                if failure is not None:
                    raise failure
            time.sleep(poll_seconds)
        for q in queries:
            failure = query_failure(q)
            if failure is not None:
                raise failure
        return False
    finally:
        for q in queries:
            if q.isActive:
                q.stop()


def prepare(config: LogiflowConfig, setup_es: bool = True, component: Component = "etl") -> None:
    """Fail fast with one clear line when Kafka or Elasticsearch is not there, or when the
    Elasticsearch user lacks a privilege the ETL's calls need (``io.es_privileges``).

    The logs topic may appear later (the source waits for it), but a missing dead-letter topic
    would only show when the first bad line arrives, as a batch stuck waiting for metadata.
    """
    topics = check_kafka(config.kafka)
    if config.archive.enabled:
        check_archive(config.archive)
    client = connect(config.elasticsearch)
    try:
        dead_letter_topic = config.kafka.dead_letter_topic
        if dead_letter_topic and dead_letter_topic not in topics:
            raise invisible_topic(
                config.kafka,
                "kafka.dead_letter_topic",
                dead_letter_topic,
                "create it (the Helm chart and `logiflow local up` do) or set it empty to keep "
                "dead letters in Elasticsearch only",
            )
        # Index setup needs template and lifecycle privileges the ETL's own user (on a cluster,
        # logiflow_writer) does not have: there the setup Job does it and the job only checks,
        # with no privilege of its own, that its user can make the ETL's calls.
        if setup_es:
            # Reached once: a 429/503, a block or a dropped connection now is waited out.
            es = config.elasticsearch
            retry_transient(lambda: setup_elasticsearch(client, es), "index setup", es)
        if config.anomaly.enabled and config.anomaly.topic not in topics:
            raise invisible_topic(
                config.kafka,
                "anomaly.topic",
                config.anomaly.topic,
                "create it (`logiflow local up` does) or set anomaly.enabled to false",
            )
        check_own_privileges(client, config.elasticsearch.index_prefix, component)
    finally:
        client.close()


def session_for(
    config: LogiflowConfig, jars: Sequence[str] = (), log_file: Path | None = None
) -> SparkSession:
    """The job's SparkSession; ``jars``: the Kafka connector's, unless Spark's classpath has
    them (the cluster image); ``log_file``: where Spark logs instead of the console."""
    # The console belongs to the job's own output (and the live view), not Spark's stage bars.
    # With metrics on, Spark's own (streaming ones included) are served on its UI too.
    servlet = PROMETHEUS_SERVLET_CONF if config.metrics.port else {}
    conf = {"spark.ui.showConsoleProgress": "false", **servlet, **config.spark.conf}
    return create_spark_session(config.spark.model_copy(update={"conf": conf}), jars, log_file)


def _both(
    first: Callable[[BatchAccount], None], then: Callable[[BatchAccount], None] | None
) -> Callable[[BatchAccount], None]:
    def call(account: BatchAccount) -> None:
        first(account)
        if then is not None:
            then(account)

    return call


def run_etl(
    config: LogiflowConfig,
    until_caught_up: bool = False,
    *,
    spark: SparkSession | None = None,
    jars: Sequence[str] = (),
    spark_log: Path | None = None,
    setup_es: bool = True,
    stop: threading.Event | None = None,
    on_batch: Callable[[BatchAccount], None] | None = None,
    result: EtlResult | None = None,
) -> EtlResult:
    """Run the job until caught up (``until_caught_up``), or until ``stop``/SIGTERM/Ctrl-C.

    ``spark``: an existing session (tests) that must already have the Kafka connector, left
    running; otherwise one is built from ``config.spark`` with ``jars`` and ``spark_log`` (see
    ``session_for``) and stopped at the end.
    ``result``: the totals to fill as batches finish (a live view passes its own and reads it
    while the job runs); a new one otherwise. It is returned either way.
    """
    prepare(config, setup_es=setup_es)
    session = spark if spark is not None else session_for(config, jars, spark_log)
    result = result if result is not None else EtlResult()
    monitor = EtlMonitor(config)
    monitor.watch_spark_ui(session)
    try:
        # On the main thread, SIGTERM (Kubernetes) and Ctrl-C stop the queries between batches.
        with StopSignals(stop) as signals:
            queries = start_queries(
                session, config, until_caught_up, result, _both(monitor.on_batch, on_batch),
                signals.requested,
            )  # fmt: skip
            try:
                result.stopped_by_signal = await_queries(
                    queries, signals.requested, on_poll=monitor.poll
                )
                if until_caught_up and config.anomaly.enabled and not result.stopped_by_signal:
                    # It judges the minute counts the events query sent, so it runs after it.
                    checkpoint = checkpoint_location(config, ANOMALIES_QUERY)
                    anomalies = start_anomaly_query(
                        session, config, checkpoint, until_caught_up=True
                    )
                    result.stopped_by_signal = await_queries([anomalies], signals.requested)
            finally:
                monitor.finish(queries)
        if until_caught_up and not result.stopped_by_signal:
            make_countable(config)
    finally:
        monitor.close()
        if spark is None:  # the session is ours: stop it, and the JVM with it
            stop_session(session)
    return result
