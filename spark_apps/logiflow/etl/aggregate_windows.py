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
from logiflow.etl import fields

SCOPE_SERVICE = "service"
SCOPE_ENDPOINT = "endpoint"

WINDOW_END = "logiflow.window.end"
AGG_SCOPE = "logiflow.agg.scope"
AGG_EVENTS = "logiflow.agg.events"
AGG_REQUESTS = "logiflow.agg.requests"
AGG_STATUS_4XX = "logiflow.agg.status_4xx"
AGG_STATUS_5XX = "logiflow.agg.status_5xx"
AGG_ERROR_RATE = "logiflow.agg.error_rate"
AGG_BYTES = "logiflow.agg.bytes"
AGG_LATENCY_COUNT = "logiflow.agg.latency_count"
AGG_LATENCY_P50 = "logiflow.agg.latency_p50_ns"
AGG_LATENCY_P95 = "logiflow.agg.latency_p95_ns"
AGG_LATENCY_P99 = "logiflow.agg.latency_p99_ns"

AGGREGATE_COLUMNS = (
    fields.DOC_ID,
    fields.TIMESTAMP,
    WINDOW_END,
    AGG_SCOPE,
    fields.SERVICE_NAME,
    fields.ENDPOINT,
    AGG_EVENTS,
    AGG_REQUESTS,
    AGG_STATUS_4XX,
    AGG_STATUS_5XX,
    AGG_ERROR_RATE,
    AGG_BYTES,
    AGG_LATENCY_COUNT,
    AGG_LATENCY_P50,
    AGG_LATENCY_P95,
    AGG_LATENCY_P99,
)

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
                (fields.col(fields.OUTCOME) == F.lit(fields.OUTCOME_INDEXED))
                & fields.col(fields.TIMESTAMP).isNotNull()
            )
            .select(
                fields.col(fields.TIMESTAMP).alias("ts"),
                fields.col(fields.SERVICE_NAME).alias("service"),
                fields.col(fields.ENDPOINT).alias("endpoint_template"),
                fields.col(fields.HTTP_RESPONSE_STATUS_CODE).alias("status"),
                fields.col(fields.HTTP_RESPONSE_BODY_BYTES).alias("bytes"),
                fields.col(fields.EVENT_DURATION).alias("duration"),
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
            doc_id.alias(fields.DOC_ID),
            F.col("window.start").alias(fields.TIMESTAMP),
            F.col("window.end").alias(WINDOW_END),
            F.col("scope").alias(AGG_SCOPE),
            F.col("service").alias(fields.SERVICE_NAME),
            F.col("endpoint").alias(fields.ENDPOINT),
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
