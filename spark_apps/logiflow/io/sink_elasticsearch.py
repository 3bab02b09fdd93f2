"""Elasticsearch sink: bulk-indexes a micro-batch from the executors with the client's helpers.

Each partition opens its own client and streams its documents with
``elasticsearch.helpers.streaming_bulk``, ``elasticsearch.bulk_concurrency`` requests in flight;
nothing is collected to the driver except one small row of counts per partition. Guarantees, in
order of importance:

- Idempotent: every document has a deterministic ``_id`` (for events and dead letters the
  line's source identity, else its Kafka coordinates; window + keys + first record for aggregate
  partials; hour + service + client for visitor documents) and is written with op ``index`` into
  a plain index, so a batch replayed after a crash, or a line a shipper resent, overwrites what
  was written before.
- An outage is waited out, however long: connection errors, timeouts, 429/5xx answers and
  cluster blocks (for the whole request, or per document inside a 200 bulk response) are retried
  without bound with capped exponential back-off, saying so (``logiflow.io.bulk_retries``). The
  micro-batch simply takes longer; its offsets are committed only once it is written.
- Permanent per-document failures (mapping conflicts, 400s) are not retried and not lost: the
  document becomes a dead letter carrying Elasticsearch's error as its reason, and is counted.
  A document too large for any request (413 alone) keeps only the start of its line in its
  dead letter, which would be refused too otherwise; the dead-letter topic gets the whole line.
- What retrying cannot fix for any document (rejected credentials, missing privileges) fails
  the batch with ``SinkRefusedError``, and the job stops saying why.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pyarrow as pa
from elasticsearch import Elasticsearch
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from logiflow.config import ElasticsearchSettings
from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.errors import LogiflowError
from logiflow.etl.columns import col
from logiflow.io.bulk_retries import TOO_LARGE, OutageReport, bulk_with_retries, error_text
from logiflow.io.es_client import create_es_client, describe_hosts

ERROR_TYPE = "error.type"
ERROR_TYPE_REJECTED = "elasticsearch_rejected"

_ID, _INDEX, _SOURCE = "_id", "_index", "_source"
T = TypeVar("T")
# What the dead letter of a document too large for any request keeps of its line: well under
# any request limit met in practice (Elasticsearch's default is 100 MB, proxies' often 1 MB).
TOO_LARGE_KEPT_CHARS = 8 * 1024
# Millisecond precision is what Elasticsearch's date type keeps anyway.
_JSON_OPTIONS = {"timestampFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "ignoreNullFields": "true"}


_WRITER_SCHEMA = pa.schema(
    [("written", pa.int64()), ("rejected", pa.int64()), ("rejected_id", pa.string()),
     ("reason", pa.string()), ("retry_cause", pa.string()), ("retries", pa.int64())]
)  # fmt: skip
_WRITER_SCHEMA_DDL = (
    "written long, rejected long, rejected_id string, reason string, retry_cause string, "
    "retries long"
)


class SinkUnavailableError(LogiflowError):
    """Elasticsearch refused the dead letters of documents it rejected; the batch is failed."""

    exit_code = 3


@dataclass(frozen=True)
class Rejection:
    """A document Elasticsearch refused for good: its ``_id`` and the dead letter's reason."""

    doc_id: str
    reason: str


@dataclass(frozen=True)
class WriteCounts:
    """Documents written as asked, and documents Elasticsearch rejected (now dead letters)."""

    written: int = 0
    rejected: int = 0
    # Which ones, so the job can also send their lines to the dead-letter topic.
    rejections: tuple[Rejection, ...] = ()
    # Retries after transient failures, by cause class (io.bulk_retries.retry_cause).
    retries: dict[str, int] = field(default_factory=dict)


# --- index names as Spark columns -------------------------------------------------------------


def daily_index_column(prefix: str, kind: names.Kind, when: Column) -> Column:
    return F.concat(
        F.lit(names.index_stem(prefix, kind) + "-"),
        F.date_format(when, names.DAILY_SUFFIX_PATTERN),
    )


def monthly_index_column(prefix: str, kind: names.Kind, when: Column) -> Column:
    return F.concat(
        F.lit(names.index_stem(prefix, kind) + "-"),
        F.date_format(when, names.MONTHLY_SUFFIX_PATTERN),
    )


def event_index(prefix: str) -> Column:
    # An event without a time of its own is filed under its Kafka time rather than lost.
    when = F.coalesce(col(ecs.TIMESTAMP), col(ecs.KAFKA_TIMESTAMP))
    return daily_index_column(prefix, names.EVENTS, when)


def dead_letter_index(prefix: str) -> Column:
    return daily_index_column(prefix, names.DEAD_LETTER, col(ecs.TIMESTAMP))


