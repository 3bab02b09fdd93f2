"""short_batch_errors: what a foreachBatch function raises reaches Spark as one short error.

The StackOverflowError this prevents: Spark matches the message of a Python foreachBatch
failure with a regex that recurses per character (StreamExecution.PROXY_ERROR) when the query
is being stopped; a Py4J error's message (a Java trace with the executor's Python traceback in
it) killed the stream execution thread that way.
"""

from __future__ import annotations

import threading
import time

from pyspark.sql import DataFrame, SparkSession

from logiflow.io.bulk_retries import SinkRefusedError
from logiflow.query_errors import EtlFailedError, short_batch_errors, short_error

PY4J_CALL = "py4j.protocol.Py4JJavaError: An error occurred while calling o1.collectToPython."
# What a failed Spark job looks like from Python: Py4J's line, then pages of Java trace.
LONG_PY4J_MESSAGE = PY4J_CALL + "\n" + "\tat some.Frame(Frame.java:1)\n" * 20_000


def test_our_error_keeps_its_kind_and_message_and_drops_the_trace() -> None:
    trace = (
        f"{PY4J_CALL}\n: org.apache.spark.SparkException: Job aborted\n"
        + "\tat x.y(Z.java:1)\n" * 5000
        + "logiflow.io.bulk_retries.SinkRefusedError: Elasticsearch refused the sink's bulk "
        "request (401: security_exception: no)\n"
    )
    error = short_error(RuntimeError(trace), 7)
    assert isinstance(error, SinkRefusedError)
    assert str(error).startswith("Elasticsearch refused the sink's bulk request (401")
    assert len(str(error)) < 2000


def test_other_errors_name_the_batch_and_keep_what_spark_needs_to_see_a_stop() -> None:
    trace = f"{PY4J_CALL}\n: java.lang.InterruptedException\n" + "\tat x.y(Z.java:1)\n" * 5000
    error = short_error(RuntimeError(trace), 3)
    assert isinstance(error, EtlFailedError)
    lines = str(error).splitlines()
    assert lines[0] == f"batch 3 failed: RuntimeError: {PY4J_CALL}"
    # In order, as Spark's pattern reads them: the call, then the interruption.
    assert any("java.lang.InterruptedException" in line for line in lines[1:])
    assert len(str(error)) < 2000


def test_a_long_failure_while_the_query_stops_is_reported_not_a_stack_overflow(
    spark: SparkSession,
) -> None:
    started = threading.Event()

    def fail(_batch: DataFrame, _batch_id: int) -> None:
        started.set()
        time.sleep(3)  # the query is stopped meanwhile
        raise RuntimeError(LONG_PY4J_MESSAGE)

    query = (
        spark.readStream.format("rate")
        .option("rowsPerSecond", 1)
        .load()
        .writeStream.foreachBatch(short_batch_errors(fail))
        .start()
    )
    try:
        assert started.wait(120)
        query.stop()
    finally:
        if query.isActive:
            query.stop()
    # Unguarded, the stream thread dies of StackOverflowError and the query reports nothing.
    failure = query.exception()
    assert failure is not None
    assert "EtlFailedError: batch 0 failed: RuntimeError" in str(failure)
