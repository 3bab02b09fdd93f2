"""The job's plans: small (see spark_session: a filter pushed down the parse projections once grew
a 35 KB plan to megabytes and ran the driver out of heap), and compiled once, not per batch."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from logiflow.batch_clock import checkpoint_batch_clock
from logiflow.config import load_config
from logiflow.etl.bound_event_time import bound_event_time
from logiflow.etl.pipeline import aggregate, process_records, select_events
from streaming_runs import run_until_caught_up

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


def test_later_micro_batches_compile_no_new_code(spark: SparkSession, tmp_path: Path) -> None:
    """The job's own path: a streaming query runs ``process_records``, its foreachBatch bounds
    event times with the batch's clock read from the checkpoint. Each micro-batch has a clock
    of its own; were it written into the generated source (as Spark does with
    ``current_timestamp()`` in a streaming plan, etl.bound_event_time says more), every batch
    would compile the parse stage again: two classes each. Later batches compile nothing.

    Not every time: Spark orders the eliminated subexpressions of one projection differently
    now and then (seen once in about 20 runs), which is new source and one more compilation.
    So of the three later batches, one must compile nothing.
    """
    lines = [
        b'1.2.3.4 - - [10/Oct/2024:13:55:36 +0000] "GET /a/1 HTTP/1.1" 200 12 "-" "curl/8"',
        b'{"@timestamp": "2024-10-10T13:55:36Z", "message": "hi", "status": 503}',
        b"not a log line",
    ]
    source, checkpoint = tmp_path / "records", str(tmp_path / "checkpoint")
    for batch in range(5):  # one file per micro-batch
        rows = [
            (b"web-1/shop", line, "logs", 0, batch * 10 + n, datetime(2024, 10, 10), 0)
            for n, line in enumerate(lines)
        ]
        spark.createDataFrame(rows, KAFKA_SCHEMA).coalesce(1).write.mode("append").parquet(
            str(source)
        )
    config = load_config()
    clock = checkpoint_batch_clock(spark, checkpoint)
    compiled: list[int] = []

    def write_batch(batch: DataFrame, batch_id: int) -> None:
        before = _compilations(spark)
        bounded = batch.transform(bound_event_time(config.parse, clock(batch_id)))
        bounded.write.format("noop").mode("overwrite").save()
        compiled.append(_compilations(spark) - before)

    stream = spark.readStream.schema(KAFKA_SCHEMA).option("maxFilesPerTrigger", 1)
    writer = stream.parquet(str(source)).transform(process_records(config)).writeStream
    run_until_caught_up(writer.foreachBatch(write_batch), checkpoint, timeout=300)
    assert len(compiled) == 5, compiled
    # The first batch compiles everything, the second may still meet new stages (JIT-free
    # warm-up of the noop writer); from the third on the source is the same.
    assert 0 in compiled[2:], f"classes compiled by each micro-batch: {compiled}"
