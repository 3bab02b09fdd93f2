"""Feeds the ETL driver's metrics and the Kafka consumer group from what the job already knows.

- ``on_batch(account)``, once a batch's accounting document is written: records read (per
  topic, from the batch's offset ranges), indexed, filtered, dead letters (by reason class),
  events moved to their arrival time, Elasticsearch retries (by cause) and rejections, the
  batch's wall time and rows. The counters so agree with the accounting documents exactly.
  Late records are the events moved to their arrival because the time they claimed was too far
  behind it (``parse.event_time_max_behind``), a part of the out-of-bounds count; no record is
  ever dropped as late (etl/aggregate_windows.py has no watermark).
- ``poll(queries)``, from the job's wait loop: when the query's last progress is new (a batch
  committed), commit its end offsets to ``kafka.consumer_group`` (``io.consumer_group``) and
  set the rates, the last batch's time and each partition's lag. ``finish`` does the same once
  more after the query ends, so a run until caught up leaves the group at the end.
- Query restarts: the queries the job restarts itself after a failure (``SupervisedQuery``: the
  archive's) count theirs; each poll adds what is new, by query. The events query is never
  restarted in the job (a failure ends it, and the Spark operator restarts the driver), so its
  series stays 0 and the driver's restarts show in ``logiflow status``.
- Sink waiting: the executors wait out an outage inside a batch, out of the driver's sight, so
  while a batch runs longer than the sink's first back-off the driver asks Elasticsearch itself
  (a health call, every few seconds): 1 while it fails the way the sink's writes wait out.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from confluent_kafka import KafkaException
from elasticsearch import ApiError, TransportError
from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQuery

from logiflow.anomaly.query import ANOMALIES_QUERY
from logiflow.archive_query import ARCHIVE_QUERY
from logiflow.config import LogiflowConfig
from logiflow.contract import index_names as names
from logiflow.contract import metrics as m
from logiflow.io.bulk_retries import REPORT_PREFIX, transient_cause
from logiflow.io.consumer_group import ConsumerGroupOffsets, source_end_offsets
from logiflow.io.es_client import create_es_client
from logiflow.metrics.exporter import register_target, serve_metrics
from logiflow.metrics.registry import counter, gauge, histogram

if TYPE_CHECKING:
    from logiflow.job import BatchAccount

WARNING_INTERVAL_SECONDS = 60.0
PROBE_INTERVAL_SECONDS = 5.0
LAG_INTERVAL_SECONDS = 5.0
PROBE_TIMEOUT_SECONDS = 3.0
# Spark's PrometheusServlet paths on the driver's UI (spark_session.PROMETHEUS_SERVLET_CONF).
SPARK_DRIVER_PATH = "/metrics/prometheus"
SPARK_EXECUTORS_PATH = "/metrics/executors/prometheus"


def _zero_series(config: LogiflowConfig) -> None:
    """Every label value known up front is exported from the start, at 0: a rate over a counter
    that appears with its first increment misses that increment."""
    counter(m.ETL_RECORDS_READ).labels(config.kafka.logs_topic)
    for reason in m.DEAD_LETTER_REASONS:
        counter(m.ETL_DEAD_LETTERS).labels(reason)
    for cause in m.RETRY_CAUSES:
        counter(m.ETL_ES_RETRIES).labels(cause)
    for metric in (m.ETL_EVENTS_INDEXED, m.ETL_RECORDS_FILTERED, m.ETL_LATE_RECORDS):
        counter(metric)
    for metric in (m.ETL_ES_REJECTIONS, m.ETL_EVENT_TIME_OUT_OF_BOUNDS):
        counter(metric)
    for query in _query_names(config):
        counter(m.ETL_QUERY_RESTARTS).labels(query)
    gauges = (m.ETL_SINK_WAITING, m.ETL_INPUT_RATE, m.ETL_PROCESSING_RATE)
    for metric in (*gauges, m.ETL_LAST_BATCH_TIMESTAMP):
        gauge(metric)
    histogram(m.ETL_BATCH_DURATION)
    histogram(m.ETL_BATCH_ROWS)


def _query_names(config: LogiflowConfig) -> list[str]:
    """The streaming queries a continuous run of the job starts (the ``query`` label)."""
    archive = [ARCHIVE_QUERY] if config.archive.enabled else []
    return [names.EVENTS_QUERY, *archive, *([ANOMALIES_QUERY] if config.anomaly.enabled else [])]


class EtlMonitor:
    """The ETL driver's metrics and consumer-group commits, for one run of the job."""

    def __init__(self, config: LogiflowConfig) -> None:
        self.config = config
        group = config.kafka.consumer_group
        self.group = ConsumerGroupOffsets(config.kafka, group) if group else None
        self._last_progress: str | None = None
        self._offsets: dict[tuple[str, int], int] = {}
        self._next_lag = 0.0
        self._batch_started: float | None = None
        self._next_probe = 0.0
        self._next_warning = 0.0
        self._restarts_counted: dict[str, int] = {}
        _zero_series(config)
        self.port = serve_metrics(config, "etl")

    def watch_spark_ui(self, spark: SparkSession) -> None:
        """Have the local Prometheus scrape Spark's servlet too (when metrics are on here)."""
        url = spark.sparkContext.uiWebUrl
        enabled = spark.conf.get("spark.ui.prometheus.enabled", "false") == "true"
        if self.port and url and enabled:
            address = url.split("://", 1)[-1].rstrip("/")
            register_target(self.config, "spark-driver", address, SPARK_DRIVER_PATH)
            register_target(self.config, "spark-executors", address, SPARK_EXECUTORS_PATH)

    def on_batch(self, account: BatchAccount) -> None:
        for r in account.offset_ranges:
            counter(m.ETL_RECORDS_READ).labels(r.topic).inc(r.records)
        counter(m.ETL_EVENTS_INDEXED).inc(account.indexed)
        counter(m.ETL_RECORDS_FILTERED).inc(account.filtered)
        for reason, count in account.dead_letter_reasons.items():
            counter(m.ETL_DEAD_LETTERS).labels(reason).inc(count)
        counter(m.ETL_EVENT_TIME_OUT_OF_BOUNDS).inc(account.event_time_out_of_bounds)
        counter(m.ETL_LATE_RECORDS).inc(account.event_time_late)
        for cause, count in account.es_retries.items():
            counter(m.ETL_ES_RETRIES).labels(cause).inc(count)
        counter(m.ETL_ES_REJECTIONS).inc(account.es_rejected)
        histogram(m.ETL_BATCH_DURATION).observe(account.seconds)
        histogram(m.ETL_BATCH_ROWS).observe(account.input)
        gauge(m.ETL_LAST_BATCH_TIMESTAMP).set(time.time())

    def poll(self, queries: Sequence[StreamingQuery]) -> None:
        self._count_restarts(queries)
        for query in self._events(queries):
            self._follow_progress_safely(query.lastProgress)
            self._watch_sink(query)

    def finish(self, queries: Sequence[StreamingQuery]) -> None:
        self._count_restarts(queries)
        self._next_lag = 0.0
        for query in self._events(queries):
            self._follow_progress_safely(query.lastProgress)
        gauge(m.ETL_SINK_WAITING).set(0)

    def _count_restarts(self, queries: Sequence[StreamingQuery]) -> None:
        """What each self-restarting query (``SupervisedQuery.restarts``) restarted since."""
        for query in queries:
            restarts = getattr(query, "restarts", None)
            if not isinstance(restarts, int):
                continue
            name = str(query.name)
            new = restarts - self._restarts_counted.get(name, 0)
            if new > 0:
                counter(m.ETL_QUERY_RESTARTS).labels(name).inc(new)
                self._restarts_counted[name] = restarts

    def _events(self, queries: Sequence[StreamingQuery]) -> list[StreamingQuery]:
        """The events query alone: the group's offsets, the lag and the sink are its (the
        archive and the anomalies queries read other offsets and write elsewhere)."""
        name = f"{self.config.elasticsearch.index_prefix}-{names.EVENTS_QUERY}"
        return [q for q in queries if getattr(q, "name", None) == name]

    def _follow_progress_safely(self, progress: Any) -> None:
        """The group and the lag are for Kafka's tools and the metrics, never the job's truth: a
        broker away or an ACL refusing the commit is said (at most once a minute), not fatal."""
        try:
            self._follow_progress(progress)
        except KafkaException as exc:
            now = time.monotonic()
            if now >= self._next_warning:
                self._next_warning = now + WARNING_INTERVAL_SECONDS
                print(
                    f"{REPORT_PREFIX}consumer group {self.config.kafka.consumer_group}: offsets "
                    f"not committed / lag not measured ({exc.args[0]}); the checkpoint is "
                    "unaffected, retried at the next batch",
                    file=sys.stderr,
                    flush=True,
                )

    def close(self) -> None:
        if self.group is not None:
            self.group.close()

    def _follow_progress(self, progress: Any) -> None:
        """A new progress report: commit its offsets; the lag is measured again every
        ``LAG_INTERVAL_SECONDS`` too, so it grows while a batch waits out an outage."""
        now = time.monotonic()
        if progress and progress.get("id") is not None:
            key = f"{progress['runId']}/{progress['batchId']}"
            if key != self._last_progress:
                self._last_progress = key
                gauge(m.ETL_INPUT_RATE).set(float(progress.get("inputRowsPerSecond") or 0))
                gauge(m.ETL_PROCESSING_RATE).set(float(progress.get("processedRowsPerSecond") or 0))
                self._offsets = source_end_offsets(progress)
                if self.group is not None and self._offsets:
                    self.group.commit(self._offsets)
                self._next_lag = now
        if self.group is None or not self._offsets or now < self._next_lag:
            return
        self._next_lag = now + LAG_INTERVAL_SECONDS
        for lag in self.group.lag(self._offsets):
            labels = (lag.topic, str(lag.partition))
            gauge(m.ETL_CONSUMER_LAG_RECORDS).labels(*labels).set(lag.records)
            gauge(m.ETL_CONSUMER_LAG_SECONDS).labels(*labels).set(lag.seconds)

    def _watch_sink(self, query: StreamingQuery) -> None:
        running = bool(query.status.get("isTriggerActive"))
        now = time.monotonic()
        if not running:
            self._batch_started = None
            gauge(m.ETL_SINK_WAITING).set(0)
            return
        if self._batch_started is None:
            self._batch_started = now
        es = self.config.elasticsearch
        if now - self._batch_started < es.initial_backoff_seconds * 4 or now < self._next_probe:
            return
        self._next_probe = now + PROBE_INTERVAL_SECONDS
        gauge(m.ETL_SINK_WAITING).set(1 if self._sink_unavailable() else 0)

    def _sink_unavailable(self) -> bool:
        es = self.config.elasticsearch
        client = create_es_client(es).options(
            request_timeout=PROBE_TIMEOUT_SECONDS, retry_on_status=(), max_retries=0
        )
        try:
            client.cluster.health()
        except (ApiError, TransportError) as exc:
            return transient_cause(exc, es) is not None
        finally:
            client.close()
        return False
