"""Elasticsearch sink: bulk-indexes a micro-batch from the executors with the client's helpers.

Each partition opens its own client and streams its documents with
``elasticsearch.helpers.streaming_bulk``; nothing is collected to the driver except one small
row of counts per partition. Guarantees, in order of importance:

- Idempotent: every document has a deterministic ``_id`` (Kafka coordinates for events and dead
  letters, window + keys for aggregates) and is written with op ``index`` into a plain index, so
  a batch replayed after a crash overwrites what it wrote before.
- A whole outage fails the batch: connection errors, timeouts and 429/5xx answers (for the whole
  request, or per document inside a 200 bulk response) are retried with capped exponential
  back-off; when the retries run out the partition raises, the micro-batch fails and the
  checkpoint does not advance past data that was not written.
- Permanent per-document failures (mapping conflicts, 400s) are not retried and not lost: the
  document becomes a dead letter carrying Elasticsearch's error as its reason, and is counted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch, helpers
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from logiflow.config import ElasticsearchSettings
from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.errors import LogiflowError
from logiflow.etl.columns import col
from logiflow.io.es_client import create_es_client, describe_hosts

# Per-document and whole-request statuses that mean "try again later", never "bad document".
RETRY_STATUSES = (429, 502, 503, 504)
# What the sink reads of a bulk response: each item's id, index, status and error. The rest
# (_version, result, _shards, _seq_no, ...) is most of the bytes, decoded in Python for nothing
# (the bench-job profile showed the response decoding among the sink's top costs).
BULK_RESPONSE_FIELDS = "errors,items.*._id,items.*._index,items.*.status,items.*.error"

ERROR_TYPE = "error.type"
ERROR_TYPE_REJECTED = "elasticsearch_rejected"

_ID, _INDEX, _SOURCE = "_id", "_index", "_source"
# Millisecond precision is what Elasticsearch's date type keeps anyway.
_JSON_OPTIONS = {"timestampFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "ignoreNullFields": "true"}


_WRITER_SCHEMA = pa.schema(
    [("written", pa.int64()), ("rejected", pa.int64()), ("rejected_id", pa.string()),
     ("reason", pa.string())]
)  # fmt: skip
_WRITER_SCHEMA_DDL = "written long, rejected long, rejected_id string, reason string"


class SinkUnavailableError(LogiflowError):
    """Elasticsearch could not take a batch within the retry budget; the batch is failed."""

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

    Raises ``SinkUnavailableError`` (through Spark) when Elasticsearch stays unavailable.
    """
    writer = partition_writer(settings)
    # One count row per partition, plus one row per rejected document (rare: the pipeline's
    # own documents fit the installed mappings; a conflicting index is what rejects them).
    rows = to_bulk_frame(df, index).mapInArrow(writer, _WRITER_SCHEMA_DDL).collect()
    return WriteCounts(
        written=sum(row["written"] for row in rows),
        rejected=sum(row["rejected"] for row in rows),
        rejections=tuple(
            Rejection(row["rejected_id"], row["reason"])
            for row in rows
            if row["rejected_id"] is not None
        ),
    )


# --- executor side -----------------------------------------------------------------------------


