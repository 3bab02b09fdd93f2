"""Per-minute traffic aggregates: tumbling event-time windows with a watermark.

For each window (``aggregate.window``, default one minute) it counts, over indexed events that
have an ``@timestamp``, per service (scope ``service``) and per service + endpoint (scope
``endpoint``, rows with an endpoint only):

============================== =====================================================
``_logiflow_id``               sha256 of window start + scope + service + endpoint
``@timestamp``                 window start
``logiflow.window.end``        window end (exclusive)
``logiflow.agg.scope``         "service" or "endpoint"
``service.name``               service (null when events carried none)
``logiflow.endpoint``          endpoint template (null for scope "service")
``logiflow.agg.events``        indexed events
``logiflow.agg.requests``      events with an HTTP status code
``logiflow.agg.status_4xx``    requests with 400..499
``logiflow.agg.status_5xx``    requests with 500..599
``logiflow.agg.error_rate``    (4xx + 5xx) / requests, null without requests
``logiflow.agg.bytes``         sum of ``http.response.body.bytes`` (0 when none)
``logiflow.agg.latency_count`` events with ``event.duration``
``logiflow.agg.latency_p50_ns``/``_p95_ns``/``_p99_ns``  approximate percentiles of
                               ``event.duration`` in ns, null when no event had latency
============================== =====================================================

Both scopes come from one aggregation (each event is expanded into one row per scope), because
a query may hold only one streaming aggregation in update mode.

Output mode: **update**, written to Elasticsearch with index-by-id. Every trigger emits the
windows that changed, each row carrying the window's full current totals (not a delta), so
indexing by the deterministic id overwrites the same document: dashboards are live within one
trigger and a replay after a restart rewrites, never duplicates. Append mode would hold each
window back until the watermark passed it (window + lateness, minutes of delay on a live
dashboard); complete mode would re-emit and keep every window forever. The watermark
(``aggregate.watermark``) bounds the state: events up to that late still update their window,
later ones are dropped from the aggregates (the raw events are still indexed by the event sink).
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from logiflow.config import AggregateSettings
from logiflow.contract import ecs
from logiflow.contract.aggregates import (
    AGG_BYTES,
    AGG_ERROR_RATE,
    AGG_EVENTS,
    AGG_LATENCY_COUNT,
    AGG_LATENCY_P50,
    AGG_LATENCY_P95,
    AGG_LATENCY_P99,
    AGG_REQUESTS,
    AGG_SCOPE,
    AGG_STATUS_4XX,
    AGG_STATUS_5XX,
    SCOPE_ENDPOINT,
    SCOPE_SERVICE,
    WINDOW_END,
)
from logiflow.etl.columns import col

# Relative error 1/accuracy (0.1% of the value range) is plenty for latency dashboards and keeps
# the per-window sketch small in the state store.
_PERCENTILE_ACCURACY = 1000
# Stands in for null keys inside the id, where concat_ws would otherwise skip them and let
# (service=null, endpoint="x") collide with (service="x", endpoint=null).
_NULL_KEY = "\u0000"


def aggregate_windows(settings: AggregateSettings) -> Callable[[DataFrame], DataFrame]:
    """Events (processed, any outcome) to aggregate documents; batch or streaming."""

    def transform(df: DataFrame) -> DataFrame:
        status = F.col("status")
        slim = (
            df.where(
                (col(ecs.OUTCOME) == F.lit(ecs.OUTCOME_INDEXED)) & col(ecs.TIMESTAMP).isNotNull()
            )
            .select(
                col(ecs.TIMESTAMP).alias("ts"),
                col(ecs.SERVICE_NAME).alias("service"),
                col(ecs.ENDPOINT).alias("endpoint_template"),
                col(ecs.HTTP_RESPONSE_STATUS_CODE).alias("status"),
                col(ecs.HTTP_RESPONSE_BODY_BYTES).alias("bytes"),
                col(ecs.EVENT_DURATION).alias("duration"),
                F.explode(F.array(F.lit(SCOPE_SERVICE), F.lit(SCOPE_ENDPOINT))).alias("scope"),
            )
            .where((F.col("scope") == SCOPE_SERVICE) | F.col("endpoint_template").isNotNull())
            .withColumn(
                "endpoint",
                F.when(F.col("scope") == SCOPE_ENDPOINT, F.col("endpoint_template")),
            )
            .withWatermark("ts", settings.watermark)
        )
        grouped = slim.groupBy(
            F.window("ts", settings.window).alias("window"), "scope", "service", "endpoint"
        ).agg(
            F.count(F.lit(1)).alias("events"),
            F.count(status).alias("requests"),
            F.count(F.when(status.between(400, 499), 1)).alias("s4xx"),
            F.count(F.when(status.between(500, 599), 1)).alias("s5xx"),
            F.coalesce(F.sum("bytes"), F.lit(0)).alias("bytes"),
            F.count("duration").alias("latency_count"),
            F.percentile_approx("duration", [0.5, 0.95, 0.99], _PERCENTILE_ACCURACY).alias(
                "latency"
            ),
        )
        doc_id = F.sha2(
            F.concat_ws(
                "|",
                F.unix_micros(F.col("window.start")).cast("string"),
                F.col("scope"),
                F.coalesce(F.col("service"), F.lit(_NULL_KEY)),
                F.coalesce(F.col("endpoint"), F.lit(_NULL_KEY)),
            ),
            256,
        )
        return grouped.select(
            doc_id.alias(ecs.DOC_ID),
            F.col("window.start").alias(ecs.TIMESTAMP),
            F.col("window.end").alias(WINDOW_END),
            F.col("scope").alias(AGG_SCOPE),
            F.col("service").alias(ecs.SERVICE_NAME),
            F.col("endpoint").alias(ecs.ENDPOINT),
            F.col("events").alias(AGG_EVENTS),
            F.col("requests").alias(AGG_REQUESTS),
            F.col("s4xx").alias(AGG_STATUS_4XX),
            F.col("s5xx").alias(AGG_STATUS_5XX),
            F.try_divide(F.col("s4xx") + F.col("s5xx"), F.col("requests")).alias(AGG_ERROR_RATE),
            F.col("bytes").alias(AGG_BYTES),
            F.col("latency_count").alias(AGG_LATENCY_COUNT),
            F.col("latency").getItem(0).alias(AGG_LATENCY_P50),
            F.col("latency").getItem(1).alias(AGG_LATENCY_P95),
            F.col("latency").getItem(2).alias(AGG_LATENCY_P99),
        )

    return transform
