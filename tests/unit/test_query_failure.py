"""query_failure: our error, found in the pages of trace Spark wraps around a failed query."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from logiflow.errors import DeliveryError
from logiflow.io.bulk_retries import SinkRefusedError
from logiflow.io.sink_elasticsearch import SinkUnavailableError
from logiflow.job import EtlFailedError, query_failure


@dataclass
class FailedQuery:
    """What query_failure reads of a StreamingQuery: its name and its exception text."""

    name: str
    text: str | None

    def exception(self) -> str | None:
        return self.text


def _trace(line: str) -> str:
    return (
        "[STREAM_FAILED] Query [id = 1, runId = 2] terminated with exception: An exception was "
        "raised by the Python Proxy.\n"
        "Traceback (most recent call last):\n"
        '  File "job.py", line 140, in write_batch\n'
        f"{line}\n"
        "\tat org.apache.spark.sql.execution.streaming.MicroBatchExecution.runBatch\n"
    )


@pytest.mark.parametrize(
    ("line", "kind", "message"),
    [
        ("logiflow.errors.DeliveryError: Kafka at k:9092 did not take the dead letters",
         DeliveryError, "Kafka at k:9092 did not take the dead letters"),
        ("logiflow.io.sink_elasticsearch.SinkUnavailableError: Elasticsearch is unreachable",
         SinkUnavailableError, "Elasticsearch is unreachable"),
        ("logiflow.errors.ConfigError: bad rule", EtlFailedError, "bad rule"),
        ("logiflow.io.bulk_retries.SinkRefusedError: Elasticsearch refused (401)",
         SinkRefusedError, "Elasticsearch refused (401)"),
    ],
)  # fmt: skip
def test_our_error_is_found_with_its_kind(line: str, kind: type, message: str) -> None:
    error = query_failure(FailedQuery("events", _trace(line)))  # type: ignore[arg-type]
    assert type(error) is kind and str(error) == message


def test_other_failures_name_the_query() -> None:
    query = FailedQuery("lf-events", "java.lang.OutOfMemoryError: heap\n\tat x")
    error = query_failure(query)  # type: ignore[arg-type]
    assert isinstance(error, EtlFailedError)
    assert str(error) == "streaming query lf-events failed: java.lang.OutOfMemoryError: heap"
    assert query_failure(FailedQuery("lf-events", None)) is None  # type: ignore[arg-type]
