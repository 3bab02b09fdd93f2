"""The minute counts the anomaly query reads: the events query's partial aggregates, on Kafka.

The events query already sums every batch per window, service and endpoint
(``etl.aggregate_windows``); it sends those partials to ``anomaly.topic`` as well, so the anomaly
query judges traffic without reading or parsing a log line again (parse once). One record per
partial: key ``<scope>|<service>|<endpoint>``, value JSON with the fields below. The partial's
id travels with it, so the anomaly query counts a replayed batch's partials once.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from logiflow.contract import aggregates as agg
from logiflow.contract import ecs
from logiflow.etl.aggregate_windows import LATENCY_BUCKETS
from logiflow.etl.columns import col

PARTIAL_ID = "partial_id"
MINUTE = "minute"  # epoch seconds of the window's start
WINDOW_START = "window_start"  # the same as a timestamp: the anomaly query's event time
# The summed counts of a partial, in ``detector.MinuteCounts`` order.
COUNT_COLUMNS = (
    "requests", "status_4xx", "status_5xx", "latency_count", "latency_sum_seconds",
    "latency_log_sum",
)  # fmt: skip
# LATENCY_BUCKETS, the partial's latency histogram {"bucket": count}, is read back as its JSON
# text (a string field takes an object's text) and parsed by the series' judge.
MINUTE_COUNTS_SCHEMA = (
    "partial_id string, minute long, scope string, service string, endpoint string, "
    + ", ".join(f"{name} double" for name in COUNT_COLUMNS)
    + f", {LATENCY_BUCKETS} string"
)
_NS_PER_SECOND = 1e9


def minute_count_records(partials: DataFrame) -> DataFrame:
    """Partial aggregate documents (service and endpoint scopes) to Kafka records."""
    judged = partials.where(col(agg.AGG_SCOPE).isin(agg.SCOPE_SERVICE, agg.SCOPE_ENDPOINT))
    value = F.struct(
        col(ecs.DOC_ID).alias(PARTIAL_ID),
        F.unix_timestamp(col(ecs.TIMESTAMP)).alias(MINUTE),
        col(agg.AGG_SCOPE).alias("scope"),
        col(ecs.SERVICE_NAME).alias("service"),
        col(ecs.ENDPOINT).alias("endpoint"),
        col(agg.AGG_REQUESTS).cast("double").alias("requests"),
        col(agg.AGG_STATUS_4XX).cast("double").alias("status_4xx"),
        col(agg.AGG_STATUS_5XX).cast("double").alias("status_5xx"),
        col(agg.AGG_LATENCY_COUNT).cast("double").alias("latency_count"),
        (col(agg.AGG_LATENCY_SUM) / F.lit(_NS_PER_SECOND)).alias("latency_sum_seconds"),
        col(agg.AGG_LATENCY_LOG_SUM).alias("latency_log_sum"),
        *([F.col(LATENCY_BUCKETS)] if LATENCY_BUCKETS in partials.columns else []),
    )
    return judged.select(
        _series_key(col(agg.AGG_SCOPE), col(ecs.SERVICE_NAME), col(ecs.ENDPOINT)).alias("key"),
        F.to_json(value).alias("value"),
    )


def _series_key(scope: Column, service: Column, endpoint: Column) -> Column:
    return F.concat_ws("|", scope, F.coalesce(service, F.lit("")), F.coalesce(endpoint, F.lit("")))


def read_minute_counts(records: DataFrame) -> DataFrame:
    """Kafka records of ``anomaly.topic`` to minute-count rows with their event time."""
    counts = records.select(
        F.from_json(F.col("value").cast("string"), MINUTE_COUNTS_SCHEMA).alias("c")
    ).select("c.*")
    return counts.where(F.col(MINUTE).isNotNull()).withColumn(
        WINDOW_START, F.timestamp_seconds(F.col(MINUTE))
    )