def partition_writer(
    settings: ElasticsearchSettings,
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The function ``mapInArrow`` runs per partition: bulk-write, then yield one count row."""

    def write(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        client = create_es_client(settings)
        written = rejected = 0
        rejections: list[Rejection] = []

        def flush(chunk: list[dict[str, Any]]) -> None:
            nonlocal written, rejected
            counts = write_chunk(client, chunk, settings)
            written, rejected = written + counts.written, rejected + counts.rejected
            rejections.extend(counts.rejections)

        try:
            chunk: list[dict[str, Any]] = []
            for batch in batches:
                ids = batch.column(_ID).to_pylist()
                indices = batch.column(_INDEX).to_pylist()
                sources = batch.column(_SOURCE).to_pylist()
                for doc_id, index, source in zip(ids, indices, sources, strict=True):
                    chunk.append({"_op_type": "index", _ID: doc_id, _INDEX: index, _SOURCE: source})
                    if len(chunk) >= settings.bulk_chunk_size:
                        flush(chunk)
                        chunk = []
            if chunk:
                flush(chunk)
        finally:
            client.close()
        yield pa.RecordBatch.from_pydict(
            {
                "written": [written] + [0] * len(rejections),
                "rejected": [rejected] + [0] * len(rejections),
                "rejected_id": [None] + [r.doc_id for r in rejections],
                "reason": [None] + [r.reason for r in rejections],
            },
            schema=_WRITER_SCHEMA,
        )

    return write


def write_chunk(
    client: Elasticsearch, actions: list[dict[str, Any]], settings: ElasticsearchSettings
) -> WriteCounts:
    """Write one chunk; permanent per-document failures are re-written as dead letters."""
    failures = bulk_with_retries(client, actions, settings)
    if not failures:
        return WriteCounts(written=len(actions))
    by_id = {action[_ID]: action for action in actions}
    dead_letters = [
        rejected_dead_letter(by_id[item[_ID]], item, settings.index_prefix) for item in failures
    ]
    still_failing = bulk_with_retries(client, dead_letters, settings)
    if still_failing:
        first = still_failing[0]
        raise SinkUnavailableError(
            f"Elasticsearch rejected {len(still_failing)} dead-letter document(s) in "
            f"{first.get('_index')}: {_error_text(first)}; check the dead-letter index template "
            "(logiflow es-setup)"
        )
    rejections = tuple(
        Rejection(item[_ID], rejection_reason(by_id[item[_ID]], item)) for item in failures
    )
    return WriteCounts(
        written=len(actions) - len(failures), rejected=len(failures), rejections=rejections
    )


def bulk_with_retries(
    client: Elasticsearch, actions: list[dict[str, Any]], settings: ElasticsearchSettings
) -> list[dict[str, Any]]:
    """Bulk-write ``actions``; return the permanent per-document failures (bulk item dicts).

    ``streaming_bulk`` retries per-document and whole-request 429/5xx itself with capped
    exponential back-off; connection errors and timeouts are retried here the same way, re-
    sending only the documents with no answer yet (re-sending an answered one is harmless, as
    writes are by id, but wasteful).
    """
    pending = {action[_ID]: action for action in actions}
    failures: list[dict[str, Any]] = []
    last_error: Exception | None = None
    for attempt in range(settings.max_retries + 1):
        if attempt:
            time.sleep(backoff_seconds(attempt, settings))
        try:
            for ok, item in helpers.streaming_bulk(
                client,
                list(pending.values()),
                chunk_size=settings.bulk_chunk_size,
                max_chunk_bytes=settings.bulk_max_bytes,
                raise_on_error=False,
                raise_on_exception=True,
                max_retries=settings.max_retries,
                initial_backoff=settings.initial_backoff_seconds,
                max_backoff=settings.max_backoff_seconds,
                retry_on_status=RETRY_STATUSES,
                filter_path=BULK_RESPONSE_FIELDS,
            ):
                result = next(iter(item.values()))
                doc_id = result.get(_ID)
                if ok:
                    pending.pop(doc_id, None)
                elif result.get("status") in RETRY_STATUSES:
                    # Still overloaded after streaming_bulk's own retries: an outage.
                    raise SinkUnavailableError(
                        f"Elasticsearch at {describe_hosts(settings)} kept answering "
                        f"{result.get('status')} for document {doc_id} after "
                        f"{settings.max_retries} retries: {_error_text(result)}"
                    )
                else:
                    pending.pop(doc_id, None)
                    failures.append(result)
            return failures
        except (TransportConnectionError, ConnectionTimeout) as exc:
            last_error = exc
        except ApiError as exc:
            if exc.status_code in RETRY_STATUSES:
                raise SinkUnavailableError(
                    f"Elasticsearch at {describe_hosts(settings)} kept answering "
                    f"{exc.status_code} after {settings.max_retries} retries: {exc.message}"
                ) from exc
            raise SinkUnavailableError(
                f"Elasticsearch at {describe_hosts(settings)} refused a bulk request "
                f"({exc.status_code}): {exc.message}"
            ) from exc
    raise SinkUnavailableError(
        f"Elasticsearch is unreachable at {describe_hosts(settings)} after "
        f"{settings.max_retries} retries: {getattr(last_error, 'message', last_error)}"
    ) from last_error


def backoff_seconds(attempt: int, settings: ElasticsearchSettings) -> float:
    """Capped exponential back-off before retry number ``attempt`` (1-based)."""
    return min(settings.max_backoff_seconds, settings.initial_backoff_seconds * 2 ** (attempt - 1))


def rejection_reason(action: dict[str, Any], item: dict[str, Any]) -> str:
    """Why Elasticsearch refused the document of ``action`` (its bulk item ``item``)."""
    return (
        f"rejected by Elasticsearch ({item.get('status')}) for index "
        f"{action[_INDEX]}: {_error_text(item)}"
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
    document: dict[str, Any] = {
        ecs.TIMESTAMP: kafka_time,
        ecs.EVENT_KIND: ecs.EVENT_KIND_PIPELINE_ERROR,
        ERROR_TYPE: ERROR_TYPE_REJECTED,
        ecs.ERROR_MESSAGE: rejection_reason(action, item),
        # Events keep their line; an aggregate or other document keeps its own JSON.
        ecs.EVENT_ORIGINAL: source.get(ecs.EVENT_ORIGINAL, action[_SOURCE]),
    }
    for name in (
        ecs.EVENT_ORIGINAL_BASE64,
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


def _error_text(item: dict[str, Any]) -> str:
    error = item.get("error")
    if isinstance(error, dict):
        text = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict) and cause.get("reason"):
            text += f" ({cause.get('reason')})"
        return text
    return str(error)
