"""The raw-log archive's layout on S3: what the archive query writes and backfill reads.

One Parquet dataset under ``s3a://<archive.bucket>/<archive.prefix>``, written by Spark's file
sink (its commit log, ``_spark_metadata``, says which files are complete), partitioned by
``topic=<topic>/date=<yyyy-mm-dd>/hour=<0..23>`` of the record's Kafka timestamp (its arrival
time, UTC). Each row is one Kafka record exactly as the logs topic held it, so backfill hands the
ETL the same rows the Kafka source would and every document gets the same id.
"""

from __future__ import annotations

from datetime import date, datetime

# Columns named as Spark's Kafka source names them.
KEY = "key"
VALUE = "value"
TOPIC = "topic"
PARTITION = "partition"
OFFSET = "offset"
TIMESTAMP = "timestamp"
TIMESTAMP_TYPE = "timestampType"
HEADERS = "headers"
# The logiflow.source.id header as text (also inside HEADERS): where the line came from.
SOURCE_ID = "source_id"
# Partition columns of the arrival time.
DATE = "date"
HOUR = "hour"

PARTITION_COLUMNS = (TOPIC, DATE, HOUR)
# The Kafka source's columns, in its order: what backfill rebuilds from a row.
KAFKA_COLUMNS = (KEY, VALUE, TOPIC, PARTITION, OFFSET, TIMESTAMP, TIMESTAMP_TYPE, HEADERS)

# Spark DDL of a row as stored (partition columns included, with their types, so reading never
# depends on type inference from directory names).
SCHEMA_DDL = (
    f"`{KEY}` binary, `{VALUE}` binary, `{PARTITION}` int, `{OFFSET}` bigint, "
    f"`{TIMESTAMP}` timestamp, `{TIMESTAMP_TYPE}` int, "
    f"`{HEADERS}` array<struct<key: string, value: binary>>, `{SOURCE_ID}` string, "
    f"`{TOPIC}` string, `{DATE}` date, `{HOUR}` int"
)

# Spark's file sink keeps its commit log here, under the dataset's root.
METADATA_DIR = "_spark_metadata"
# Compacted copies of closed days (``logiflow archive compact``), under the dataset's root but
# beside the sink's data: a leading "_" keeps them out of any listing of the dataset, and the
# sink's commit log never names them. A day's copy counts only once its marker exists (written
# last); the marker lists the copy's files and the sink files they replace.
COMPACTED_DIR = "_compacted"
COMPACTED_MARKER = "_COMPACTED.json"


def compacted_day_directory(topic: str, day: date) -> str:
    """The directory, relative to the dataset's root, of one topic's compacted copy of a day."""
    return f"{COMPACTED_DIR}/{TOPIC}={topic}/{DATE}={day:%Y-%m-%d}"


def compacted_markers_glob(topic: str) -> str:
    """A glob, relative to the dataset's root, of the markers of one topic's compacted days."""
    return f"{COMPACTED_DIR}/{TOPIC}={topic}/{DATE}=*/{COMPACTED_MARKER}"


def hour_directory(topic: str, hour: datetime) -> str:
    """The directory, relative to the dataset's root, of one topic's records of one UTC hour."""
    return f"{TOPIC}={topic}/{DATE}={hour:%Y-%m-%d}/{HOUR}={hour.hour}"
