"""Errors of the streaming query: short on the way into Spark, our own on the way out.

Into Spark: ``short_batch_errors`` wraps the foreachBatch function so that what it raises is
one short error. Spark reads the message of an exception from a Python foreachBatch function
(the whole Python traceback, which for a failed Spark job embeds the Java trace and the
executor's traceback: hundreds of KB) with its own regex ``StreamExecution.PROXY_ERROR``,
``...calling((.|\\r\\n|\\r|\\n)*)(...)``, to tell a stop from a failure. Java's regex recurses per
character there: on such a message, when the query is being stopped, the stream execution thread
dies of ``StackOverflowError`` instead of stopping or reporting our error. The short error keeps
our error's class and message and the few lines Spark's stop detection looks for.

Out of Spark: ``query_failure`` finds our error behind a failed query and raises it as one line.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING

from logiflow.errors import DeliveryError, LogiflowError
from logiflow.io.bulk_retries import SinkRefusedError, SinkStoppedError
from logiflow.io.sink_elasticsearch import SinkUnavailableError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql.streaming import StreamingQuery


class EtlFailedError(LogiflowError):
    """A streaming query stopped with an error."""


# Our errors that keep their class (and exit code) through Spark; others become EtlFailedError.
_KEPT: dict[str, type[LogiflowError]] = {
    "SinkUnavailableError": SinkUnavailableError,
    "SinkRefusedError": SinkRefusedError,
    "SinkStoppedError": SinkStoppedError,
    "DeliveryError": DeliveryError,
}
_OUR_ERROR_RE = re.compile(
    r"(SinkUnavailableError|SinkRefusedError|SinkStoppedError|DeliveryError|"
    r"ServiceUnreachableError|ConfigError|EtlFailedError): (?P<message>[^\n]+)"
)
# What Spark's stop detection (StreamExecution.isInterruptionException) looks for in the
# message: Py4J's call line, an interruption, a cancelled job group.
_STOP_EVIDENCE = (
    "py4j.protocol.Py4JJavaError: An error occurred while calling",
    "InterruptedException",
    "InterruptedIOException",
    "ClosedByInterruptException",
    "cancelled",
)
_MAX_LINE = 300
_MAX_EVIDENCE_LINES = 8


def our_error(text: str) -> LogiflowError | None:
    """The first of our errors named in ``text`` (a trace), as an exception of its kind."""
    match = _OUR_ERROR_RE.search(text)
    if match is None:
        return None
    kind = _KEPT.get(match.group(1), EtlFailedError)
    return kind(match.group("message").strip()[:1000])


def short_error(exc: BaseException, batch_id: int) -> LogiflowError:
    """``exc`` as one short error: ours if it names one, and Spark's stop evidence, in order."""
    trace = "".join(traceback.format_exception(exc))
    evidence: list[str] = []
    for line in trace.splitlines():
        line = line.strip()[:_MAX_LINE]
        if any(mark in line for mark in _STOP_EVIDENCE) and line not in evidence:
            evidence.append(line)
    found = our_error(trace)
    if found is None:
        first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
        found = EtlFailedError(
            f"batch {batch_id} failed: {type(exc).__name__}: {first[:_MAX_LINE]}"
        )
    if evidence:
        found.args = ("\n".join([str(found), *evidence[:_MAX_EVIDENCE_LINES]]),)
    return found


def short_batch_errors(
    write: Callable[[DataFrame, int], None],
) -> Callable[[DataFrame, int], None]:
    """``write`` (a foreachBatch function) raising only short errors (see the module doc)."""

    @wraps(write)
    def guarded(batch: DataFrame, batch_id: int) -> None:
        try:
            write(batch, batch_id)
        except Exception as exc:
            raise short_error(exc, batch_id) from None

    return guarded


def query_failure(query: StreamingQuery) -> LogiflowError | None:
    """Our error behind a failed query, as one line (Spark wraps it in pages of trace)."""
    exc = query.exception()
    if exc is None:
        return None
    text = str(exc)
    found = our_error(text)
    if found is not None:
        return found
    first = next((line.strip() for line in text.splitlines() if line.strip()), "unknown error")
    return EtlFailedError(f"streaming query {query.name} failed: {first[:300]}")
