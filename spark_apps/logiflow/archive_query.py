"""The raw-log archive query: the logs topic -> Parquet on S3, exactly once, beside the ETL.

Its own streaming query (``<prefix>-archive``, checkpoint ``spark.checkpoint_dir/archive``) reads
the logs topic with its own offsets and writes each record whole (``etl.archive_records``) with
Spark's Parquet file sink, partitioned by topic, date and hour (``contract.archive_layout``).
The sink's commit log (``_spark_metadata`` under the dataset) and the checkpoint make it exactly
once: a batch cut short by a crash is written again under the same batch id and only the
committed files are part of the dataset, so readers never see a record twice or miss one.

Small files: each trigger writes one file per hour directory it touches (the batch is coalesced
to one task), so ``archive.trigger_interval`` sets the files per hour (5 minutes: 12) and
``archive.max_records_per_trigger`` caps a file's records after a backlog.

A failing store (S3 down) fails the query, not the ETL: it is started again from its checkpoint
after a pause that doubles up to a minute, so archiving is delayed, never lossy, and the events
query goes on. Run by ``job.start_queries`` when ``archive.enabled``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQuery

from logiflow.config import ArchiveSettings, LogiflowConfig
from logiflow.contract import archive_layout as layout
from logiflow.etl.archive_records import to_archive_rows
from logiflow.io.s3a import s3a_options
from logiflow.io.source_kafka import read_kafka

ARCHIVE_QUERY = "archive"
_MAX_RESTART_PAUSE = 60.0


def use_archive_store(spark: SparkSession, archive: ArchiveSettings) -> None:
    """Give the session's Hadoop configuration the archive bucket's s3a options.

    Set at run time rather than as session conf so a session made elsewhere (``logiflow run``,
    the SparkApplication, tests) reaches the archive too; file writes ship this configuration to
    the executors with each job."""
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    for key, value in s3a_options(archive).items():
        hadoop_conf.set(key, value)


def start_archive_query(
    spark: SparkSession, config: LogiflowConfig, until_caught_up: bool, checkpoint: str
) -> StreamingQuery:
    """Start the archive query once (``SupervisedQuery`` restarts it)."""
    archive = config.archive
    use_archive_store(spark, archive)
    kafka = config.kafka.model_copy(
        update={"max_offsets_per_trigger": archive.max_records_per_trigger}
    )
    rows = read_kafka(spark, kafka).transform(to_archive_rows()).coalesce(1)
    writer = (
        rows.writeStream.queryName(f"{config.elasticsearch.index_prefix}-{ARCHIVE_QUERY}")
        .format("parquet")
        .option("path", archive.url)
        .option("checkpointLocation", checkpoint)
        .option("compression", archive.compression)
        .partitionBy(*layout.PARTITION_COLUMNS)
    )
    if until_caught_up:
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime=archive.trigger_interval)
    return writer.start()


class SupervisedQuery:
    """A streaming query started again, from its checkpoint, whenever it fails.

    Quacks like the ``StreamingQuery`` that ``job.await_queries`` polls: active while it runs or
    waits to restart; it never reports an exception (failures are written to stderr instead).
    """

    def __init__(
        self, name: str, start: Callable[[], StreamingQuery], max_restarts: int | None = None
    ) -> None:
        """``max_restarts``: after that many, the next failure is the query's (None: never)."""
        self.name = name
        self._start = start
        self._query = start()
        self._pause = 1.0
        self._restart_at: float | None = None
        self._stopped = False
        self._max_restarts = max_restarts
        self._failure: Exception | None = None
        self.restarts = 0

    @property
    def isActive(self) -> bool:
        if self._stopped:
            return False
        if self._restart_at is not None:
            if time.monotonic() >= self._restart_at:
                self._restart()
            return True
        if self._query.isActive:
            return True
        error = self._query.exception()
        if error is None:
            return False  # finished (availableNow) or stopped
        if self._max_restarts is not None and self.restarts >= self._max_restarts:
            self._failure = error
            return False
        first_line = (str(error).strip().splitlines() or ["unknown error"])[0][:300]
        sys.stderr.write(
            f"logiflow: the {self.name} query failed ({first_line}); starting it again from its "
            f"checkpoint in {self._pause:.0f}s\n"
        )
        self._restart_at = time.monotonic() + self._pause
        self._pause = min(self._pause * 2, _MAX_RESTART_PAUSE)
        return True

    def _restart(self) -> None:
        self._restart_at = None
        self.restarts += 1
        try:
            self._query = self._start()
        except Exception as exc:
            sys.stderr.write(f"logiflow: cannot start the {self.name} query yet: {exc}\n")
            self._restart_at = time.monotonic() + self._pause
            self._pause = min(self._pause * 2, _MAX_RESTART_PAUSE)

    def exception(self) -> Exception | None:
        """The failure it gave up on (only with ``max_restarts``)."""
        return self._failure

    @property
    def lastProgress(self) -> dict | None:
        return self._query.lastProgress

    def stop(self) -> None:
        self._stopped = True
        if self._query.isActive:
            self._query.stop()
