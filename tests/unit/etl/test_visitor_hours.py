"""Visitor documents: one per hour, service and client address, whatever the batches and
replays that saw them."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession

from logiflow.contract import aggregates as agg
from logiflow.contract import ecs
from logiflow.etl.visitor_hours import visitor_hours

SCHEMA = (
    f"`{ecs.TIMESTAMP}` timestamp, `{ecs.SERVICE_NAME}` string, `{ecs.CLIENT_IP}` string, "
    f"`{ecs.OUTCOME}` string"
)
HOUR = dt.datetime(2026, 11, 24, 10, 0, 0)
INDEXED = ecs.OUTCOME_INDEXED


def rows(spark: SparkSession, *events: tuple[float, str | None, str | None, str]) -> DataFrame:
    """Processed rows from (minutes after HOUR, service, client, outcome)."""
    return spark.createDataFrame(
        [(HOUR + dt.timedelta(minutes=m), s, c, o) for m, s, c, o in events], SCHEMA
    )


def documents(df: DataFrame) -> dict[tuple[dt.datetime, str | None, str], dict]:
    out = df.transform(visitor_hours)
    assert tuple(out.columns) == agg.VISITOR_COLUMNS
    return {
        (r[ecs.TIMESTAMP], r[ecs.SERVICE_NAME], r[ecs.CLIENT_IP]): r.asDict() for r in out.collect()
    }


def test_one_document_per_hour_service_and_client(spark: SparkSession) -> None:
    docs = documents(
        rows(
            spark,
            (1, "shop", "10.0.0.1", INDEXED),
            (59, "shop", "10.0.0.1", INDEXED),  # same hour, same client: one document
            (61, "shop", "10.0.0.1", INDEXED),  # next hour
            (2, "api", "10.0.0.1", INDEXED),  # another service
            (3, None, "10.0.0.2", INDEXED),  # no service still counts
            (4, "shop", None, INDEXED),  # no address: nothing to count
            (5, "shop", "10.0.0.3", ecs.OUTCOME_FILTERED),  # not an indexed event
            (6, "shop", "10.0.0.4", ecs.OUTCOME_DEAD_LETTER),
        )
    )
    next_hour = HOUR + dt.timedelta(hours=1)
    assert set(docs) == {
        (HOUR, "shop", "10.0.0.1"),
        (next_hour, "shop", "10.0.0.1"),
        (HOUR, "api", "10.0.0.1"),
        (HOUR, None, "10.0.0.2"),
    }
    doc = docs[(HOUR, "shop", "10.0.0.1")]
    assert doc[agg.AGG_SCOPE] == agg.SCOPE_VISITOR
    assert doc[agg.WINDOW_END] == next_hour
    assert len({d[ecs.DOC_ID] for d in docs.values()}) == len(docs)


def test_the_same_client_hour_has_the_same_id_in_every_batch(spark: SparkSession) -> None:
    first = documents(rows(spark, (1, "shop", "10.0.0.1", INDEXED), (2, None, "10.0.0.2", INDEXED)))
    later = documents(
        rows(spark, (40, "shop", "10.0.0.1", INDEXED), (7, None, "10.0.0.2", INDEXED))
    )
    assert {k: d[ecs.DOC_ID] for k, d in first.items()} == {
        k: d[ecs.DOC_ID] for k, d in later.items()
    }
    # No service name takes the place of "none" in the id.
    other = documents(rows(spark, (1, "-", "10.0.0.2", INDEXED)))
    assert next(iter(other.values()))[ecs.DOC_ID] != first[(HOUR, None, "10.0.0.2")][ecs.DOC_ID]
