"""Event time bounded against arrival: out-of-bounds events are moved and flagged, never lost."""

from __future__ import annotations

import datetime as dt

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from logiflow.config import ParseSettings, interval_seconds
from logiflow.contract import ecs
from logiflow.etl.bound_event_time import bound_event_time
from logiflow.etl.columns import col
from logiflow.etl.decode_records import decode_kafka_records
from logiflow.etl.parse import parse_lines

ARRIVAL = dt.datetime(2026, 11, 24, 12, 0, 0)
SCHEMA = (
    f"`{ecs.DOC_ID}` string, `{ecs.KAFKA_TIMESTAMP}` timestamp, `{ecs.TIMESTAMP}` timestamp, "
    f"`{ecs.OUTCOME}` string"
)
RESULT_SCHEMA = (
    f"{SCHEMA}, `{ecs.EVENT_TIME_OUT_OF_BOUNDS}` boolean, `{ecs.EVENT_TIME_ORIGINAL}` timestamp"
)
INDEXED, DEAD = ecs.OUTCOME_INDEXED, ecs.OUTCOME_DEAD_LETTER
YEAR_2999 = dt.datetime(2999, 1, 1)
YEAR_1970 = dt.datetime(1970, 1, 1)
# The batch's clock: a little after the records arrived.
CLOCK = ARRIVAL + dt.timedelta(minutes=2)


def _bounded(spark: SparkSession, rows: list[tuple], settings: ParseSettings) -> DataFrame:
    return spark.createDataFrame(rows, SCHEMA).transform(bound_event_time(settings, CLOCK))


def _plain(df: DataFrame) -> DataFrame:
    """Dotted ECS names renamed, since chispa sorts by plain names (Spark splits on dots)."""
    return df.toDF(*(name.replace(".", "_").replace("@", "") for name in df.columns))


def test_interval_seconds_of_the_defaults() -> None:
    settings = ParseSettings()
    assert interval_seconds(settings.event_time_max_ahead) == 86_400
    assert interval_seconds(settings.event_time_max_behind) == 30 * 86_400
    assert interval_seconds("90 minutes") == 5_400


def test_only_out_of_bounds_indexed_events_move_to_their_arrival(spark: SparkSession) -> None:
    day, hour = dt.timedelta(days=1), dt.timedelta(hours=1)
    rows = [
        ("in", ARRIVAL, ARRIVAL - hour, INDEXED),
        ("edge-ahead", ARRIVAL, ARRIVAL + day, INDEXED),  # exactly at the bound: kept
        ("edge-behind", ARRIVAL, ARRIVAL - 30 * day, INDEXED),
        ("ahead", ARRIVAL, ARRIVAL + day + dt.timedelta(seconds=1), INDEXED),
        ("behind", ARRIVAL, ARRIVAL - 31 * day, INDEXED),
        ("2999", ARRIVAL, YEAR_2999, INDEXED),
        ("1970", ARRIVAL, YEAR_1970, INDEXED),
        ("dead", ARRIVAL, YEAR_2999, DEAD),  # dead letters are filed by their Kafka time anyway
        ("no-time", ARRIVAL, None, INDEXED),
    ]
    moved = {"ahead", "behind", "2999", "1970"}
    expected = spark.createDataFrame(
        [
            (doc, kafka, ARRIVAL, outcome, True, event)
            if doc in moved
            else (doc, kafka, event, outcome, None, None)
            for doc, kafka, event, outcome in rows
        ],
        RESULT_SCHEMA,
    )
    actual = _bounded(spark, rows, ParseSettings())
    assert_df_equality(_plain(actual), _plain(expected), ignore_row_order=True)


def test_bounds_are_configurable(spark: SparkSession) -> None:
    settings = ParseSettings(event_time_max_ahead="5 minutes", event_time_max_behind="1 hour")
    rows = [
        ("ten-min-ahead", ARRIVAL, ARRIVAL + dt.timedelta(minutes=10), INDEXED),
        ("half-hour-behind", ARRIVAL, ARRIVAL - dt.timedelta(minutes=30), INDEXED),
    ]
    flags = {
        r[ecs.DOC_ID]: r[ecs.EVENT_TIME_OUT_OF_BOUNDS]
        for r in _bounded(spark, rows, settings)
        .select(col(ecs.DOC_ID), col(ecs.EVENT_TIME_OUT_OF_BOUNDS))
        .collect()
    }
    assert flags == {"ten-min-ahead": True, "half-hour-behind": None}


def test_a_kafka_time_in_the_future_is_not_trusted(spark: SparkSession) -> None:
    """A producer's clock in 2999 must not carry the event's index date there either."""
    rows = [("forged", YEAR_2999, YEAR_2999, INDEXED)]
    row = _bounded(spark, rows, ParseSettings()).collect()[0]
    assert row[ecs.TIMESTAMP] == CLOCK + dt.timedelta(days=1)  # the batch's clock + max ahead
    assert row[ecs.EVENT_TIME_OUT_OF_BOUNDS] is True
    assert row[ecs.EVENT_TIME_ORIGINAL] == YEAR_2999


def test_parsed_lines_from_2999_and_1970_keep_their_claim(kafka_frame, spark: SparkSession) -> None:
    """Through decode + parse: the claimed time survives in logiflow.event_time.original."""
    settings = ParseSettings()
    lines = [
        '10.0.0.1 - - [01/Jan/2999:00:00:00 +0000] "GET /future HTTP/1.1" 200 5 "-" "curl/8"',
        '10.0.0.2 - - [01/Jan/1970:00:00:00 +0000] "GET /past HTTP/1.1" 200 5 "-" "curl/8"',
        '10.0.0.3 - - [01/Jan/2026:00:00:00 +0000] "GET /now HTTP/1.1" 200 5 "-" "curl/8"',
    ]
    rows = (
        kafka_frame(lines)
        .transform(decode_kafka_records(settings.max_line_bytes))
        .transform(parse_lines(settings))
        .transform(bound_event_time(settings, CLOCK))
        .select(
            col(ecs.URL_PATH).alias("path"),
            col(ecs.TIMESTAMP).alias("time"),
            col(ecs.EVENT_TIME_ORIGINAL).alias("claimed"),
        )
        .collect()
    )
    kafka_time = dt.datetime(2026, 1, 1)  # the kafka_frame fixture's record time, before CLOCK
    assert {r["path"]: (r["time"], r["claimed"]) for r in rows} == {
        "/future": (kafka_time, YEAR_2999),
        "/past": (kafka_time, YEAR_1970),
        "/now": (kafka_time, None),
    }


def test_without_a_kafka_time_the_batch_clock_is_the_arrival(spark: SparkSession) -> None:
    rows = [("no-kafka-time", None, YEAR_2999, INDEXED)]
    row = _bounded(spark, rows, ParseSettings()).collect()[0]
    assert (row[ecs.TIMESTAMP], row[ecs.EVENT_TIME_ORIGINAL]) == (CLOCK, YEAR_2999)


def test_an_aware_clock_counts_in_utc(spark: SparkSession) -> None:
    """The job passes aware clocks (the checkpoint's, in UTC); Spark's session time zone is UTC."""
    settings = ParseSettings()
    rows = [("no-kafka-time", None, YEAR_2999, INDEXED)]
    frame = spark.createDataFrame(rows, SCHEMA)
    aware = CLOCK.replace(tzinfo=dt.timezone(dt.timedelta(hours=2)))
    row = frame.transform(bound_event_time(settings, aware)).collect()[0]
    assert row[ecs.TIMESTAMP] == CLOCK - dt.timedelta(hours=2)
