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
