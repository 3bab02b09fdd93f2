"""Bulk-writes actions to Elasticsearch and waits out every transient fault, without bound.

Transient, retried after a capped exponential back-off (with jitter) for as long as it lasts:
no connection, a timeout, 429/502/503/504 for the whole request or for one document, and
cluster blocks (``cluster_block_exception``: the flood-stage read-only-allow-delete block, which
8.x answers with 429, older versions and cluster-wide blocks with 403). While it waits the
writer says so, at most every ``REPORT_INTERVAL_SECONDS``, naming the address and the cause, and
says when Elasticsearch is back. On the executors these lines go to stderr (the executor log;
``logiflow etl`` echoes lines starting with ``REPORT_PREFIX`` to its terminal).

Not transient:
- a request too large (413) is split: the chunk is halved until it passes, saying so; a single
  document still too large is a permanent per-document failure;
- a document Elasticsearch refuses (mapping conflict, 400) is a permanent failure, returned to
  the caller (the sink turns it into a dead letter);
- rejected credentials (401), missing privileges (403 without a block) or another 4xx for the
  whole request raise ``SinkRefusedError``: retrying cannot fix them, so the job stops with that
  message instead of looping.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch, helpers

from logiflow.config import ElasticsearchSettings
from logiflow.errors import LogiflowError
from logiflow.io.es_client import describe_hosts

# Per-document and whole-request statuses that mean "try again later", never "bad document".
RETRY_STATUSES = (429, 502, 503, 504)
CLUSTER_BLOCK = "cluster_block_exception"
# The error type of a document no request can carry (the sink keeps its dead letter small).
TOO_LARGE = "request_too_large"
# What the sink reads of a bulk response: each item's id, index, status and error. The rest
# (_version, result, _shards, _seq_no, ...) is most of the bytes, decoded in Python for nothing
# (the bench-job profile showed the response decoding among the sink's top costs).
BULK_RESPONSE_FIELDS = "errors,items.*._id,items.*._index,items.*.status,items.*.error"
REPORT_INTERVAL_SECONDS = 10.0
# Marks the lines the local `logiflow etl` copies from Spark's console to its own terminal.
REPORT_PREFIX = "logiflow sink: "

_ID = "_id"
T = TypeVar("T")


class SinkRefusedError(LogiflowError):
    """Elasticsearch refuses the writer for a reason retrying cannot fix (credentials,
    privileges, a malformed request); the job stops with this message."""

    exit_code = 2


class SinkStoppedError(LogiflowError):
    """The job was asked to stop while waiting for Elasticsearch; the batch stays uncommitted."""


def _stderr_line(text: str) -> None:
    print(REPORT_PREFIX + text, file=sys.stderr, flush=True)


@dataclass
class OutageReport:
    """Says, rate-limited, that writes are waiting for Elasticsearch, and when it is back.

    Shared by the threads of one Spark task that write its chunks concurrently."""

    where: str
    log: Callable[[str], None] = _stderr_line
    interval: float = REPORT_INTERVAL_SECONDS
    retries: int = 0
    last_cause: str | None = None
    # Every retry, by the class of its cause (retry_cause), for the metrics; never reset.
    retries_by_cause: dict[str, int] = field(default_factory=dict)
    _started: float | None = None
    _last_report: float | None = None
    _last_split: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def waiting(self, cause: str, delay: float, what: str) -> None:
        """Retry number ``retries + 1`` comes in ``delay`` seconds; ``what`` waits for it."""
        with self._lock:
            self._waiting(cause, delay, what)

    def _waiting(self, cause: str, delay: float, what: str) -> None:
        now = time.monotonic()
        self._started = now if self._started is None else self._started
        self.retries += 1
        self.last_cause = cause
        kind = retry_cause(cause)
        self.retries_by_cause[kind] = self.retries_by_cause.get(kind, 0) + 1
        if self._last_report is None or now - self._last_report >= self.interval:
            self._last_report = now
            self.log(
                f"Elasticsearch at {self.where} {cause}; retry {self.retries} in {delay:.1f}s, "
                f"{what} waiting ({now - self._started:.0f}s so far)"
            )

    def too_large(self, documents: int, smaller: int) -> None:
        """A request of ``documents`` was refused as too large (413); ``smaller`` go next."""
        now = time.monotonic()
        with self._lock:
            if self._last_split is not None and now - self._last_split < self.interval:
                return
            self._last_split = now
            self.log(
                f"Elasticsearch at {self.where} refused a request of {documents} document(s) "
                f"as too large (413, its http.max_content_length or a proxy's limit); "
                f"sending {smaller} per request"
            )

    def recovered(self) -> None:
        with self._lock:
            if self._started is None:  # another thread of the task said so already
                return
            self.log(
                f"Elasticsearch at {self.where} is back: written after {self.retries} "
                f"retries, {time.monotonic() - self._started:.0f}s"
            )
            self._started = self._last_report = None
            self.retries = 0


@dataclass
class _Pass:
    """One pass of ``streaming_bulk`` over the pending actions: how each was answered."""

    answered: int = 0
    written: list[str] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    transient_cause: str | None = None
    error: Exception | None = None


def bulk_with_retries(
    client: Elasticsearch,
    actions: list[dict[str, Any]],
    settings: ElasticsearchSettings,
    *,
    report: OutageReport | None = None,
    stop: threading.Event | None = None,
) -> list[dict[str, Any]]:
    """Bulk-write ``actions``; return the permanent per-document failures (bulk item dicts).

    Only the documents with no answer yet are re-sent (re-sending an answered one would be
    harmless, writes are by id, but wasteful). ``stop``: when set during a wait, raise
    ``SinkStoppedError`` instead of waiting on (the driver's writes, so SIGTERM still stops).
    """
    report = report if report is not None else OutageReport(describe_hosts(settings))
    # The transport would re-send a 429/503 at once, uncounted and unreported: the waiting is ours.
    client = client.options(retry_on_status=())
    pending = {action[_ID]: action for action in actions}
    failures: list[dict[str, Any]] = []
    chunk_size = settings.bulk_chunk_size
    waits = 0
    while pending:
        sent = list(pending.values())
        result = _send(client, sent, settings, chunk_size)
        for doc_id in result.written:
            pending.pop(doc_id, None)
        for item in result.rejected:
            pending.pop(item.get(_ID), None)
            failures.append(item)
        if result.error is not None and _too_large(result.error):
            smaller = _split(sent, result, chunk_size, pending, failures)
            report.too_large(min(chunk_size, len(sent) - result.answered), smaller)
            chunk_size = smaller
            continue
        cause = result.transient_cause
        if result.error is not None:
            cause = request_failure_cause(result.error, settings)
        if pending and cause is None:  # never spin on answers that do not name what was sent
            cause = f"left {len(pending)} document(s) without an answer"
        if pending:
            waits += 1
            what = f"{len(pending)} document(s) of an uncommitted batch"
            _wait(str(cause), backoff_seconds(waits, settings), what, report, stop, settings)
    if waits:
        report.recovered()
    return failures


def _split(
    sent: list[dict[str, Any]],
    result: _Pass,
    chunk_size: int,
    pending: dict[str, dict[str, Any]],
    failures: list[dict[str, Any]],
) -> int:
    """After a 413: the smaller chunk size to go on with. A request of one document that is
    still too large cannot pass at all: that document becomes a permanent failure."""
    failing = sent[result.answered]  # the first document of the refused request
    if chunk_size == 1:
        pending.pop(failing[_ID], None)
        failures.append(_too_large_item(failing))
    return max(1, min(chunk_size, len(sent) - result.answered) // 2)


def _wait(
    cause: str,
    delay: float,
    what: str,
    report: OutageReport,
    stop: threading.Event | None,
    settings: ElasticsearchSettings,
) -> None:
    report.waiting(cause, delay, what)
    if stop is None:
        time.sleep(delay)
    elif stop.wait(delay):
        raise SinkStoppedError(
            f"stopped while Elasticsearch at {describe_hosts(settings)} {cause}; "
            f"{what} is written at the next start"
        )


def _send(
    client: Elasticsearch, sent: list[dict[str, Any]], settings: ElasticsearchSettings, size: int
) -> _Pass:
    result = _Pass()
    try:
        for ok, item in helpers.streaming_bulk(
            client,
            sent,
            chunk_size=size,
            max_chunk_bytes=settings.bulk_max_bytes,
            raise_on_error=False,
            raise_on_exception=True,
            max_retries=0,  # retried here, without bound, with our own reporting
            filter_path=BULK_RESPONSE_FIELDS,
        ):
            answer = next(iter(item.values()))
            result.answered += 1
            if ok:
                result.written.append(answer.get(_ID))
            elif is_transient_item(answer):
                result.transient_cause = f"answered {answer.get('status')} ({error_text(answer)})"
            elif answer.get("status") in (401, 403):
                raise SinkRefusedError(_refusal(answer.get("status"), error_text(answer)))
            else:
                result.rejected.append(answer)
    except (TransportConnectionError, ConnectionTimeout, ApiError) as exc:
        result.error = exc
    return result


def is_transient_item(item: dict[str, Any]) -> bool:
    """A per-document answer that means "later": overload or a (flood-stage) block."""
    error = item.get("error")
    blocked = isinstance(error, dict) and error.get("type") == CLUSTER_BLOCK
    return item.get("status") in RETRY_STATUSES or blocked


def request_failure_cause(exc: Exception, settings: ElasticsearchSettings) -> str:
    """Why a whole request failed, if waiting can fix it; else raise ``SinkRefusedError``."""
    cause = transient_cause(exc, settings)
    if cause is not None:
        return cause
    assert isinstance(exc, ApiError)
    raise SinkRefusedError(
        _refusal(exc.status_code, _api_detail(exc)) + f" at {describe_hosts(settings)}"
    )


def transient_cause(exc: BaseException | None, settings: ElasticsearchSettings) -> str | None:
    """Why a request failed, when waiting can fix it (no connection, a timeout, 429/5xx, a
    cluster block); None when it cannot."""
    if isinstance(exc, ConnectionTimeout):
        return f"did not answer within {settings.request_timeout_seconds:g}s (timeout)"
    if isinstance(exc, TransportConnectionError):
        return f"is unreachable ({_connection_detail(exc)})"
    if not isinstance(exc, ApiError):
        return None
    status, detail = exc.status_code, _api_detail(exc)
    if CLUSTER_BLOCK in detail:
        return f"is blocked for writes ({status}: {detail})"
    if status in RETRY_STATUSES or status >= 500:
        return f"answered {status} ({detail})"
    return None


def retry_transient(
    action: Callable[[], T],
    what: str,
    settings: ElasticsearchSettings,
    *,
    report: OutageReport | None = None,
    stop: threading.Event | None = None,
) -> T:
    """``action()`` (calls to Elasticsearch; ``what`` names it in reports), run again for as
    long as it fails transiently,
    with the sink's back-off and reports; other failures propagate. An error that wraps an
    Elasticsearch error (``raise ... from``) is judged by the error it wraps."""
    report = report if report is not None else OutageReport(describe_hosts(settings))
    waits = 0
    while True:
        try:
            result = action()
        except Exception as exc:
            cause = transient_cause(exc, settings) or transient_cause(exc.__cause__, settings)
            if cause is None:
                raise
            waits += 1
            _wait(cause, backoff_seconds(waits, settings), what, report, stop, settings)
            continue
        if waits:
            report.recovered()
        return result


def retry_cause(cause: str) -> str:
    """The class of a transient cause as this module words it (``transient_cause``, a bulk
    item's answer): one of ``contract.metrics.RETRY_CAUSES``."""
    if CLUSTER_BLOCK in cause or cause.startswith("is blocked"):
        return "blocked"
    if cause.startswith("is unreachable"):
        return "unreachable"
    if cause.startswith("did not answer"):
        return "timeout"
    if cause.startswith("answered 429"):
        return "overloaded"
    if cause.startswith("answered"):
        return "unavailable"
    return "no_answer"


def _api_detail(exc: ApiError) -> str:
    return error_text(exc.body if isinstance(exc.body, dict) else {"error": exc.message})


def _refusal(status: int | None, detail: str) -> str:
    if status == 401:
        hint = "check elasticsearch.username/password or elasticsearch.api_key"
    elif status == 403:
        hint = "the writer lacks privileges on the indices (index, create_index, auto_configure)"
    else:
        hint = "retrying cannot fix this request"
    return f"Elasticsearch refused the sink's bulk request ({status}: {detail}); {hint}"


def _too_large(exc: Exception) -> bool:
    return isinstance(exc, ApiError) and exc.status_code == 413


def _too_large_item(action: dict[str, Any]) -> dict[str, Any]:
    """A bulk item for a document too large for any request, so it becomes a dead letter."""
    size = len(str(action.get("_source", "")))
    reason = (
        f"Elasticsearch answered 413 (request entity too large) to a request holding only this "
        f"document ({size} characters of JSON): over its http.max_content_length or a proxy's"
    )
    return {
        _ID: action[_ID],
        "_index": action.get("_index"),
        "status": 413,
        "error": {"type": TOO_LARGE, "reason": reason},
    }


def _connection_detail(exc: Exception) -> str:
    text = str(getattr(exc, "message", "") or exc)
    for known in ("Connection refused", "Name or service not known", "Connection reset"):
        if known in text:
            return known.lower()
    text = " ".join(text.split())
    return text if len(text) <= 160 else text[:157] + "..."


def backoff_seconds(attempt: int, settings: ElasticsearchSettings) -> float:
    """Capped exponential back-off before retry number ``attempt`` (1-based), with jitter:
    between half and all of the step, so many writers do not return in lockstep."""
    step = min(settings.max_backoff_seconds, settings.initial_backoff_seconds * 2 ** (attempt - 1))
    return step * random.uniform(0.5, 1.0)


def error_text(item: dict[str, Any]) -> str:
    """A bulk item's (or error body's) error as one line: type, reason and the cause's reason."""
    error = item.get("error")
    if isinstance(error, dict):
        text = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict) and cause.get("reason"):
            text += f" ({cause.get('reason')})"
        return text[:500]
    return str(error)[:500]
