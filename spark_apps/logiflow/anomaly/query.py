"""The anomaly query: minute counts from Kafka, judged per series in streaming state, written
as anomaly documents to ``<prefix>-anomalies-YYYY.MM``.

Pure transforms (``detect``, ``anomaly_documents``) and the one writer the streaming query
calls per batch. Document ids hash service, endpoint, metric and minute, so a replayed batch
rewrites its anomalies instead of adding to them.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from logiflow.anomaly.detector import DetectorSettings
from logiflow.anomaly.minute_counts import WINDOW_START, read_minute_counts
from logiflow.anomaly.minute_judge import DETECTIONS_SCHEMA, MinuteJudge
from logiflow.config import AnomalySettings, LogiflowConfig, interval_seconds
from logiflow.contract import anomalies as a
from logiflow.contract import ecs
from logiflow.contract import metrics as m
from logiflow.io.sink_elasticsearch import monthly_index_column, write_documents
from logiflow.io.source_kafka import kafka_source_options
from logiflow.metrics.registry import counter
from logiflow.query_errors import short_batch_errors

ANOMALIES_QUERY = "anomalies"
# transformWithState keeps its state in RocksDB (the only provider it supports).
STATE_STORE_CONF = {
    "spark.sql.streaming.stateStore.providerClass": (
        "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"
    )
}


def detector_settings(settings: AnomalySettings) -> DetectorSettings:
    return DetectorSettings(
        z_threshold=settings.z_threshold,
        warmup_minutes=settings.warmup_windows,
        min_requests=settings.min_requests,
        min_errors=settings.min_errors,
        min_rate_rise=settings.min_rate_rise,
        min_traffic_change=settings.min_traffic_change,
        min_latency_rise=settings.min_latency_rise,
    )


def detect(config: LogiflowConfig) -> Callable[[DataFrame], DataFrame]:
    """Minute-count rows (``anomaly.minute_counts``) to one row per detection."""
    settings = config.anomaly
    judge = MinuteJudge(
        detector_settings(settings),
        window_seconds=int(interval_seconds(config.aggregate.window)),
        idle_minutes=settings.idle_windows,
        state_ttl_seconds=int(interval_seconds(settings.state_ttl)),
    )

    def transform(counts: DataFrame) -> DataFrame:
        return (
            counts.withWatermark(WINDOW_START, settings.lateness)
            .groupBy("scope", "service", "endpoint")
            .transformWithStateInPandas(
                statefulProcessor=judge,
                outputStructType=DETECTIONS_SCHEMA,
                outputMode="Append",
                timeMode="EventTime",
            )
        )

    return transform


def anomaly_documents(detections: DataFrame, window_seconds: int) -> DataFrame:
    """Detection rows to anomaly documents (``contract.anomalies``)."""
    start = F.timestamp_seconds(F.col("minute"))
    return detections.select(
        F.sha2(
            F.concat_ws(
                "|",
                F.coalesce(F.col("service"), F.lit("")),
                F.coalesce(F.col("endpoint"), F.lit("")),
                F.col("metric"),
                F.col("minute").cast("string"),
            ),
            256,
        ).alias(a.DOC_ID),
        start.alias(a.TIMESTAMP),
        F.timestamp_seconds(F.col("minute") + F.lit(window_seconds)).alias(a.WINDOW_END),
        F.col("service").alias(a.SERVICE),
        F.col("endpoint").alias(a.ENDPOINT),
        F.lit(a.EVENT_KIND_ALERT).alias(a.EVENT_KIND),
        F.round(F.col("score")).cast("long").alias(a.EVENT_SEVERITY),
        F.col("severity").alias(a.SEVERITY_NAME),
        F.col("metric").alias(a.METRIC),
        F.col("direction").alias(a.DIRECTION),
        F.col("actual").alias(a.ACTUAL),
        F.col("expected").alias(a.EXPECTED),
        F.col("score").alias(a.SCORE),
        F.col("requests").alias(a.REQUESTS),
        F.current_timestamp().alias(a.DETECTED_AT),
        _sentence().alias(a.MESSAGE),
    )


def _sentence() -> Column:
    """ "checkout /cart/{id}: 5xx error rate 23.0% where 0.4% was expected (score 91, critical)"."""
    where = F.concat_ws(" ", F.coalesce(F.col("service"), F.lit("(no service)")), F.col("endpoint"))
    percent = F.col("metric").isin(a.METRIC_RATE_4XX, a.METRIC_RATE_5XX)
    latency = F.col("metric").isin(*a.LATENCY_METRICS)
    what = (
        F.when(F.col("metric") == a.METRIC_RATE_4XX, F.lit("4xx error rate"))
        .when(F.col("metric") == a.METRIC_RATE_5XX, F.lit("5xx error rate"))
        .when(F.col("metric") == a.METRIC_LATENCY, F.lit("typical latency (geometric mean)"))
        .when(F.col("metric") == a.METRIC_LATENCY_P95, F.lit("p95 latency"))
        .when(F.col("metric") == a.METRIC_LATENCY_P99, F.lit("p99 latency"))
        .when(F.col("metric") == a.METRIC_NEW_ERRORS, F.lit("first 5xx errors"))
        .otherwise(F.lit("requests per minute"))
    )
    actual = _shown(F.col("actual"), percent, latency)
    expected = _shown(F.col("expected"), percent, latency)
    return F.format_string(
        "%s: %s %s where %s was expected (score %d, %s)",
        where,
        what,
        actual,
        expected,
        F.round(F.col("score")).cast("int"),
        F.col("severity"),
    )


def _shown(value: Column, percent: Column, latency: Column) -> Column:
    return (
        F.when(percent, F.format_string("%.1f%%", value * 100))
        .when(latency, F.format_string("%.0f ms", value * 1000))
        .otherwise(F.format_string("%.0f", value))
    )


def anomaly_index(prefix: str) -> Column:
    return monthly_index_column(prefix, a.INDEX_KIND, F.col(a.TIMESTAMP))


def anomalies_batch_writer(config: LogiflowConfig) -> Callable[[DataFrame, int], None]:
    """Writes each batch's anomaly documents, then counts them in the driver's metrics."""
    es = config.elasticsearch
    window_seconds = int(interval_seconds(config.aggregate.window))
    detected = counter(m.ANOMALIES_DETECTED)

    def write_batch(detections: DataFrame, batch_id: int) -> None:
        # Kept for the count after the write: recomputing a stateful batch would run the
        # detector twice over the same state.
        detections = detections.persist()
        try:
            write_documents(
                anomaly_documents(detections, window_seconds), anomaly_index(es.index_prefix), es
            )
            for row in detections.groupBy("service", "metric", "severity").count().collect():
                service = row["service"] or ecs.NO_SERVICE
                detected.labels(service, row["metric"], row["severity"]).inc(row["count"])
        finally:
            detections.unpersist()

    return write_batch


def start_anomaly_query(
    spark: SparkSession, config: LogiflowConfig, checkpoint: str, until_caught_up: bool
) -> StreamingQuery:
    """Reads ``anomaly.topic`` from its checkpoint on; ``until_caught_up``: what is there now."""
    for key, value in STATE_STORE_CONF.items():
        spark.conf.set(key, value)
    prefix = config.elasticsearch.index_prefix
    source = kafka_source_options(config.kafka) | {"subscribe": config.anomaly.topic}
    counts = read_minute_counts(spark.readStream.format("kafka").options(**source).load())
    writer = (
        counts.transform(detect(config))
        .writeStream.queryName(f"{prefix}-{ANOMALIES_QUERY}")
        .option("checkpointLocation", checkpoint)
        .foreachBatch(short_batch_errors(anomalies_batch_writer(config)))
    )
    if until_caught_up:
        return writer.trigger(availableNow=True).start()
    return writer.trigger(processingTime=config.spark.trigger_interval).start()
