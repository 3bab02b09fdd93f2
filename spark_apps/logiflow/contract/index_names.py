"""The one place that names LogiFlow's Elasticsearch indices and accounting-document fields.

Writers (the sink, es-setup) and readers (``logiflow report``, the live view, tests) import these
so a rename cannot leave one side behind.

- ``<prefix>-events-YYYY.MM.DD``      one document per indexed event, by its ``@timestamp`` (UTC)
- ``<prefix>-deadletter-YYYY.MM.DD``  rejected lines, by their Kafka timestamp (UTC)
- ``<prefix>-aggregates-YYYY.MM``     windowed aggregates, by window start (UTC)
- ``<prefix>-batches``                one accounting document per micro-batch and query
- ``<prefix>-anomalies-YYYY.MM``      anomaly detections, by the anomalous window's start

Daily/monthly indices rather than data streams: they work on every distribution (the minimal
local node has no data streams and no ILM) and accept plain ``index`` operations, which is what
makes a replayed batch overwrite its documents by ``_id`` instead of duplicating them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

Kind = Literal["events", "deadletter", "aggregates", "batches", "anomalies"]

EVENTS: Kind = "events"
DEAD_LETTER: Kind = "deadletter"
AGGREGATES: Kind = "aggregates"
BATCHES: Kind = "batches"
ANOMALIES: Kind = "anomalies"
KINDS: tuple[Kind, ...] = (EVENTS, DEAD_LETTER, AGGREGATES, BATCHES, ANOMALIES)

# Java date patterns (Spark's date_format) for the time suffix of each kind.
DAILY_SUFFIX_PATTERN = "yyyy.MM.dd"
MONTHLY_SUFFIX_PATTERN = "yyyy.MM"

# --- fields of the per-micro-batch accounting documents in <prefix>-batches -------------------
BATCH_TIMESTAMP = "@timestamp"
BATCH_QUERY = "logiflow.batch.query"
BATCH_ID = "logiflow.batch.id"
COUNT_INPUT = "logiflow.count.input"
COUNT_INDEXED = "logiflow.count.indexed"
COUNT_FILTERED = "logiflow.count.filtered"
COUNT_DEAD_LETTER = "logiflow.count.dead_letter"
# Indexed events whose own time was out of bounds (``parse.event_time_max_ahead``/``_behind``):
# indexed at their arrival time instead, flagged; also counted in ``indexed``.
COUNT_EVENT_TIME_OUT_OF_BOUNDS = "logiflow.count.event_time_out_of_bounds"
# The streaming query's id, kept in its checkpoint: the same across restarts of one checkpoint,
# new when the checkpoint is replaced (a replay from the start). Part of the document id.
BATCH_CHECKPOINT = "logiflow.batch.checkpoint"
# The Kafka records the batch read, per topic-partition (``contract.offset_ranges``), which
# ``logiflow audit`` reconciles with the broker and the documents.
BATCH_OFFSET_RANGES = "logiflow.batch.offset_ranges"

# Names of the streaming queries (also their checkpoint sub-directories and the values of
# logiflow.batch.query).
EVENTS_QUERY = "events"
# ``logiflow backfill --from-archive``: its batches are accounted under this name (the
# checkpoint field holds the backfill's run id), apart from the streaming query's, whose offsets
# ``logiflow audit`` reconciles with the broker.
BACKFILL_QUERY = "backfill"


def index_stem(prefix: str, kind: Kind) -> str:
    """``<prefix>-<kind>``: the whole name for batches, the part before the date otherwise."""
    return f"{prefix}-{kind}"


def index_pattern(prefix: str, kind: Kind) -> str:
    """The pattern that matches every index of one kind (for searches and index templates)."""
    if kind == BATCHES:
        return index_stem(prefix, kind)
    return f"{index_stem(prefix, kind)}-*"


def daily_index(prefix: str, kind: Kind, when: datetime) -> str:
    """``<prefix>-<kind>-YYYY.MM.DD`` for an aware or UTC-naive datetime."""
    return f"{index_stem(prefix, kind)}-{when:%Y.%m.%d}"


def monthly_index(prefix: str, kind: Kind, when: datetime) -> str:
    return f"{index_stem(prefix, kind)}-{when:%Y.%m}"


def batches_index(prefix: str) -> str:
    return index_stem(prefix, BATCHES)


def batch_doc_id(query: str, batch_id: int, checkpoint: str | None = None) -> str:
    """Re-running a batch after a crash overwrites its accounting document; a new checkpoint
    (a replay from scratch) writes new ones, so the audit sees both runs."""
    return f"{query}-{checkpoint}-{batch_id}" if checkpoint else f"{query}-{batch_id}"
