"""Kafka records to archive rows and back: the two transforms of the raw-log archive.

``to_archive_rows`` keeps each record whole (bytes, coordinates, key, headers, Kafka time) and
adds the source identity as text and the arrival date and hour it is partitioned by;
``to_kafka_rows`` gives backfill the Kafka source's columns again, so the ETL's decode sees the
same row it saw from Kafka. The layout is ``contract.archive_layout``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from logiflow.contract import archive_layout as layout
from logiflow.contract.kafka_records import HEADER_SOURCE_ID, KEY_PATTERN

Transform = Callable[[DataFrame], DataFrame]


def _source_id(headers: Column) -> Column:
    # The first logiflow.source.id header, as decode_records reads it; null without one.
    position = F.array_position(headers.getField("key"), F.lit(HEADER_SOURCE_ID))
    return F.get(headers.getField("value"), position - F.lit(1)).cast("string")


def to_archive_rows() -> Transform:
    """Kafka source rows (with headers) -> archive rows (``layout.SCHEMA_DDL``)."""

    def transform(df: DataFrame) -> DataFrame:
        arrival = F.col(layout.TIMESTAMP)
        return df.select(
            *(F.col(name) for name in layout.KAFKA_COLUMNS if name != layout.TOPIC),
            _source_id(F.col(layout.HEADERS)).alias(layout.SOURCE_ID),
            F.col(layout.TOPIC),
            F.to_date(arrival).alias(layout.DATE),
            F.hour(arrival).alias(layout.HOUR),
        )

    return transform


def to_kafka_rows() -> Transform:
    """Archive rows -> the Kafka source's columns, in its order."""

    def transform(df: DataFrame) -> DataFrame:
        return df.select(*(F.col(name) for name in layout.KAFKA_COLUMNS))

    return transform


def in_range(since: datetime | None, until: datetime | None) -> Transform:
    """Rows that arrived in [since, until) (naive datetimes are UTC); the conditions on the
    partition columns alone let Spark skip the other hours' directories without opening them."""

    def transform(df: DataFrame) -> DataFrame:
        arrival = F.col(layout.TIMESTAMP)
        day, hour = F.col(layout.DATE), F.col(layout.HOUR)
        if since is not None:
            first = F.lit(since.date())
            df = df.where((day > first) | ((day == first) & (hour >= since.hour)))
            df = df.where(arrival >= F.lit(since))
        if until is not None:
            last = F.lit(until.date())
            df = df.where((day < last) | ((day == last) & (hour <= until.hour)))
            df = df.where(arrival < F.lit(until))
        return df

    return transform


def of_service(service: str) -> Transform:
    """Rows whose key (``<host>/<service>``) names ``service``."""

    def transform(df: DataFrame) -> DataFrame:
        key_service = F.regexp_extract(F.col(layout.KEY).cast("string"), KEY_PATTERN, 2)
        return df.where(key_service == F.lit(service))

    return transform
