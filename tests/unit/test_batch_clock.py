"""The batch clock read from the checkpoint is the clock Spark gave the micro-batch."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from logiflow.batch_clock import BatchClockError, checkpoint_batch_clock
from streaming_runs import run_until_caught_up


def test_each_batch_reads_the_clock_spark_gave_it(spark: SparkSession, tmp_path: Path) -> None:
    """``current_timestamp()`` in a streaming plan is the batch's clock: the same as read back."""
    source, checkpoint = tmp_path / "numbers", str(tmp_path / "checkpoint")
    for n in range(3):  # one file per micro-batch
        spark.createDataFrame([(n,)], "n int").coalesce(1).write.mode("append").parquet(str(source))
    clock = checkpoint_batch_clock(spark, checkpoint)
    seen: dict[int, tuple[datetime, datetime]] = {}

    def write_batch(batch: DataFrame, batch_id: int) -> None:
        [row] = batch.select(F.unix_millis(F.max("spark_clock")).alias("millis")).collect()
        spark_clock = datetime.fromtimestamp(row["millis"] / 1000, tz=UTC)
        seen[batch_id] = (clock(batch_id), spark_clock)

    stream = spark.readStream.schema("n int").option("maxFilesPerTrigger", 1).parquet(str(source))
    writer = stream.withColumn("spark_clock", F.current_timestamp()).writeStream
    run_until_caught_up(writer.foreachBatch(write_batch), checkpoint)
    assert sorted(seen) == [0, 1, 2]
    for read, given in seen.values():
        assert read == given
    clocks = [seen[batch_id][0] for batch_id in sorted(seen)]
    assert clocks == sorted(clocks) and len(set(clocks)) == 3
    # Read again after the query ended, as a restart replaying a batch would: the same clock.
    assert clock(1) == seen[1][0]


def test_a_batch_without_an_offset_log_names_the_file(spark: SparkSession, tmp_path: Path) -> None:
    clock = checkpoint_batch_clock(spark, str(tmp_path))
    with pytest.raises(BatchClockError, match=rf"{tmp_path}/offsets/7: no batch clock"):
        clock(7)


def test_an_unknown_offset_log_format_is_refused(spark: SparkSession, tmp_path: Path) -> None:
    (tmp_path / "offsets").mkdir()
    (tmp_path / "offsets" / "0").write_text('v9\n{"batchTimestampMs": 1}\n')
    with pytest.raises(BatchClockError, match="unknown offset log version 'v9'"):
        checkpoint_batch_clock(spark, str(tmp_path))(0)
