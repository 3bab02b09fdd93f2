"""The ETL's progress: when its last micro-batch committed and how far it is behind Kafka.

Both come from what the ETL itself records, its accounting documents in ``<prefix>-batches`` (one
per committed micro-batch, with the Kafka offsets it read, ``contract.offset_ranges``), and the
lag from the logs topic's end offsets. Whatever cannot be reached from where the command runs
(Elasticsearch and Kafka are cluster-internal on Kubernetes) becomes one ``unknown`` row saying
so, never a failure of the command.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from elasticsearch import ApiError, Elasticsearch
from elasticsearch import TransportError as EsTransportError

from logiflow.audit.sources import partition_logs
from logiflow.config import LogiflowConfig
from logiflow.contract import index_names as names
from logiflow.contract.offset_ranges import OffsetRange
from logiflow.errors import LogiflowError
from logiflow.io.es_client import create_es_client, describe_hosts
from logiflow.status.checks import DEGRADED, OK, UNKNOWN, Check

# The lag is judged from the newest accounting documents only: enough to have seen every
# partition of a busy topic many times over, cheap to fetch.
RECENT_BATCHES = 500
ES_TIMEOUT_SECONDS = 5.0


def recent_batches(client: Elasticsearch, prefix: str) -> list[dict[str, Any]]:
    """The newest accounting documents of the events query, newest first."""
    response = client.search(
        index=names.batches_index(prefix),
        query={"term": {names.BATCH_QUERY: names.EVENTS_QUERY}},
        sort=[{names.BATCH_TIMESTAMP: "desc"}],
        size=RECENT_BATCHES,
        ignore_unavailable=True,
        allow_no_indices=True,
    )
    return [hit["_source"] for hit in response["hits"]["hits"]]


def _field(document: dict[str, Any], dotted: str) -> Any:
    """A field of a stored document, whether it was written dotted or nested."""
    if dotted in document:
        return document[dotted]
    node: Any = document
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def next_offsets(batches: list[dict[str, Any]]) -> dict[tuple[str, int], int]:
    """Per topic-partition, the offset after the last one the ETL committed."""
    progress: dict[tuple[str, int], int] = {}
    for batch in batches:
        for document in _field(batch, names.BATCH_OFFSET_RANGES) or []:
            offsets = OffsetRange.from_document(document)
            key = (offsets.topic, offsets.partition)
            progress[key] = max(progress.get(key, 0), offsets.last_offset + 1)
    return progress


def last_batch_check(batches: list[dict[str, Any]], now: datetime, max_age: float) -> Check:
    if not batches:
        return Check("ETL", "last batch", "none yet", DEGRADED, "no accounting document")
    stamp = str(_field(batches[0], names.BATCH_TIMESTAMP))
    age = (now - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds()
    level = OK if age <= max_age else DEGRADED
    return Check("ETL", "last batch", stamp, level, f"{age:.0f}s ago")


def lag_check(config: LogiflowConfig, batches: list[dict[str, Any]]) -> Check:
    """Records between each partition's end and the ETL's last committed offset, summed."""
    try:
        logs = partition_logs(config.kafka)
    except LogiflowError as exc:
        return Check("ETL", "consumer lag", "unknown", UNKNOWN, f"Kafka: {exc}")
    done = next_offsets(batches)
    lag = sum(
        max(log.log_end - done.get((log.topic, log.partition), log.log_start), 0) for log in logs
    )
    detail = f"{lag} records behind the end of {config.kafka.logs_topic} ({len(logs)} partitions)"
    return Check("ETL", "consumer lag", str(lag), OK, detail)


def progress_checks(config: LogiflowConfig, max_batch_age: float) -> list[Check]:
    """The last batch and the consumer lag, or one row saying what could not be reached."""
    settings = config.elasticsearch
    client = create_es_client(settings, request_timeout=ES_TIMEOUT_SECONDS, max_retries=0)
    try:
        batches = recent_batches(client, settings.index_prefix)
    except (ApiError, EsTransportError, LogiflowError) as exc:
        where = describe_hosts(settings)
        reason = str(exc).splitlines()[0][:200]
        return [
            Check(
                "ETL",
                "progress",
                "unknown",
                UNKNOWN,
                f"Elasticsearch not reachable at {where}: {reason}",
            )
        ]
    finally:
        client.close()
    return [last_batch_check(batches, datetime.now(UTC), max_batch_age), lag_check(config, batches)]
