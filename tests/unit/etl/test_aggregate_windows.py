"""Window aggregates: the numbers on a static frame, then a real streaming query with late data."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql.types import (
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from logiflow.config import AggregateSettings
from logiflow.contract import aggregates as agg
from logiflow.contract import ecs
from logiflow.etl.aggregate_windows import aggregate_windows

SCHEMA = StructType(
    [
        StructField(ecs.TIMESTAMP, TimestampType()),
        StructField(ecs.SERVICE_NAME, StringType()),
        StructField(ecs.ENDPOINT, StringType()),
        StructField(ecs.HTTP_RESPONSE_STATUS_CODE, IntegerType()),
        StructField(ecs.HTTP_RESPONSE_BODY_BYTES, LongType()),
        StructField(ecs.EVENT_DURATION, LongType()),
        StructField(ecs.OUTCOME, StringType()),
    ]
)
BASE = dt.datetime(2026, 11, 24, 10, 0, 0)
MS = 1_000_000


def at(seconds: float) -> dt.datetime:
    return BASE + dt.timedelta(seconds=seconds)


def event(
    seconds: float,
    status: int | None = 200,
    endpoint: str | None = "/users/{id}",
    service: str | None = "shop",
    size: int | None = 100,
    duration: int | None = 10 * MS,
    outcome: str = ecs.OUTCOME_INDEXED,
) -> tuple[Any, ...]:
    return (at(seconds), service, endpoint, status, size, duration, outcome)


def by_key(rows: list[Row]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {
        (
            r[ecs.TIMESTAMP],
            r[agg.AGG_SCOPE],
            r[ecs.SERVICE_NAME],
            r[ecs.ENDPOINT],
        ): r.asDict()
        for r in rows
    }


def test_counts_rates_bytes_and_percentiles(spark: SparkSession) -> None:
    durations = [i * MS for i in range(1, 101)]  # 1..100 ms
    rows = [event(1 + i * 0.1, duration=d) for i, d in enumerate(durations)]
    rows += [
        event(20, status=404, size=None, duration=None),
        event(21, status=503, endpoint="/pay", size=50, duration=None),
        event(22, status=None, endpoint=None, size=None, duration=None),  # app log, no request
        event(23, status=500, outcome=ecs.OUTCOME_FILTERED),  # not counted
        event(24, status=500, outcome=ecs.OUTCOME_DEAD_LETTER),  # not counted
        event(70, status=200, service="search", endpoint="/q", duration=None),  # next window
    ]
    df = spark.createDataFrame(rows, SCHEMA)
    out = df.transform(aggregate_windows(AggregateSettings()))
    assert tuple(out.columns) == agg.AGGREGATE_COLUMNS
    docs = by_key(out.collect())
    assert len(docs) == 5

    shop = docs[(BASE, "service", "shop", None)]
    assert shop[agg.AGG_EVENTS] == 103
    assert shop[agg.AGG_REQUESTS] == 102
    assert shop[agg.AGG_STATUS_4XX] == 1
    assert shop[agg.AGG_STATUS_5XX] == 1
    assert abs(shop[agg.AGG_ERROR_RATE] - 2 / 102) < 1e-12
    assert shop[agg.AGG_BYTES] == 100 * 100 + 50
    assert shop[agg.AGG_LATENCY_COUNT] == 100
    assert abs(shop[agg.AGG_LATENCY_P50] - 50 * MS) <= 2 * MS
    assert abs(shop[agg.AGG_LATENCY_P95] - 95 * MS) <= 2 * MS
    assert abs(shop[agg.AGG_LATENCY_P99] - 99 * MS) <= 2 * MS
    assert shop[agg.WINDOW_END] == at(60)

    users = docs[(BASE, "endpoint", "shop", "/users/{id}")]
    assert (users[agg.AGG_REQUESTS], users[agg.AGG_STATUS_4XX]) == (101, 1)
    pay = docs[(BASE, "endpoint", "shop", "/pay")]
    assert (pay[agg.AGG_REQUESTS], pay[agg.AGG_STATUS_5XX], pay[agg.AGG_ERROR_RATE]) == (1, 1, 1.0)
    assert pay[agg.AGG_LATENCY_P50] is None and pay[agg.AGG_LATENCY_COUNT] == 0

    search = docs[(at(60), "service", "search", None)]
    assert search[agg.AGG_REQUESTS] == 1 and search[agg.AGG_LATENCY_P99] is None

    ids = [doc[ecs.DOC_ID] for doc in docs.values()]
    assert len(set(ids)) == len(ids)
    again = {r[ecs.DOC_ID] for r in df.transform(aggregate_windows(AggregateSettings())).collect()}
    assert again == set(ids)  # deterministic: a rewrite targets the same documents


def test_no_requests_gives_null_error_rate(spark: SparkSession) -> None:
    df = spark.createDataFrame([event(5, status=None, endpoint=None)], SCHEMA)
    (doc,) = df.transform(aggregate_windows(AggregateSettings())).collect()
    assert doc[agg.AGG_EVENTS] == 1 and doc[agg.AGG_REQUESTS] == 0
    assert doc[agg.AGG_ERROR_RATE] is None


def _write_batch(directory: Path, name: str, rows: list[tuple[Any, ...]]) -> None:
    lines = []
    for row in rows:
        record = dict(zip(SCHEMA.fieldNames(), row, strict=True))
        record[ecs.TIMESTAMP] = record[ecs.TIMESTAMP].isoformat()
        lines.append(json.dumps(record))
    # Written then renamed, so the file source never sees a half-written file.
    tmp = directory.parent / f"{name}.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    tmp.rename(directory / f"{name}.json")


def test_streaming_update_mode_with_late_data(spark: SparkSession) -> None:
    """In-order, out-of-order (within the watermark) and too-late events through a real query.

    The sink keeps the latest row per document id, as index-by-id in Elasticsearch does.
    """
    index: dict[str, dict[str, Any]] = {}
    emitted_per_batch: list[int] = []

    def upsert(batch: DataFrame, _batch_id: int) -> None:
        rows = batch.collect()
        emitted_per_batch.append(len(rows))
        for row in rows:
            index[row[ecs.DOC_ID]] = row.asDict()

    with tempfile.TemporaryDirectory(prefix="logiflow-agg-") as tmp:
        source = Path(tmp) / "in"
        source.mkdir()
        settings = AggregateSettings(window="1 minute", watermark="2 minutes")
        stream = spark.readStream.schema(SCHEMA).json(str(source))
        query = (
            stream.transform(aggregate_windows(settings))
            .writeStream.outputMode("update")
            .foreachBatch(upsert)
            .option("checkpointLocation", str(Path(tmp) / "checkpoint"))
            .start()
        )
        try:
            _write_batch(source, "b1", [event(10), event(50, status=500), event(90)])
            query.processAllAvailable()
            # Max event time 10:01:30 -> watermark 09:59:30. An out-of-order event for the
            # 10:00 window is within it; 10:05:30 moves the watermark to 10:03:30.
            _write_batch(source, "b2", [event(20, status=404), event(300), event(330)])
            query.processAllAvailable()
            # Window 10:00 ended before the 10:03:30 watermark: its late event is dropped. The
            # 10:05 window is still open and takes its out-of-order event.
            _write_batch(source, "b3", [event(40, status=503), event(310)])
            query.processAllAvailable()
        finally:
            query.stop()

    docs = {
        (d[ecs.TIMESTAMP], d[agg.AGG_SCOPE]): d
        for d in index.values()
        if d[ecs.SERVICE_NAME] == "shop"
    }
    first = docs[(BASE, "service")]
    assert first[agg.AGG_REQUESTS] == 3  # 10:00:10, 10:00:50, out-of-order 10:00:20
    assert (first[agg.AGG_STATUS_4XX], first[agg.AGG_STATUS_5XX]) == (1, 1)  # not the late 503
    assert docs[(at(60), "service")][agg.AGG_REQUESTS] == 1
    assert docs[(at(300), "service")][agg.AGG_REQUESTS] == 3  # 10:05:00, :30, then :10
    assert docs[(at(300), "endpoint")][agg.AGG_REQUESTS] == 3
    # Update mode re-emitted the changed 10:00 window under the same ids: no duplicates.
    assert len(index) == 6
    assert emitted_per_batch[0] == 4  # two windows x two scopes