def aggregate_index(prefix: str) -> Column:
    return monthly_index_column(prefix, names.AGGREGATES, col(ecs.TIMESTAMP))


# --- DataFrame side (driver) -------------------------------------------------------------------


def to_bulk_frame(df: DataFrame, index: Column) -> DataFrame:
    """``_id``, ``_index`` and the JSON ``_source`` built in the JVM (no per-field Python work).

    Internal ``_logiflow*`` columns are not indexed; dotted column names stay dotted keys, which
    Elasticsearch expands into ECS objects.
    """
    document_columns = [name for name in df.columns if not name.startswith("_logiflow")]
    source = F.to_json(
        F.struct(*(col(name).alias(name) for name in document_columns)), _JSON_OPTIONS
    )
    return df.select(col(ecs.DOC_ID).alias(_ID), index.alias(_INDEX), source.alias(_SOURCE))


def write_documents(df: DataFrame, index: Column, settings: ElasticsearchSettings) -> WriteCounts:
    """Index every row of ``df`` (which must have ``_logiflow_id``); runs on the executors.

    Waits out Elasticsearch outages; raises (through Spark) ``SinkRefusedError`` when it refuses
    the writer for good, ``SinkUnavailableError`` when it refuses dead letters too.
    """
    writer = partition_writer(settings)
    # One count row per partition, plus one row per rejected document (rare: the pipeline's
    # own documents fit the installed mappings; a conflicting index is what rejects them) and
    # one per cause of retries (rarer still: an outage).
    rows = to_bulk_frame(df, index).mapInArrow(writer, _WRITER_SCHEMA_DDL).collect()
    retries: dict[str, int] = {}
    for row in rows:
        if row["retry_cause"] is not None:
            retries[row["retry_cause"]] = retries.get(row["retry_cause"], 0) + row["retries"]
    return WriteCounts(
        written=sum(row["written"] for row in rows),
        rejected=sum(row["rejected"] for row in rows),
        rejections=tuple(
            Rejection(row["rejected_id"], row["reason"])
            for row in rows
            if row["rejected_id"] is not None
        ),
        retries=retries,
    )


# --- executor side -----------------------------------------------------------------------------


