"""Backfill: the ETL run again over the raw-log archive, into Elasticsearch.

``logiflow backfill --from-archive`` reads the archived records of the logs topic in a time range
(and of one service), one arrival hour at a time, turns them back into the Kafka source's rows
(``etl.archive_records``) and hands each hour to the events query's own batch writer
(``job.events_batch_writer``): same decode, parse, enrichment and drop rules, same document ids
(so what is indexed already is overwritten, not duplicated), same dead-letter path, and one
accounting document per hour under the query name ``backfill``.

Dead letters a parser fix (a format added since) turns into events: the dead-letter documents of
the range are listed before the run; those whose id is an event afterwards are counted and
removed from the dead-letter indices, where they no longer belong (the backfill's user needs the
``delete`` privilege there for that; without it they are counted and left).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from elasticsearch import Elasticsearch, helpers
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from logiflow.archive_compaction import SOURCE_FILE, compacted_days, sink_rows
from logiflow.batch_clock import wall_clock
from logiflow.config import LogiflowConfig
from logiflow.contract import archive_layout as layout
from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.etl.archive_records import in_range, of_service, to_kafka_rows
from logiflow.etl.pipeline import process_records
from logiflow.io.es_client import create_es_client
from logiflow.job import BatchAccount, EtlResult, events_batch_writer, make_countable

# Ids per Elasticsearch request when checking which former dead letters are events now.
_IDS_PER_REQUEST = 5_000


@dataclass(frozen=True)
class BackfillRange:
    """What to backfill: arrivals in [since, until) (None: open), of one service or all."""

    since: datetime | None = None
    until: datetime | None = None
    service: str | None = None


@dataclass
class BackfillSummary:
    run_id: str
    hours: list[datetime] = field(default_factory=list)
    result: EtlResult = field(default_factory=EtlResult)
    dead_letters_now_events: int = 0
    # Of those, dead-letter documents Elasticsearch refused to delete (no delete privilege).
    dead_letters_kept: int = 0
    seconds: float = 0.0


def archived_records(spark: SparkSession, config: LogiflowConfig, what: BackfillRange) -> DataFrame:
    """The archive's committed rows of the logs topic in the range (files the sink's commit log
    does not list, from a batch cut short, are never read). A compacted day is read from its
    copy, plus the day's sink files committed after the compaction (``archive_compaction``)."""
    # Files the bucket's lifecycle rules expired are still in the commit log: skipped, not fatal
    # (so are a compacted day's sink files, which the copy replaces).
    rows = sink_rows(spark, config)
    first = what.since.date() if what.since else None
    last = what.until.date() if what.until else None
    compacted = compacted_days(spark, config, first, last)
    if compacted:
        replaced = [path for day in compacted for path in day.source_files]
        rows = rows.where(~F.col(SOURCE_FILE).isin(replaced)).drop(SOURCE_FILE)
        copies = spark.read.schema(layout.SCHEMA_DDL).parquet(
            *[path for day in compacted for path in day.files]
        )
        rows = rows.unionByName(copies)
    else:
        rows = rows.drop(SOURCE_FILE)
    rows = rows.transform(in_range(what.since, what.until))
    return rows.transform(of_service(what.service)) if what.service else rows


def archived_hours(records: DataFrame) -> list[datetime]:
    """The arrival hours that hold records, in order (read from the partition columns)."""
    hours = records.select(layout.DATE, layout.HOUR).distinct().collect()
    return sorted(
        datetime(d.year, d.month, d.day, tzinfo=UTC) + timedelta(hours=h) for d, h in hours
    )


def _of_hour(hour: datetime) -> Callable[[DataFrame], DataFrame]:
    def transform(df: DataFrame) -> DataFrame:
        return df.where(
            (F.col(layout.DATE) == F.lit(hour.date())) & (F.col(layout.HOUR) == F.lit(hour.hour))
        )

    return transform


