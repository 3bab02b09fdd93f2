"""Compaction of an archived day and backfill's reading of it, on Spark's real file sink.

The archive here is a local directory (``file://``, through the same Hadoop FileSystem calls as
s3a; the real s3proxy run is tests/integration/test_airflow_dag.py): a Parquet file sink with
its commit log, written by a streaming query in batches. Compaction must give backfill
the same records, each once, and records the sink commits after the compaction must still be
read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession

from logiflow import archive_compaction as compaction
from logiflow.backfill import BackfillRange, archived_records
from logiflow.config import ArchiveSettings, LogiflowConfig, load_config
from logiflow.contract import archive_layout as layout

NOW = datetime.now(UTC).replace(microsecond=0)


def _archive_at(root: Path) -> ArchiveSettings:
    class LocalArchive(ArchiveSettings):
        @property
        def url(self) -> str:
            return f"file://{root}"

    return LocalArchive(enabled=True)


def _rows(spark: SparkSession, offsets: range, hours_back: int = 3) -> DataFrame:
    def row(offset: int) -> tuple:
        arrival = NOW - timedelta(hours=offset % hours_back)
        return (b"web-1/shop", f"line {offset}".encode(), offset % 2, offset, arrival, 0, [],
                "web-1", "logs", arrival.date(), arrival.hour)  # fmt: skip

    return spark.createDataFrame([row(o) for o in offsets], schema=layout.SCHEMA_DDL)


@pytest.fixture
def sink(spark: SparkSession, tmp_path: Path) -> tuple[LogiflowConfig, Callable[[range], None]]:
    """A config whose archive is a file sink under tmp_path, and a way to append batches."""
    config = load_config(overrides={"kafka": {"logs_topic": "logs"}})
    config = config.model_copy(update={"archive": _archive_at(tmp_path / "lake")})
    source = tmp_path / "batches"

    def archive(offsets: range) -> None:
        _rows(spark, offsets).write.parquet(str(source / f"from-{offsets.start}"))
        query = (
            spark.readStream.schema(layout.SCHEMA_DDL).option("maxFilesPerTrigger", 1)
            .parquet(str(source / "*"))
            .writeStream.format("parquet").option("path", config.archive.url)
            .option("checkpointLocation", str(tmp_path / "checkpoint"))
            .partitionBy(*layout.PARTITION_COLUMNS).trigger(availableNow=True).start()
        )  # fmt: skip
        query.awaitTermination()

    return config, archive


def _coordinates(spark: SparkSession, config: LogiflowConfig, what: BackfillRange) -> list:
    rows = archived_records(spark, config, what).select(layout.PARTITION, layout.OFFSET)
    return sorted(tuple(r) for r in rows.collect())


def test_backfill_reads_a_compacted_day_once_and_records_archived_after_it(
    spark: SparkSession, sink: tuple[LogiflowConfig, Callable[[range], None]]
) -> None:
    config, archive = sink
    for start in range(0, 600, 300):  # two batches, each over three hours: six sink files
        archive(range(start, start + 300))
    everything = BackfillRange()
    before = _coordinates(spark, config, everything)
    assert len(before) == 600
    nothing = compaction.compact_day(spark, config, date(2001, 1, 1))
    assert (nothing.records, nothing.files, nothing.source_files) == (0, [], [])
    assert compaction.compacted_days(spark, config, None, None) == []
    # Hours of today only: a run just after midnight would put some rows on yesterday.
    today = NOW.date()
    of_today = _coordinates(spark, config, _day(today))

    done = compaction.compact_day(spark, config, today)
    assert done.records == len(of_today) and len(done.files) == 1 and not done.already
    assert len(done.source_files) > 1
    assert _coordinates(spark, config, everything) == before
    assert compaction.compact_day(spark, config, today).already
    assert [d.day for d in compaction.compacted_days(spark, config, today, today)] == [str(today)]

    archive(range(600, 610))  # committed after the compaction: not in its marker
    after = _coordinates(spark, config, everything)
    assert after == sorted([*before, *((o % 2, o) for o in range(600, 610))])


def _day(day: date) -> BackfillRange:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return BackfillRange(since=start, until=start + timedelta(days=1))


def test_the_copy_is_checked_before_the_marker(
    spark: SparkSession, sink: tuple[LogiflowConfig, Callable[[range], None]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    config, archive = sink
    archive(range(0, 50))
    real = compaction._partition_figures
    calls: list[int] = []

    def figures_off_by_one(rows: DataFrame) -> dict[str, list[int]]:
        calls.append(1)
        found = real(rows)
        return found if len(calls) == 1 else {p: [n - 1, *rest] for p, (n, *rest) in found.items()}

    monkeypatch.setattr(compaction, "_partition_figures", figures_off_by_one)
    with pytest.raises(compaction.CompactionError, match="no marker written"):
        compaction.compact_day(spark, config, NOW.date())
    assert compaction.compacted_days(spark, config, None, None) == []
