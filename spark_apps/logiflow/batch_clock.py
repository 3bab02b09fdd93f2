"""The clock of a micro-batch, as Spark recorded it in the streaming checkpoint.

Before a batch runs, Spark writes its offsets and metadata to ``<checkpoint>/offsets/<batch id>``:
a version line, then a JSON line whose ``batchTimestampMs`` is the batch's processing time (what
``current_timestamp()`` means inside that batch). A batch replayed after a crash reads the same
file, so whatever the job derives from this clock is the same on the replay. The events query's
``foreachBatch`` reads it here (Spark does not hand it to Python) to bound event times
(``etl.bound_event_time``). Backfill runs its own batches, outside any checkpoint: their clock is
the wall clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from pyspark.sql import SparkSession

from logiflow.io.hadoop_files import read_bytes

BatchClock = Callable[[int], datetime]

_OFFSET_LOG_VERSIONS = ("v1", "v2")


class BatchClockError(RuntimeError):
    """The offset log of a batch cannot be read or holds no clock."""


def checkpoint_batch_clock(spark: SparkSession, checkpoint: str) -> BatchClock:
    """Batch id -> that batch's clock, read from the offset log under ``checkpoint`` (any Hadoop
    file system the checkpoint is on: local, s3a, hdfs)."""

    def clock(batch_id: int) -> datetime:
        location = f"{checkpoint.rstrip('/')}/offsets/{batch_id}"
        try:
            version, metadata = read_bytes(spark, location).decode().splitlines()[:2]
            if version.strip() not in _OFFSET_LOG_VERSIONS:
                raise BatchClockError(f"{location}: unknown offset log version {version!r}")
            millis = json.loads(metadata)["batchTimestampMs"]
        except BatchClockError:
            raise
        except Exception as error:  # py4j, JSON and key errors alike: name the file
            raise BatchClockError(f"{location}: no batch clock ({error})") from error
        return datetime.fromtimestamp(millis / 1000, tz=UTC)

    return clock


def wall_clock(_batch_id: int) -> datetime:
    return datetime.now(UTC)
