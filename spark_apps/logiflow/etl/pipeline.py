"""The ETL as the streaming job calls it: Kafka records in, events / dead letters / aggregates out.

``process_records`` chains decode -> parse -> enrich (user agent, endpoint, status, geo) -> drop
rules; the batch writer then bounds event times with the batch's clock (``etl.bound_event_time``
says why that step is not in the streaming plan). Every input record stays on the frame with one
outcome (indexed, filtered, dead_letter), so the selectors below split it for the sinks and
``tally_batch`` reconciles each batch: input = indexed + filtered + dead-lettered, and which
Kafka offsets it read (for ``logiflow audit``). Sources, sinks, triggers and checkpoints live in
the job module, not here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pyspark.accumulators import Accumulator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from logiflow.config import LogiflowConfig
from logiflow.contract import ecs
from logiflow.contract.offset_ranges import OffsetRange
from logiflow.etl.aggregate_windows import aggregate_windows
from logiflow.etl.columns import col
from logiflow.etl.dead_letter_reasons import dead_letter_reason
from logiflow.etl.dead_letters import (
    mark_rejected,
    to_dead_letter_documents,
    to_dead_letter_records,
)
from logiflow.etl.decode_records import decode_kafka_records
from logiflow.etl.enrich_endpoint import enrich_endpoint
from logiflow.etl.enrich_geo import enrich_geo
from logiflow.etl.enrich_origin import fill_origin_from_key
from logiflow.etl.enrich_status import enrich_status
from logiflow.etl.enrich_useragent import CacheStats, enrich_user_agent
from logiflow.etl.filter_rules import apply_drop_rules
from logiflow.etl.parse import parse_lines
from logiflow.etl.visitor_hours import visitor_hours

Transform = Callable[[DataFrame], DataFrame]

OUTCOMES = (ecs.OUTCOME_INDEXED, ecs.OUTCOME_FILTERED, ecs.OUTCOME_DEAD_LETTER)


def enrich(
    config: LogiflowConfig, user_agent_stats: Accumulator[CacheStats] | None = None
) -> Transform:
    """The enrichments alone, on parsed events (the benchmark passes a cache-stats accumulator)."""
    settings = config.enrich
    steps = (
        fill_origin_from_key(),
        enrich_user_agent(settings.user_agent_cache_size, user_agent_stats),
        enrich_endpoint(settings.endpoint_rules),
        enrich_status(),
        enrich_geo(settings.geo_enabled),
    )
    return _chain(steps)


def process_records(config: LogiflowConfig) -> Transform:
    """Kafka source rows to processed rows: every input row kept, each with its outcome.

    Event times are not bounded yet: ``etl.bound_event_time`` does that per batch."""
    # Built up front so a bad rule or pattern is a ConfigError at start-up, not mid-stream.
    steps = (
        decode_kafka_records(config.parse.max_line_bytes),
        parse_lines(config.parse),
        enrich(config),
        apply_drop_rules(config.filter.drop),
    )
    return _chain(steps)


def _chain(steps: tuple[Transform, ...]) -> Transform:
    """One transform that applies ``steps`` in order."""

    def transform(df: DataFrame) -> DataFrame:
        for step in steps:
            df = df.transform(step)
        return df

    return transform


def _is_internal(name: str) -> bool:
    return name.startswith("_logiflow")


def select_events(df: DataFrame) -> DataFrame:
    """Indexed rows with the columns to index, plus ``_logiflow_id`` for the sink's ``_id``."""
    keep = [name for name in df.columns if not _is_internal(name)]
    return df.where(col(ecs.OUTCOME) == F.lit(ecs.OUTCOME_INDEXED)).select(
        col(ecs.DOC_ID), *(col(name) for name in keep)
    )


def select_dead_letters(df: DataFrame) -> DataFrame:
    """Dead-letter documents (see ``dead_letters``), ``_logiflow_id`` included."""
    return to_dead_letter_documents(df)


def select_dead_letter_records(df: DataFrame, rejected: DataFrame | None = None) -> DataFrame:
    """Dead letters as Kafka records for the dead-letter topic (see ``dead_letters``), plus
    the events Elasticsearch refused, when ``rejected`` lists them (id, reason)."""
    records = to_dead_letter_records(df)
    if rejected is not None:
        records = records.unionByName(to_dead_letter_records(mark_rejected(df, rejected)))
    return records


