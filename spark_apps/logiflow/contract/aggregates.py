"""Field names of the windowed aggregate documents in ``<prefix>-aggregates-YYYY.MM``.

The aggregates query writes them (``etl/aggregate_windows.py`` documents what each one holds),
the index template types them and the dashboards and ``logiflow report`` read them.
"""

from __future__ import annotations

from logiflow.contract import ecs

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
    ecs.DOC_ID,
    ecs.TIMESTAMP,
    WINDOW_END,
    AGG_SCOPE,
    ecs.SERVICE_NAME,
    ecs.ENDPOINT,
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
