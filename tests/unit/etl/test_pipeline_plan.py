"""The optimized plans of the job's two queries stay small (see spark_session: a filter pushed
down the parse projections once grew a 35 KB plan to megabytes and ran the driver out of heap)."""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import DataFrame, SparkSession

from logiflow.config import load_config
from logiflow.etl.pipeline import aggregate, process_records, select_events

KAFKA_SCHEMA = (
    "key binary, value binary, topic string, partition int, offset long, "
    "timestamp timestamp, timestampType int"
)
# Generous: the whole chain of projections is about 40 KB when nothing is duplicated.
MAX_PLAN_CHARS = 200_000


def _optimized_plan_chars(df: DataFrame) -> int:
    return len(df._jdf.queryExecution().optimizedPlan().toString())


def test_events_and_aggregates_plans_do_not_duplicate_the_parse(spark: SparkSession) -> None:
    line = b'1.2.3.4 - - [10/Oct/2024:13:55:36 +0000] "GET /a/1 HTTP/1.1" 200 12 "-" "curl/8"'
    records = spark.createDataFrame(
        [(b"web-1/shop", line, "logs", 0, 7, datetime(2024, 10, 10), 0)], KAFKA_SCHEMA
    )
    config = load_config()
    processed = records.transform(process_records(config))

    events = processed.transform(select_events)
    aggregates = processed.transform(aggregate(config))

    assert _optimized_plan_chars(events) < MAX_PLAN_CHARS
    assert _optimized_plan_chars(aggregates) < MAX_PLAN_CHARS
    assert events.count() == 1
    # One window's service and endpoint partials, and the hour's visitor document.
    assert aggregates.count() == 3


def _compilations(spark: SparkSession) -> int:
    """Classes Spark's code generator has compiled in this JVM so far."""
    metrics = spark.sparkContext._jvm.org.apache.spark.metrics.source.CodegenMetrics  # type: ignore[union-attr]
    return int(metrics.METRIC_COMPILATION_TIME().getCount())


def test_later_batches_compile_no_new_code(spark: SparkSession) -> None:
    """Each batch runs at its own clock (``current_timestamp``); were the clock written into the
    generated source, every batch would compile the parse stage again (etl.bound_event_time
    says why it is not). The same plan run again at later clocks compiles nothing.

    Not every time: Spark orders the eliminated subexpressions of one projection differently
    now and then (seen once in about 20 runs), which is new source and one more compilation.
    So of three later runs, one must compile nothing; with the clock in the source, all three
    compiled (two classes each).
    """
    lines = [
        b'1.2.3.4 - - [10/Oct/2024:13:55:36 +0000] "GET /a/1 HTTP/1.1" 200 12 "-" "curl/8"',
        b'{"@timestamp": "2024-10-10T13:55:36Z", "message": "hi", "status": 503}',
        b"not a log line",
    ]
    records = spark.createDataFrame(
        [
            (b"web-1/shop", line, "logs", 0, n, datetime(2024, 10, 10), 0)
            for n, line in enumerate(lines)
        ],
        KAFKA_SCHEMA,
    )
    processed = records.transform(process_records(load_config()))
    processed.write.format("noop").mode("overwrite").save()  # compiles the stages once

    compiled = []
    for _ in range(3):  # each run at a new clock, as each batch
        before = _compilations(spark)
        processed.write.format("noop").mode("overwrite").save()
        compiled.append(_compilations(spark) - before)

    assert 0 in compiled, f"classes compiled by each later run: {compiled}"