@dataclass(frozen=True)
class BatchTally:
    """What a processed batch holds: rows per outcome, out-of-bounds events, offsets read."""

    outcomes: dict[str, int]
    event_time_out_of_bounds: int
    offset_ranges: tuple[OffsetRange, ...]
    # Dead letters per reason class (etl.dead_letter_reasons), for the metrics.
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)
    # The out-of-bounds events that claimed a time too far *behind* their arrival (late, not
    # from the future), for the metrics' late count.
    event_time_late: int = 0


def tally_batch(df: DataFrame) -> BatchTally:
    """Counts and offset ranges of a processed (batch) frame, in one small Spark job."""
    outcomes = dict.fromkeys(OUTCOMES, 0)
    out_of_bounds = late = 0
    partitions: dict[tuple[str, int], list[int]] = {}  # first, last, records, filtered
    reasons: dict[str, int] = {}
    dead = col(ecs.OUTCOME) == F.lit(ecs.OUTCOME_DEAD_LETTER)
    rows = (
        df.groupBy(
            col(ecs.KAFKA_TOPIC).alias("topic"),
            col(ecs.KAFKA_PARTITION).alias("partition"),
            col(ecs.OUTCOME).alias("outcome"),
            F.coalesce(col(ecs.EVENT_TIME_OUT_OF_BOUNDS), F.lit(False)).alias("out_of_bounds"),
            # Moved forward to its arrival: the time it claimed lies behind it.
            F.coalesce(col(ecs.EVENT_TIME_ORIGINAL) < col(ecs.TIMESTAMP), F.lit(False)).alias(
                "late"
            ),
            F.when(dead, dead_letter_reason(col(ecs.ERROR_MESSAGE))).alias("reason"),
        )
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.min(col(ecs.KAFKA_OFFSET)).alias("first"),
            F.max(col(ecs.KAFKA_OFFSET)).alias("last"),
        )
        .collect()
    )
    for row in rows:
        if row["outcome"] not in outcomes:
            raise ValueError(f"row with unexpected outcome {row['outcome']!r}")
        outcomes[row["outcome"]] += row["rows"]
        if row["out_of_bounds"]:
            out_of_bounds += row["rows"]
            late += row["rows"] if row["late"] else 0
        if row["reason"] is not None:
            reasons[row["reason"]] = reasons.get(row["reason"], 0) + row["rows"]
        seen = partitions.setdefault((row["topic"], row["partition"]), [row["first"], 0, 0, 0])
        seen[0] = min(seen[0], row["first"])
        seen[1] = max(seen[1], row["last"])
        seen[2] += row["rows"]
        seen[3] += row["rows"] if row["outcome"] == ecs.OUTCOME_FILTERED else 0
    ranges = tuple(
        sorted(
            OffsetRange(topic, partition, first, last, records, filtered)
            for (topic, partition), (first, last, records, filtered) in partitions.items()
        )
    )
    return BatchTally(outcomes, out_of_bounds, ranges, reasons, late)


def outcome_counts(df: DataFrame) -> dict[str, int]:
    """Rows per outcome in a (batch) frame; every outcome present, zero when absent."""
    return tally_batch(df).outcomes


def filtered_counts(df: DataFrame) -> dict[str, int]:
    """Filtered rows per drop rule in a (batch) frame."""
    rows = (
        df.where(col(ecs.OUTCOME) == F.lit(ecs.OUTCOME_FILTERED))
        .groupBy(col(ecs.FILTER_RULE).alias("rule"))
        .count()
        .collect()
    )
    return {row["rule"]: row["count"] for row in rows}


def aggregate(config: LogiflowConfig) -> Transform:
    """Processed rows of a batch to the aggregates index's documents: the per-minute partials
    and the hourly visitor documents, one frame so one bulk write takes both."""
    # The anomaly detector's minute counts also need each partial's latency histogram.
    partials = aggregate_windows(config.aggregate, latency_histogram=config.anomaly.enabled)

    def transform(df: DataFrame) -> DataFrame:
        return partials(df).unionByName(visitor_hours(df), allowMissingColumns=True)

    return transform
