"""Running a test's streaming query to the end of its input, then stopping it whatever happened."""

from __future__ import annotations

from pyspark.sql.streaming import DataStreamWriter


def run_until_caught_up(writer: DataStreamWriter, checkpoint: str, timeout: float = 120) -> None:
    """Start ``writer`` with an ``availableNow`` trigger and wait (at most ``timeout`` s) until it
    has processed all its input; the query is stopped in any case."""
    query = writer.option("checkpointLocation", checkpoint).trigger(availableNow=True).start()
    try:
        query.awaitTermination(timeout)
    finally:
        query.stop()