def partition_writer(
    settings: ElasticsearchSettings,
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The function ``mapInArrow`` runs per partition: bulk-write, then yield one count row.

    Up to ``settings.bulk_concurrency`` chunks are in flight at once (``write_concurrently``)."""

    def write(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        client = create_es_client(settings)
        # One report per partition: its lines are rate-limited across all its chunks.
        report = OutageReport(describe_hosts(settings))
        stop = threading.Event()

        def write_one(chunk: list[dict[str, Any]]) -> WriteCounts:
            return write_chunk(client, chunk, settings, report, stop)

        try:
            chunks = action_chunks(batches, settings.bulk_chunk_size)
            counts = write_concurrently(chunks, write_one, settings.bulk_concurrency, stop)
        finally:
            client.close()
        rejections = [r for c in counts for r in c.rejections]
        written, rejected = sum(c.written for c in counts), sum(c.rejected for c in counts)
        yield _count_rows(written, rejected, rejections, report.retries_by_cause)

    return write


def action_chunks(batches: Iterator[pa.RecordBatch], size: int) -> Iterator[list[dict[str, Any]]]:
    """The partition's ``_id``/``_index``/``_source`` rows as bulk actions, ``size`` at a time."""
    chunk: list[dict[str, Any]] = []
    for batch in batches:
        ids = batch.column(_ID).to_pylist()
        indices = batch.column(_INDEX).to_pylist()
        sources = batch.column(_SOURCE).to_pylist()
        for doc_id, index, source in zip(ids, indices, sources, strict=True):
            chunk.append({"_op_type": "index", _ID: doc_id, _INDEX: index, _SOURCE: source})
            if len(chunk) >= size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def write_concurrently(
    chunks: Iterator[T],
    write: Callable[[T], WriteCounts],
    concurrency: int,
    stop: threading.Event,
) -> list[WriteCounts]:
    """``write`` each chunk, up to ``concurrency`` at once, while the next chunk is built.

    More than one in flight lets a task build and send while Elasticsearch indexes; where the
    two share cores it did not raise throughput (docs/performance.md), hence a default of 1. When a
    write fails, ``stop`` is set (ending the others' waits for Elasticsearch: the batch fails
    as a whole and is replayed) and the first failure is raised.
    """
    counts: list[WriteCounts] = []
    with ThreadPoolExecutor(concurrency, thread_name_prefix="logiflow-bulk") as pool:
        in_flight: deque[Future[WriteCounts]] = deque()
        try:
            for chunk in chunks:
                if len(in_flight) >= concurrency:
                    counts.append(in_flight.popleft().result())
                in_flight.append(pool.submit(write, chunk))
            while in_flight:
                counts.append(in_flight.popleft().result())
        except BaseException:
            stop.set()
            raise
    return counts


def _count_rows(
    written: int, rejected: int, rejections: list[Rejection], retries: dict[str, int]
) -> pa.RecordBatch:
    """A partition's answer: its counts, then one row per rejection and per retry cause."""
    extra = len(rejections) + len(retries)
    return pa.RecordBatch.from_pydict(
        {
            "written": [written] + [0] * extra,
            "rejected": [rejected] + [0] * extra,
            "rejected_id": [None] + [r.doc_id for r in rejections] + [None] * len(retries),
            "reason": [None] + [r.reason for r in rejections] + [None] * len(retries),
            "retry_cause": [None] * (1 + len(rejections)) + list(retries),
            "retries": [0] * (1 + len(rejections)) + list(retries.values()),
        },
        schema=_WRITER_SCHEMA,
    )


def write_chunk(
    client: Elasticsearch,
    actions: list[dict[str, Any]],
    settings: ElasticsearchSettings,
    report: OutageReport | None = None,
    stop: threading.Event | None = None,
) -> WriteCounts:
    """Write one chunk; permanent per-document failures are re-written as dead letters.
    ``stop``: set by another chunk's failure; ends a wait for Elasticsearch."""
    report = report if report is not None else OutageReport(describe_hosts(settings))
    failures = bulk_with_retries(client, actions, settings, report=report, stop=stop)
    if not failures:
        return WriteCounts(written=len(actions))
    by_id = {action[_ID]: action for action in actions}
    dead_letters = [
        rejected_dead_letter(by_id[item[_ID]], item, settings.index_prefix) for item in failures
    ]
    still_failing = bulk_with_retries(client, dead_letters, settings, report=report, stop=stop)
    if still_failing:
        first = still_failing[0]
        raise SinkUnavailableError(
            f"Elasticsearch rejected {len(still_failing)} dead-letter document(s) in "
            f"{first.get('_index')}: {error_text(first)}; check the dead-letter index template "
            "(logiflow es-setup)"
        )
    rejections = tuple(
        Rejection(item[_ID], rejection_reason(by_id[item[_ID]], item)) for item in failures
    )
    return WriteCounts(
        written=len(actions) - len(failures), rejected=len(failures), rejections=rejections
    )


def rejection_reason(action: dict[str, Any], item: dict[str, Any]) -> str:
    """Why Elasticsearch refused the document of ``action`` (its bulk item ``item``)."""
    return (
        f"rejected by Elasticsearch ({item.get('status')}) for index "
        f"{action[_INDEX]}: {error_text(item)}"
    )


def rejected_dead_letter(
    action: dict[str, Any], item: dict[str, Any], prefix: str
) -> dict[str, Any]:
    """The dead letter for a document Elasticsearch refused: the line, the reason, where from."""
    try:
        source = json.loads(action[_SOURCE])
    except (TypeError, ValueError):
        source = {}
    kafka_time = source.get(ecs.KAFKA_TIMESTAMP) or source.get(ecs.TIMESTAMP)
    # Events keep their line; an aggregate or other document keeps its own JSON.
    original = source.get(ecs.EVENT_ORIGINAL, action[_SOURCE])
    reason = rejection_reason(action, item)
    too_large = isinstance(item.get("error"), dict) and item["error"].get("type") == TOO_LARGE
    if too_large:
        reason += f"; event.original keeps its first {TOO_LARGE_KEPT_CHARS} of {len(original)}"
        original = original[:TOO_LARGE_KEPT_CHARS]
    document: dict[str, Any] = {
        ecs.TIMESTAMP: kafka_time,
        ecs.EVENT_KIND: ecs.EVENT_KIND_PIPELINE_ERROR,
        ERROR_TYPE: ERROR_TYPE_REJECTED,
        ecs.ERROR_MESSAGE: reason,
        ecs.EVENT_ORIGINAL: original,
    }
    kept = () if too_large else (ecs.EVENT_ORIGINAL_BASE64,)
    for name in (
        *kept,
        ecs.KAFKA_TOPIC,
        ecs.KAFKA_PARTITION,
        ecs.KAFKA_OFFSET,
        ecs.KAFKA_KEY,
        ecs.KAFKA_TIMESTAMP,
    ):
        if source.get(name) is not None:
            document[name] = source[name]
    day = (kafka_time or "")[:10].replace("-", ".") or time.strftime("%Y.%m.%d", time.gmtime())
    return {
        "_op_type": "index",
        _ID: action[_ID],
        _INDEX: f"{names.index_stem(prefix, names.DEAD_LETTER)}-{day}",
        _SOURCE: json.dumps(document),
    }
