"""Window aggregates: the partial documents of one batch, their ids across batches and replays,
and late events."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from typing import Any

import pytest
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql.types import (
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from logiflow.anomaly.latency_histogram import bucket_of
from logiflow.config import AggregateSettings
from logiflow.contract import aggregates as agg
from logiflow.contract import ecs
from logiflow.etl.aggregate_windows import LATENCY_BUCKETS, aggregate_windows

SCHEMA = StructType(
    [
        StructField(ecs.TIMESTAMP, TimestampType()),
        StructField(ecs.SERVICE_NAME, StringType()),
        StructField(ecs.ENDPOINT, StringType()),
        StructField(ecs.HTTP_RESPONSE_STATUS_CODE, IntegerType()),
        StructField(ecs.HTTP_RESPONSE_BODY_BYTES, LongType()),
        StructField(ecs.EVENT_DURATION, LongType()),
        StructField(ecs.OUTCOME, StringType()),
        StructField(ecs.KAFKA_TOPIC, StringType()),
        StructField(ecs.KAFKA_PARTITION, IntegerType()),
        StructField(ecs.KAFKA_OFFSET, LongType()),
        StructField(ecs.KAFKA_TIMESTAMP, TimestampType()),
    ]
)
BASE = dt.datetime(2026, 11, 24, 10, 0, 0)
MS = 1_000_000
_offsets = itertools.count()


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
    arrived: float | None = None,
) -> tuple[Any, ...]:
    """One processed row; its Kafka record arrived ``arrived`` s after BASE (default: 1 s after
    the event), at the next offset of partition 0."""
    arrival = at(seconds + 1 if arrived is None else arrived)
    return (at(seconds), service, endpoint, status, size, duration, outcome, "logs", 0,
            next(_offsets), arrival)  # fmt: skip


def by_key(rows: list[Row]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {
        (
            r[ecs.TIMESTAMP],
            r[agg.AGG_SCOPE],
            r[ecs.SERVICE_NAME],
            r[ecs.ENDPOINT],
        ): r.asDict(recursive=True)
        for r in rows
    }


def partials(df: DataFrame, settings: AggregateSettings | None = None) -> list[Row]:
    return df.transform(aggregate_windows(settings or AggregateSettings())).collect()


def test_counts_bytes_and_latency(spark: SparkSession) -> None:
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
    assert shop[agg.AGG_BYTES] == 100 * 100 + 50
    assert shop[agg.AGG_LATENCY_COUNT] == 100
    assert shop[agg.WINDOW_END] == at(60)
    assert shop[agg.AGG_LATENCY_SUM] == sum(durations)

    users = docs[(BASE, "endpoint", "shop", "/users/{id}")]
    assert (users[agg.AGG_REQUESTS], users[agg.AGG_STATUS_4XX]) == (101, 1)
    pay = docs[(BASE, "endpoint", "shop", "/pay")]
    assert (pay[agg.AGG_REQUESTS], pay[agg.AGG_STATUS_5XX]) == (1, 1)
    assert (pay[agg.AGG_LATENCY_COUNT], pay[agg.AGG_LATENCY_SUM]) == (0, 0)

    search = docs[(at(60), "service", "search", None)]
    assert search[agg.AGG_REQUESTS] == 1 and search[agg.AGG_LATENCY_COUNT] == 0

    ids = [doc[ecs.DOC_ID] for doc in docs.values()]
    assert len(set(ids)) == len(ids)
    again = {r[ecs.DOC_ID] for r in df.transform(aggregate_windows(AggregateSettings())).collect()}
    assert again == set(ids)  # deterministic: a rewrite targets the same documents


def test_batches_of_one_window_are_partials_that_sum_to_the_whole(spark: SparkSession) -> None:
    """Two batches touching one window give two documents (distinct ids) whose counts add up to
    what one batch with all the events gives; a batch run again gives the same ids."""
    rows = [event(i, status=500 if i % 7 == 0 else 200) for i in range(40)]
    first = spark.createDataFrame(rows[:25], SCHEMA)
    second = spark.createDataFrame(rows[25:], SCHEMA)
    whole = by_key(partials(spark.createDataFrame(rows, SCHEMA)))

    split = partials(first) + partials(second)
    assert len({r[ecs.DOC_ID] for r in split}) == len(split) == 2 * len(whole)
    for key, doc in whole.items():
        parts = [r.asDict() for r in split if by_key([r]).keys() == {key}]
        assert len(parts) == 2
        for field in (agg.AGG_EVENTS, agg.AGG_STATUS_5XX, agg.AGG_BYTES, agg.AGG_LATENCY_SUM):
            assert sum(p[field] for p in parts) == doc[field], field

    replayed = {r[ecs.DOC_ID] for r in partials(first)}
    assert replayed == {r[ecs.DOC_ID] for r in partials(first)} <= {r[ecs.DOC_ID] for r in split}


def test_late_events_count_however_late(spark: SparkSession) -> None:
    """No watermark: a record that arrives a day after its event still counts in its window."""
    rows = [event(10), event(20, status=503, arrived=86_400), event(30, arrived=0)]
    docs = by_key(partials(spark.createDataFrame(rows, SCHEMA)))
    shop = docs[(BASE, "service", "shop", None)]
    assert shop[agg.AGG_EVENTS] == 3
    assert shop[agg.AGG_STATUS_5XX] == 1


def test_no_requests_and_no_service_still_count(spark: SparkSession) -> None:
    df = spark.createDataFrame([event(5, status=None, endpoint=None, service=None)], SCHEMA)
    (doc,) = partials(df)
    assert doc[ecs.SERVICE_NAME] is None
    assert doc[agg.AGG_EVENTS] == 1 and doc[agg.AGG_REQUESTS] == 0


def test_with_the_latency_histogram_the_partials_are_the_same_plus_their_buckets(
    spark: SparkSession,
) -> None:
    """Anomaly detection on: the same documents (ids, counts, sums) and each partial's latencies
    counted in the buckets the detector's pure ``bucket_of`` gives."""
    durations = [i * 7 * MS + 1_000 for i in range(120)]  # 1 us .. 833 ms
    rows = [event(i * 0.4, duration=d, endpoint=f"/e{i % 3}") for i, d in enumerate(durations)]
    rows += [event(50, status=503, duration=None), event(61, service="search", duration=5 * MS)]
    df = spark.createDataFrame(rows, SCHEMA)
    plain = by_key(df.transform(aggregate_windows(AggregateSettings())).collect())
    with_buckets = df.transform(aggregate_windows(AggregateSettings(), latency_histogram=True))
    assert tuple(with_buckets.columns) == (*agg.AGGREGATE_COLUMNS, LATENCY_BUCKETS)
    docs = by_key(with_buckets.collect())
    assert docs.keys() == plain.keys()
    for key, doc in docs.items():
        # The log sum is a float summed in another order: equal to rounding.
        assert doc[agg.AGG_LATENCY_LOG_SUM] == pytest.approx(plain[key][agg.AGG_LATENCY_LOG_SUM])
        skipped = (LATENCY_BUCKETS, agg.AGG_LATENCY_LOG_SUM)
        assert {f: v for f, v in doc.items() if f not in skipped} == {
            f: v for f, v in plain[key].items() if f != agg.AGG_LATENCY_LOG_SUM
        }

    expected: dict[tuple[Any, ...], Counter[int]] = {}
    for i, d in enumerate(durations):
        for key in ((BASE, "service", "shop", None), (BASE, "endpoint", "shop", f"/e{i % 3}")):
            expected.setdefault(key, Counter())[bucket_of(d / 1e9)] += 1
    expected[(BASE, "endpoint", "shop", "/users/{id}")] = Counter()  # the 503 had no duration
    expected[(at(60), "service", "search", None)] = Counter({bucket_of(0.005): 1})
    expected[(at(60), "endpoint", "search", "/users/{id}")] = Counter({bucket_of(0.005): 1})
    assert {k: Counter(d[LATENCY_BUCKETS]) for k, d in docs.items()} == expected
