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
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from logiflow.config import ParseSettings, interval_seconds
from logiflow.contract import ecs
from logiflow.etl.columns import col


def bound_event_time(settings: ParseSettings) -> Callable[[DataFrame], DataFrame]:
    """Parsed rows -> the same rows, out-of-bounds indexed events moved to their arrival time.

    Adds ``logiflow.event_time.out_of_bounds`` (true, else null) and
    ``logiflow.event_time.original`` (the claimed time, else null); other rows are unchanged.
    """
    ahead = _micros(interval_seconds(settings.event_time_max_ahead))
    behind = _micros(interval_seconds(settings.event_time_max_behind))

    def transform(df: DataFrame) -> DataFrame:
        # The batch's clock stays a DECIMAL until it meets a column. Spark folds constant
        # expressions into literals and writes LONG and TIMESTAMP literals into the generated
        # Java source, so a clock folded to one of those made the whole parse stage's source
        # new every batch: every batch compiled it again (Janino, then HotSpot's JIT on the new
        # classes; docs/performance.md has what that cost). A DECIMAL literal is passed to the
        # generated code by reference, so the source and the compiled classes stay the same.
        now_plus_ahead = _batch_clock_micros() + ahead.cast(_MICROS)
        kafka_time = F.unix_micros(col(ecs.KAFKA_TIMESTAMP)).cast(_MICROS)
        arrival = F.least(F.coalesce(kafka_time, _batch_clock_micros()), now_plus_ahead).cast(
            "long"
        )
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


# Microseconds since the epoch, up to year 5138; 17 digits keep the sum of two in the compact,
# long-backed form of Spark's decimals (precision 18 at most).
_MICROS = "decimal(17,0)"


def _batch_clock_micros() -> Column:
    return F.unix_micros(F.current_timestamp()).cast(_MICROS)


def _micros(seconds: float) -> Column:
    return F.lit(int(seconds * 1_000_000))
