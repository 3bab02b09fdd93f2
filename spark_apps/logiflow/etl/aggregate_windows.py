"""Per-minute traffic aggregates as partial documents, computed from each parsed micro-batch.

The events query's ``foreachBatch`` calls this on the batch it has already decoded, parsed and
cached, so every record is parsed exactly once whatever is computed from it (issue 11; the old
design ran a second streaming query that read the topic and parsed every record again, 43% of
the job's CPU). For each window (``aggregate.window``, default one minute) touched by the batch
it counts, over indexed events that have an ``@timestamp``, per service (scope ``service``) and
per service + endpoint (scope ``endpoint``, rows with an endpoint only):

============================== =====================================================
``_logiflow_id``               sha256 of window start + scope + service + endpoint +
                               the first Kafka record (topic, partition, offset) counted
``@timestamp``                 window start
``logiflow.window.end``        window end (exclusive)
``logiflow.agg.scope``         "service" or "endpoint"
``service.name``               service (null when events carried none)
``logiflow.endpoint``          endpoint template (null for scope "service")
``logiflow.agg.events``        indexed events
``logiflow.agg.requests``      events with an HTTP status code
``logiflow.agg.status_4xx``    requests with 400..499
``logiflow.agg.status_5xx``    requests with 500..599
``logiflow.agg.bytes``         sum of ``http.response.body.bytes`` (0 when none)
``logiflow.agg.latency_count`` events with ``event.duration``
``logiflow.agg.latency_sum_ns`` sum of ``event.duration`` in ns (0 when none): with the
                               count, the mean latency of any set of partials
``logiflow.agg.latency_log_sum`` sum of ln(``event.duration`` in s, at least 1 us): with
                               the count, the geometric mean (robust to a few timeouts)
============================== =====================================================

**Partials, summed when read.** A window that spans several batches gets one document per batch
(per scope and keys). Readers sum the counts, sums included, so every figure is exact for
any time range and any set of windows. Each id names the first record the
partial counted: a batch replayed after a crash has the same offsets (Spark logs a batch's offset
range before running it), so it rewrites the same documents instead of adding to them, and two
different batches never share an id because they never share a record.

**Late data.** There is no streaming state and no Spark watermark: an event counts in its window
however late the batch that carries it arrives (a log shipped a day later, a producer that was
down), which the old watermarked aggregation could not do. Nothing has to be kept per window
between batches, so nothing grows with lateness. No row is ever dropped as late, so the batch
accounting has no late count; it counts instead the events whose own time was out of bounds
(``logiflow.count.event_time_out_of_bounds``), which ``etl.bound_event_time`` moved to their
arrival time and which therefore count in their window of arrival.

**Latency percentiles** on the dashboards come from the events (``percentiles`` on
``event.duration``), not from the index: percentiles of partials cannot be merged, and the one
mergeable form Elasticsearch offers, the ``histogram`` field type, lives in the x-pack analytics
module, which the embedded Elasticsearch (the integ-test distribution from Maven Central) does
not have. One contract must work on both, so the index keeps what sums exactly: count and sum,
hence the mean. With ``latency_histogram`` (anomaly detection on) each partial also counts its
latencies in log-spaced buckets (``anomaly.latency_histogram``), which merge exactly and give
the detector p95 and p99 per minute; they travel on the minute counts only, never indexed.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from logiflow.config import AggregateSettings
from logiflow.contract import ecs
from logiflow.contract.aggregates import (
    AGG_BYTES,
    AGG_EVENTS,
    AGG_LATENCY_COUNT,
    AGG_LATENCY_LOG_SUM,
    AGG_LATENCY_SUM,
    AGG_REQUESTS,
    AGG_SCOPE,
    AGG_STATUS_4XX,
    AGG_STATUS_5XX,
    LATENCY_BUCKETS_PER_DOUBLING,
    SCOPE_ENDPOINT,
    SCOPE_SERVICE,
    WINDOW_END,
)
from logiflow.etl.columns import col

# Stands in for null keys inside the id, where concat_ws would otherwise skip them and let
# (service=null, endpoint="x") collide with (service="x", endpoint=null).
_NULL_KEY = "\u0000"


# The partials' latency histogram (bucket -> count), with ``latency_histogram`` only: it goes to
# the anomaly detector's minute counts and is dropped before indexing.
LATENCY_BUCKETS = "latency_buckets"
_KEYS = ("window", "scope", "service", "endpoint")


def aggregate_windows(
    settings: AggregateSettings, latency_histogram: bool = False
) -> Callable[[DataFrame], DataFrame]:
    """Processed rows of one batch (any outcome) to partial aggregate documents (batch frames);
    ``latency_histogram`` adds each partial's ``LATENCY_BUCKETS`` (anomaly detection on)."""

    def transform(df: DataFrame) -> DataFrame:
        rows = _counted_rows(df, settings)
        if latency_histogram:
            grouped = _with_histogram(rows.withColumn("bucket", _latency_bucket(F.col("duration"))))
        else:
            grouped = rows.groupBy(*_KEYS).agg(*_measures())
        return grouped.select(
            _document_id().alias(ecs.DOC_ID),
            F.col("window.start").alias(ecs.TIMESTAMP),
            F.col("window.end").alias(WINDOW_END),
            F.col("scope").alias(AGG_SCOPE),
            F.col("service").alias(ecs.SERVICE_NAME),
            F.col("endpoint").alias(ecs.ENDPOINT),
            F.col("events").alias(AGG_EVENTS),
            F.col("requests").alias(AGG_REQUESTS),
            F.col("s4xx").alias(AGG_STATUS_4XX),
            F.col("s5xx").alias(AGG_STATUS_5XX),
            F.col("bytes").alias(AGG_BYTES),
            F.col("latency_count").alias(AGG_LATENCY_COUNT),
            F.col("latency_sum").alias(AGG_LATENCY_SUM),
            F.col("log_sum").alias(AGG_LATENCY_LOG_SUM),
            *([F.col(LATENCY_BUCKETS)] if latency_histogram else []),
        )

    return transform