def run_backfill(
    spark: SparkSession,
    config: LogiflowConfig,
    what: BackfillRange,
    on_hour: Callable[[datetime, BatchAccount], None] | None = None,
    stop: threading.Event | None = None,
) -> BackfillSummary:
    """Backfill ``what``; ``on_hour`` is told after each hour (progress). Empty range: no hours."""
    started = time.monotonic()
    summary = BackfillSummary(run_id=f"backfill-{uuid.uuid4().hex[:12]}")
    records = archived_records(spark, config, what)
    summary.hours = archived_hours(records)
    if not summary.hours:
        return summary
    es = create_es_client(config.elasticsearch)
    try:
        dead_before = list(_dead_letter_ids(es, config, what))
        write = events_batch_writer(
            config,
            summary.result,
            None,
            wall_clock,
            stop,
            query=names.BACKFILL_QUERY,
            run_id=summary.run_id,
        )
        for batch_id, hour in enumerate(summary.hours):
            if stop is not None and stop.is_set():
                break
            batch = records.transform(_of_hour(hour)).transform(to_kafka_rows())
            write(batch.transform(process_records(config)), batch_id)
            if on_hour is not None:
                on_hour(hour, summary.result.recent_batches[-1])
        make_countable(config)
        converted, refused = _retire_dead_letters(es, config, dead_before)
        summary.dead_letters_now_events, summary.dead_letters_kept = converted, refused
    finally:
        es.close()
    summary.seconds = time.monotonic() - started
    return summary


def _dead_letter_ids(
    es: Elasticsearch, config: LogiflowConfig, what: BackfillRange
) -> Iterator[tuple[str, str]]:
    """(index, id) of the dead-letter documents of the range's records (dead letters are few)."""
    prefix = config.elasticsearch.index_prefix
    filters: list[dict[str, object]] = [{"term": {ecs.KAFKA_TOPIC: config.kafka.logs_topic}}]
    if what.since or what.until:
        bounds = {"gte": what.since, "lt": what.until}
        filters.append(
            {"range": {ecs.TIMESTAMP: {k: v.isoformat() for k, v in bounds.items() if v}}}
        )
    if what.service:
        filters.append({"wildcard": {ecs.KAFKA_KEY: {"value": f"*/{what.service}"}}})
    index = names.index_pattern(prefix, names.DEAD_LETTER)
    es.indices.refresh(index=index, allow_no_indices=True, ignore_unavailable=True)
    for hit in helpers.scan(
        es, index=index, query={"query": {"bool": {"filter": filters}}, "_source": False},
        ignore_unavailable=True,
    ):  # fmt: skip
        yield hit["_index"], hit["_id"]


def _retire_dead_letters(
    es: Elasticsearch, config: LogiflowConfig, letters: list[tuple[str, str]]
) -> tuple[int, int]:
    """Remove the dead letters among ``letters`` that are events now: (how many are events now,
    how many of those Elasticsearch refused to delete).

    Bulk deletes by id, not ``_delete_by_query`` (the local node has no reindex module); a user
    without the ``delete`` privilege leaves them in place, counted as refused."""
    events = names.index_pattern(config.elasticsearch.index_prefix, names.EVENTS)
    converted = refused = 0
    for start in range(0, len(letters), _IDS_PER_REQUEST):
        chunk = dict((doc_id, index) for index, doc_id in letters[start : start + _IDS_PER_REQUEST])
        query = {"query": {"ids": {"values": list(chunk)}}, "_source": False}
        now_events = [hit["_id"] for hit in helpers.scan(es, index=events, query=query,
                                                         ignore_unavailable=True)]  # fmt: skip
        deletes = [{"_op_type": "delete", "_index": chunk[i], "_id": i} for i in now_events]
        _, errors = helpers.bulk(es, deletes, raise_on_error=False, refresh=True)
        converted += len(now_events)
        refused += len(errors) if isinstance(errors, list) else errors
    return converted, refused
