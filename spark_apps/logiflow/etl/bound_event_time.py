"""Bounds each event's own time against its arrival, so a hostile date cannot flood or skew.

A line may claim any time: a clock set to 2999, an epoch of 0, a forged JSON field. Indexed as
claimed, each such date opens a daily index of its own (until the cluster's shard limit stops
every write) and lands years away from the traffic it belongs to. So an indexed event whose
``@timestamp`` lies more than ``parse.event_time_max_ahead`` after its arrival, or more than
``parse.event_time_max_behind`` before it, is **indexed at its arrival time**, flagged
``logiflow.event_time.out_of_bounds: true``, with the time it claimed kept in
``logiflow.event_time.original``. It is counted in the batch's accounting
(``logiflow.count.event_time_out_of_bounds``).

Why indexed rather than dead-lettered: the line parsed, and its request, status and bytes are
real traffic that the dashboards and aggregates must count; only its date is untrustworthy. A
dead letter would take it out of every figure, and replaying it would not help (the date would
still be out of bounds). Flagged, it is one filter away in Kibana and nothing is lost.

The arrival time is the record's Kafka timestamp (when the shipper read the line), not the
clock of the batch: a batch replayed after a crash then bounds every event exactly as before,
so each document lands in the same daily index and is overwritten by id, never duplicated in a
second index; and a backlog read late keeps its dates. The Kafka timestamp is set by the
producer, so it is not trusted blindly either: one ahead of the processing time by more than
``event_time_max_ahead`` counts as now (the only case that depends on when a batch runs).
Kafka 4 brokers already refuse record times more than an hour ahead
(``message.timestamp.after.max.ms``); records claiming an old time are bounded by the topic's
``message.timestamp.before.max.ms``, or ``message.timestamp.type=LogAppendTime``, where
producers outside LogiFlow write to the logs topic.

The clock is the batch's, passed in: the events query's ``foreachBatch`` reads it from the
checkpoint's offset log (``batch_clock``), where Spark records it before the batch runs, so a
replayed batch bounds with the very same clock. It is not ``current_timestamp()`` in the
streaming plan: Spark writes a streaming batch's clock into the generated Java source as a
literal, so the whole parse stage was new source every batch, compiled again by Janino and then by
HotSpot's JIT (docs/performance.md has what that cost). Passed from Python as a DECIMAL literal,
the clock is handed to the generated code by reference and the compiled classes are reused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from logiflow.config import ParseSettings, interval_seconds
from logiflow.contract import ecs
from logiflow.etl.columns import col


def bound_event_time(settings: ParseSettings, clock: datetime) -> Callable[[DataFrame], DataFrame]:
    """Parsed rows -> the same rows, out-of-bounds indexed events moved to their arrival time.

    ``clock``: the batch's processing time (a naive datetime is UTC). Adds
    ``logiflow.event_time.out_of_bounds`` (true, else null) and ``logiflow.event_time.original``
    (the claimed time, else null); other rows are unchanged.
    """
    ahead_micros = _micros(interval_seconds(settings.event_time_max_ahead))
    behind_micros = _micros(interval_seconds(settings.event_time_max_behind))
    now_micros = _epoch_micros(clock)
    ahead, behind = F.lit(ahead_micros), F.lit(behind_micros)

    def transform(df: DataFrame) -> DataFrame:
        kafka_time = F.unix_micros(col(ecs.KAFKA_TIMESTAMP)).cast(_MICROS)
        arrival = F.least(
            F.coalesce(kafka_time, _by_reference(now_micros)),
            _by_reference(now_micros + ahead_micros),
        ).cast("long")
        claimed = F.unix_micros(col(ecs.TIMESTAMP))
        out_of_bounds = (
            (col(ecs.OUTCOME) == F.lit(ecs.OUTCOME_INDEXED))
            & claimed.isNotNull()
            & ((claimed > arrival + ahead) | (claimed < arrival - behind))
        )
        return df.withColumns(
            {
                ecs.EVENT_TIME_OUT_OF_BOUNDS: F.when(out_of_bounds, F.lit(True)),
                ecs.EVENT_TIME_ORIGINAL: F.when(out_of_bounds, col(ecs.TIMESTAMP)),
                ecs.TIMESTAMP: F.when(out_of_bounds, F.timestamp_micros(arrival)).otherwise(
                    col(ecs.TIMESTAMP)
                ),
            }
        )

    return transform


# Microseconds since the epoch, up to year 5138: 17 digits keep Spark's decimal in its compact,
# long-backed form (precision 18 at most).
_MICROS = "decimal(17,0)"


def _by_reference(micros: int) -> Column:
    """A clock value as a DECIMAL literal: unlike LONG and TIMESTAMP literals, Spark passes it to
    the generated code by reference, so a new clock is not new Java source (module doc)."""
    return F.lit(Decimal(micros)).cast(_MICROS)


def _epoch_micros(clock: datetime) -> int:
    aware = clock if clock.tzinfo else clock.replace(tzinfo=UTC)
    return (aware - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _micros(seconds: float) -> int:
    return int(seconds * 1_000_000)