def _measures() -> list[Column]:
    status = F.col("status")
    return [
        F.count(F.lit(1)).alias("events"),
        F.count(status).alias("requests"),
        F.count(F.when(status.between(400, 499), 1)).alias("s4xx"),
        F.count(F.when(status.between(500, 599), 1)).alias("s5xx"),
        F.coalesce(F.sum("bytes"), F.lit(0)).alias("bytes"),
        F.count("duration").alias("latency_count"),
        F.coalesce(F.sum("duration"), F.lit(0)).alias("latency_sum"),
        F.coalesce(F.sum(_log_seconds(F.col("duration"))), F.lit(0.0)).alias("log_sum"),
        # Names the partial: the first record it counted (see the module docstring).
        F.min("record").alias("first_record"),
    ]


def _with_histogram(rows: DataFrame) -> DataFrame:
    """The measures per key and latency bucket first, then per key with the buckets as a map:
    two hash aggregations, the second over at most a few dozen rows per key."""
    per_bucket = rows.groupBy(*_KEYS, "bucket").agg(*_measures())
    sums = ("events", "requests", "s4xx", "s5xx", "bytes", "latency_count", "latency_sum")
    entry = F.when(F.col("bucket").isNotNull(), F.struct("bucket", "latency_count"))
    return per_bucket.groupBy(*_KEYS).agg(
        *(F.sum(name).alias(name) for name in sums),
        F.sum("log_sum").alias("log_sum"),
        F.min("first_record").alias("first_record"),
        F.map_from_entries(F.collect_list(entry)).alias(LATENCY_BUCKETS),
    )


def _latency_bucket(duration_ns: Column) -> Column:
    """``anomaly.latency_histogram.bucket_of`` in Spark: floor(log2(seconds) x k)."""
    # greatest() skips nulls: an event without a duration must stay without a bucket.
    seconds = F.greatest(duration_ns, F.lit(1_000)) / F.lit(1e9)
    bucket = F.floor(F.log2(seconds) * F.lit(LATENCY_BUCKETS_PER_DOUBLING)).cast("int")
    return F.when(duration_ns.isNotNull(), bucket)


def _log_seconds(duration_ns: Column) -> Column:
    """ln of the duration in seconds; durations under a microsecond count as one (ln 0 is not
    a number, and nothing answers faster)."""
    return F.log(F.greatest(duration_ns, F.lit(1_000)) / F.lit(1e9))


def _counted_rows(df: DataFrame, settings: AggregateSettings) -> DataFrame:
    """One row per (event, scope) the aggregates count, with its window and Kafka record."""
    counted = df.where(
        (col(ecs.OUTCOME) == F.lit(ecs.OUTCOME_INDEXED)) & col(ecs.TIMESTAMP).isNotNull()
    )
    return (
        counted.select(
            F.window(col(ecs.TIMESTAMP), settings.window).alias("window"),
            col(ecs.SERVICE_NAME).alias("service"),
            col(ecs.ENDPOINT).alias("endpoint_template"),
            col(ecs.HTTP_RESPONSE_STATUS_CODE).alias("status"),
            col(ecs.HTTP_RESPONSE_BODY_BYTES).alias("bytes"),
            col(ecs.EVENT_DURATION).alias("duration"),
            F.struct(
                col(ecs.KAFKA_TOPIC).alias("topic"),
                col(ecs.KAFKA_PARTITION).alias("partition"),
                col(ecs.KAFKA_OFFSET).alias("offset"),
            ).alias("record"),
            F.explode(F.array(F.lit(SCOPE_SERVICE), F.lit(SCOPE_ENDPOINT))).alias("scope"),
        )
        .where((F.col("scope") == SCOPE_SERVICE) | F.col("endpoint_template").isNotNull())
        .withColumn(
            "endpoint", F.when(F.col("scope") == SCOPE_ENDPOINT, F.col("endpoint_template"))
        )
    )


def _document_id() -> Column:
    first = F.col("first_record")
    return F.sha2(
        F.concat_ws(
            "|",
            F.unix_micros(F.col("window.start")).cast("string"),
            F.col("scope"),
            F.coalesce(F.col("service"), F.lit(_NULL_KEY)),
            F.coalesce(F.col("endpoint"), F.lit(_NULL_KEY)),
            first["topic"],
            first["partition"].cast("string"),
            first["offset"].cast("string"),
        ),
        256,
    )
