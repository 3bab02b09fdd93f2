"""What each micro-batch of the events query did, and its accounting document in
``<prefix>-batches`` (written from the driver; ``logiflow audit`` and ``report`` read it).

``BatchAccount`` holds one batch's counts (input = indexed + filtered + dead letters), its Kafka
offset ranges and what the metrics add (dead letters by reason, Elasticsearch retries);
``EtlResult`` a run's running totals. No Spark here: the job (``logiflow.job``) fills them.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from logiflow.config import LogiflowConfig
from logiflow.contract import index_names as names
from logiflow.contract.offset_ranges import OffsetRange
from logiflow.io.bulk_retries import OutageReport, bulk_with_retries
from logiflow.io.es_client import create_es_client, describe_hosts
from logiflow.io.sink_elasticsearch import SinkUnavailableError


@dataclass
class BatchAccount:
    """What one events micro-batch did; ``input == indexed + filtered + dead_letter``."""

    batch_id: int
    input: int
    indexed: int
    filtered: int
    dead_letter: int
    # Indexed events moved to their arrival time (counted in ``indexed`` too).
    event_time_out_of_bounds: int = 0
    offset_ranges: tuple[OffsetRange, ...] = ()
    # The streaming query's id: batch ids restart at 0 with a new checkpoint, this does not.
    checkpoint: str | None = None
    # For the metrics (metrics.etl_monitor): dead letters by reason class, Elasticsearch's
    # retries by cause and permanent rejections, and the batch's wall time.
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)
    es_retries: dict[str, int] = field(default_factory=dict)
    es_rejected: int = 0
    seconds: float = 0.0
    # Of ``event_time_out_of_bounds``, the events whose own time was too far behind their
    # arrival (late rather than ahead); for the metrics only.
    event_time_late: int = 0


@dataclass
class EtlResult:
    """Running totals of a run (a continuous run keeps only the last batches in memory)."""

    recent_batches: deque[BatchAccount] = field(default_factory=lambda: deque(maxlen=100))
    batch_count: int = 0
    totals: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("input", "indexed", "filtered", "dead_letter"), 0)
    )
    aggregate_docs: int = 0
    stopped_by_signal: bool = False

    def add(self, account: BatchAccount) -> None:
        self.recent_batches.append(account)
        self.batch_count += 1
        self.totals["input"] += account.input
        self.totals["indexed"] += account.indexed
        self.totals["filtered"] += account.filtered
        self.totals["dead_letter"] += account.dead_letter


def add_counts(*counts: dict[str, int]) -> dict[str, int]:
    total: dict[str, int] = {}
    for each in counts:
        for key, value in each.items():
            total[key] = total.get(key, 0) + value
    return {key: value for key, value in total.items() if value}


def write_account(
    config: LogiflowConfig, query: str, account: BatchAccount, stop: threading.Event | None = None
) -> None:
    """The accounting document, by id "<query>-<checkpoint>-<batch id>": a re-run batch
    overwrites it, a run from a new checkpoint adds its own.

    Written from the driver, with the sink's unbounded retries: an outage that starts between a
    batch's writes and its accounting is waited out too (``stop`` ends the wait)."""
    es = config.elasticsearch
    client = create_es_client(es)
    report = OutageReport(describe_hosts(es))
    document = {
        names.BATCH_TIMESTAMP: datetime.now(UTC).isoformat(timespec="milliseconds"),
        names.BATCH_QUERY: query,
        names.BATCH_ID: account.batch_id,
        names.COUNT_INPUT: account.input,
        names.COUNT_INDEXED: account.indexed,
        names.COUNT_FILTERED: account.filtered,
        names.COUNT_DEAD_LETTER: account.dead_letter,
        names.COUNT_EVENT_TIME_OUT_OF_BOUNDS: account.event_time_out_of_bounds,
        names.BATCH_CHECKPOINT: account.checkpoint,
        names.BATCH_OFFSET_RANGES: [r.as_document() for r in account.offset_ranges],
    }
    try:
        failures = bulk_with_retries(
            client,
            [
                {
                    "_op_type": "index",
                    "_id": names.batch_doc_id(query, account.batch_id, account.checkpoint),
                    "_index": names.batches_index(es.index_prefix),
                    "_source": document,
                }
            ],
            es,
            report=report,
            stop=stop,
        )
    finally:
        client.close()
        account.es_retries = add_counts(account.es_retries, report.retries_by_cause)
    if failures:
        raise SinkUnavailableError(f"Elasticsearch refused the accounting document: {failures[0]}")
