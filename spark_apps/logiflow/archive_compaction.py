"""Compaction of one archived day: the sink's many small files rewritten as a few large ones.

The archive query writes about 12 files an hour (``archive_query``). ``logiflow archive compact
--date D`` rewrites one topic's day into a few large Parquet files, sorted by hour, partition and
offset, without touching the sink's own files or its commit log (``_spark_metadata``): the sink
keeps appending to it, and rewriting files it lists would make every reader of the dataset see
a record twice or lose it. Instead the copy goes to its own directory beside the data
(``archive_layout.compacted_day_directory``, one run directory per attempt), is read back and
checked record for record (count, distinct offsets, first and last offset per Kafka partition)
against the sink files it replaces, and only then is a marker written, last: it lists the
copy's files and the replaced sink files. Backfill reads a compacted day as the copy plus the
day's sink files the marker does not name (a late record committed after the compaction), so
a crash at any step loses and duplicates nothing: without a marker the sink's files are read.
The sink's files stay; a bucket lifecycle rule may expire them once the copy exists.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from logiflow.archive_query import use_archive_store
from logiflow.config import LogiflowConfig
from logiflow.contract import archive_layout as layout
from logiflow.errors import LogiflowError
from logiflow.io.hadoop_files import hadoop_path, read_bytes

# The column that names the sink file a row was read from.
SOURCE_FILE = "_source_file"
DEFAULT_ROWS_PER_FILE = 5_000_000


class CompactionError(LogiflowError):
    """The copy does not hold exactly the day's records: no marker was written."""


@dataclass
class CompactedDay:
    """What a day's marker says: the copy's files and the sink files they replace."""

    topic: str
    day: str
    records: int
    files: list[str]
    source_files: list[str]
    # Kafka partition -> [records, first offset, last offset], as checked before the marker.
    partitions: dict[str, list[int]] = field(default_factory=dict)
    compacted_at: str = ""
    already: bool = False


def marker_url(config: LogiflowConfig, day: date) -> str:
    directory = layout.compacted_day_directory(config.kafka.logs_topic, day)
    return f"{config.archive.url}/{directory}/{layout.COMPACTED_MARKER}"


def read_marker(spark: SparkSession, url: str) -> CompactedDay | None:
    path, fs = hadoop_path(spark, url)
    if not fs.exists(path):
        return None
    # Not spark.read.text: Spark skips files whose names start with "_", as the marker's does.
    return CompactedDay(**json.loads(read_bytes(spark, url)))


def _write_marker(spark: SparkSession, url: str, day: CompactedDay) -> None:
    path, fs = hadoop_path(spark, url)
    stream = fs.create(path, True)
    try:
        stream.write(bytearray(json.dumps(asdict(day)).encode()))
    finally:
        stream.close()


def compacted_days(
    spark: SparkSession, config: LogiflowConfig, first: date | None, last: date | None
) -> list[CompactedDay]:
    """The logs topic's days in [first, last] (None: open) whose compaction finished."""
    use_archive_store(spark, config.archive)
    markers = layout.compacted_markers_glob(config.kafka.logs_topic)
    path, fs = hadoop_path(spark, f"{config.archive.url}/{markers}")
    found = fs.globStatus(path) or []
    days = []
    for status in found:
        day = read_marker(spark, str(status.getPath().toString()))
        if day is None:
            continue
        on = date.fromisoformat(day.day)
        if (first is None or on >= first) and (last is None or on <= last):
            days.append(day)
    return days


def sink_rows(spark: SparkSession, config: LogiflowConfig) -> DataFrame:
    """The logs topic's rows the sink committed, each with the file it is in (``SOURCE_FILE``)."""
    use_archive_store(spark, config.archive)
    reader = spark.read.schema(layout.SCHEMA_DDL).option("ignoreMissingFiles", "true")
    rows = reader.parquet(config.archive.url).withColumn(SOURCE_FILE, F.input_file_name())
    return rows.where(F.col(layout.TOPIC) == F.lit(config.kafka.logs_topic))


def _partition_figures(rows: DataFrame) -> dict[str, list[int]]:
    """Per Kafka partition: [records, distinct offsets, first offset, last offset]."""
    figures = rows.groupBy(layout.PARTITION).agg(
        F.count(F.lit(1)).alias("n"),
        F.countDistinct(layout.OFFSET).alias("distinct"),
        F.min(layout.OFFSET).alias("first"),
        F.max(layout.OFFSET).alias("last"),
    )
    return {
        str(r[layout.PARTITION]): [r["n"], r["distinct"], r["first"], r["last"]]
        for r in figures.collect()
    }


def compact_day(
    spark: SparkSession, config: LogiflowConfig, day: date,
    rows_per_file: int = DEFAULT_ROWS_PER_FILE,
) -> CompactedDay:  # fmt: skip
    """Compact the logs topic's ``day``; an already compacted day is left as it is."""
    use_archive_store(spark, config.archive)
    marker = marker_url(config, day)
    done = read_marker(spark, marker)
    if done is not None:
        done.already = True
        return done
    rows = sink_rows(spark, config).where(F.col(layout.DATE) == F.lit(day))
    # The files are fixed first: one the sink commits meanwhile stays out, and out of the marker.
    sources = sorted(r[SOURCE_FILE] for r in rows.select(SOURCE_FILE).distinct().collect())
    topic = config.kafka.logs_topic
    if not sources:
        return CompactedDay(topic, day.isoformat(), 0, [], [])
    day_rows = rows.where(F.col(SOURCE_FILE).isin(sources)).drop(SOURCE_FILE)
    before = _partition_figures(day_rows)
    records = sum(figures[0] for figures in before.values())
    directory = f"{config.archive.url}/{layout.compacted_day_directory(topic, day)}"
    run_dir = f"{directory}/run-{uuid.uuid4().hex[:12]}"
    order = (layout.HOUR, layout.PARTITION, layout.OFFSET)
    (
        day_rows.repartitionByRange(max(1, math.ceil(records / rows_per_file)), *order)
        .sortWithinPartitions(*order)
        .write.option("compression", config.archive.compression)
        .parquet(run_dir)
    )
    copy = spark.read.schema(layout.SCHEMA_DDL).parquet(run_dir)
    files = sorted(r[0] for r in copy.select(F.input_file_name()).distinct().collect())
    after = _partition_figures(spark.read.schema(layout.SCHEMA_DDL).parquet(*files))
    if after != before or any(n != distinct for n, distinct, _, _ in before.values()):
        raise CompactionError(
            f"the compacted copy of {day} in {run_dir} does not match the archive's records "
            f"(per partition [records, distinct offsets, first, last]: archive {before}, "
            f"copy {after}); no marker written, backfill keeps reading the archive's own files"
        )
    result = CompactedDay(
        topic, day.isoformat(), records, files, sources,
        {p: [n, first, last] for p, (n, _, first, last) in sorted(before.items())},
        datetime.now(UTC).isoformat(timespec="seconds"),
    )  # fmt: skip
    _write_marker(spark, marker, result)
    return result
