"""Which clients each service saw in each hour: the documents a distinct count reads.

Unique visitors is a distinct count of ``client.ip``, and a distinct count does not sum: the
per-minute partials cannot hold it, and counting it from the events reads every event of the
range (17 million for a day at 200/s, which put the dashboard's visitors number near half a
second). So each batch also writes, into the aggregates index under scope ``visitor``, one
document per (hour, service, client address) among its indexed events. The dashboard's distinct
count then reads these for the whole hours of its range and the events only for the partial
hours at its edges (``dashboard/hourly_distinct.py``): at most a few thousand documents an hour
where the events are hundreds of thousands.

A set, not a sum: the id is the hour, service and address alone, so every batch, replay or late
event that sees the same client in the same hour rewrites the same document, and nothing needs
to be remembered between batches. The cost is one small document per distinct client per batch
(about half the events at 200/s with the generator's 3,000 clients, a few percent at thousands
of events a second, when the same clients come back in every batch); docs/performance.md has
the measurement.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from logiflow.contract import ecs
from logiflow.contract.aggregates import AGG_SCOPE, SCOPE_VISITOR, WINDOW_END
from logiflow.etl.columns import col

# Inside the id a service is "=<name>" and a missing one "-" (concat_ws would skip a null), so
# no service name can take the place of "none".
_NO_SERVICE_KEY = "-"


def visitor_hours(df: DataFrame) -> DataFrame:
    """Processed rows of one batch (any outcome) to visitor documents (``VISITOR_COLUMNS``)."""
    seen = (
        df.where(
            (col(ecs.OUTCOME) == F.lit(ecs.OUTCOME_INDEXED))
            & col(ecs.TIMESTAMP).isNotNull()
            & col(ecs.CLIENT_IP).isNotNull()
        )
        .select(
            F.date_trunc("hour", col(ecs.TIMESTAMP)).alias("hour"),
            col(ecs.SERVICE_NAME).alias("service"),
            col(ecs.CLIENT_IP).alias("client"),
        )
        .distinct()
    )
    doc_id = F.sha2(
        F.concat_ws(
            "|",
            F.lit(SCOPE_VISITOR),
            F.unix_micros(F.col("hour")).cast("string"),
            F.coalesce(F.concat(F.lit("="), F.col("service")), F.lit(_NO_SERVICE_KEY)),
            F.col("client"),
        ),
        256,
    )
    return seen.select(
        doc_id.alias(ecs.DOC_ID),
        F.col("hour").alias(ecs.TIMESTAMP),
        (F.col("hour") + F.expr("INTERVAL 1 HOUR")).alias(WINDOW_END),
        F.lit(SCOPE_VISITOR).alias(AGG_SCOPE),
        F.col("service").alias(ecs.SERVICE_NAME),
        F.col("client").alias(ecs.CLIENT_IP),
    )
