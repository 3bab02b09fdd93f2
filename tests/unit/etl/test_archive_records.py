"""archive_records: Kafka rows to archive rows and back, and the range and service filters."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession

from logiflow.contract import archive_layout as layout
from logiflow.contract.kafka_records import HEADER_PATH, HEADER_SOURCE_ID
from logiflow.etl.archive_records import in_range, of_service, to_archive_rows, to_kafka_rows

KAFKA_DDL = (
    "key binary, value binary, topic string, partition int, offset long, timestamp timestamp, "
    "timestampType int, headers array<struct<key: string, value: binary>>"
)
T0 = dt.datetime(2026, 11, 24, 22, 59, 59)


def _kafka(spark: SparkSession) -> DataFrame:
    headers = [(HEADER_PATH, b"/var/log/a.log"), (HEADER_SOURCE_ID, b"file:ab:0")]
    rows = [
        (b"h1/shop", b"line 0", "logs", 0, 0, T0, 0, headers),
        (b"h2/api", b"line 1", "logs", 1, 7, T0 + dt.timedelta(seconds=2), 0, []),
        (None, b"\xff raw", "logs", 1, 8, T0 + dt.timedelta(hours=2), 0, None),
    ]
    return spark.createDataFrame(rows, KAFKA_DDL)


def test_archive_rows_keep_the_record_and_add_source_id_date_and_hour(spark: SparkSession) -> None:
    archived = _kafka(spark).transform(to_archive_rows())
    assert archived.columns == [
        layout.KEY, layout.VALUE, layout.PARTITION, layout.OFFSET, layout.TIMESTAMP,
        layout.TIMESTAMP_TYPE, layout.HEADERS, layout.SOURCE_ID, layout.TOPIC, layout.DATE,
        layout.HOUR,
    ]  # fmt: skip
    rows = archived.orderBy(layout.OFFSET).collect()
    assert [r[layout.SOURCE_ID] for r in rows] == ["file:ab:0", None, None]
    assert [(r[layout.DATE], r[layout.HOUR]) for r in rows] == [
        (dt.date(2026, 11, 24), 22),
        (dt.date(2026, 11, 24), 23),
        (dt.date(2026, 11, 25), 0),
    ]
    assert bytes(rows[2][layout.VALUE]) == b"\xff raw"


def test_back_to_kafka_rows_gives_the_source_rows_unchanged(spark: SparkSession) -> None:
    kafka = _kafka(spark)
    round_trip = kafka.transform(to_archive_rows()).transform(to_kafka_rows())
    assert round_trip.schema == kafka.schema
    by_offset = layout.OFFSET
    assert round_trip.orderBy(by_offset).collect() == kafka.orderBy(by_offset).collect()


def test_range_is_half_open_on_arrival_and_service_reads_the_key(spark: SparkSession) -> None:
    archived = _kafka(spark).transform(to_archive_rows())
    since = dt.datetime(2026, 11, 24, 23, 0, 0, tzinfo=dt.UTC)
    until = dt.datetime(2026, 11, 25, 0, 0, 0, tzinfo=dt.UTC)
    kept = archived.transform(in_range(since, until)).collect()
    assert [r[layout.OFFSET] for r in kept] == [7]
    assert archived.transform(in_range(None, since)).count() == 1
    assert archived.transform(in_range(until, None)).count() == 1
    assert [r[layout.OFFSET] for r in archived.transform(of_service("api")).collect()] == [7]
