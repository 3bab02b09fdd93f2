"""The ETL's restart counter follows real restarts: a Spark streaming query that fails twice,
run under the job's ``SupervisedQuery``, is counted twice under its own ``query`` label."""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client import REGISTRY
from pyspark.sql import DataFrame, SparkSession

from logiflow.archive_query import ARCHIVE_QUERY, SupervisedQuery
from logiflow.config import LogiflowConfig
from logiflow.contract import index_names as names
from logiflow.contract import metrics as m
from logiflow.metrics.etl_monitor import EtlMonitor

FAILURES = 2


def _restarts(query: str) -> float | None:
    return REGISTRY.get_sample_value(m.ETL_QUERY_RESTARTS.sample_name, {m.QUERY: query})


def test_each_restart_of_a_supervised_query_is_counted(spark: SparkSession, tmp_path: Path) -> None:
    config = LogiflowConfig.model_validate({"archive": {"enabled": True}})
    monitor = EtlMonitor(config)
    before = _restarts(ARCHIVE_QUERY)
    assert before is not None, "the archive query's series exists from the start"
    assert _restarts(names.EVENTS_QUERY) is not None
    started: list[int] = []

    def failing_batch(batch: DataFrame, batch_id: int) -> None:
        if len(started) <= FAILURES:
            raise RuntimeError(f"failure of run {len(started)}")

    def start():  # type: ignore[no-untyped-def]
        started.append(1)
        return (
            spark.readStream.format("rate").option("rowsPerSecond", 5).load()
            .writeStream.foreachBatch(failing_batch)
            .option("checkpointLocation", str(tmp_path / f"cp-{len(started)}"))
            .trigger(processingTime="200 milliseconds")
            .start()
        )  # fmt: skip

    query = SupervisedQuery(ARCHIVE_QUERY, start)
    query._pause = 0.1
    try:
        deadline = time.monotonic() + 120
        while query.restarts < FAILURES or len(started) <= FAILURES:
            assert query.isActive
            monitor.poll([query])  # type: ignore[list-item]
            assert time.monotonic() < deadline, f"{query.restarts} restarts in time"
            time.sleep(0.1)
        monitor.poll([query])  # type: ignore[list-item]
        monitor.poll([query])  # counted once, however often polled
    finally:
        query.stop()
        monitor.close()
    assert _restarts(ARCHIVE_QUERY) == before + FAILURES
