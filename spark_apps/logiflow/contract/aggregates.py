"""Field names of the windowed aggregate documents in ``<prefix>-aggregates-YYYY.MM``.

The events query writes them as partial documents, one per batch and window and keys
(``etl/aggregate_windows.py`` documents what each one holds and why); the index template types
them; readers (the dashboards) sum them.

Beside the partials, scope ``visitor`` holds one document per hour, service and client address
seen (``etl/visitor_hours.py``): a set, not a sum, that a distinct count reads instead of every
event. Every reader of the partials filters on ``logiflow.agg.scope``.
"""

from __future__ import annotations

from logiflow.contract import ecs

SCOPE_SERVICE = "service"
SCOPE_ENDPOINT = "endpoint"
SCOPE_VISITOR = "visitor"

WINDOW_END = "logiflow.window.end"
AGG_SCOPE = "logiflow.agg.scope"
AGG_EVENTS = "logiflow.agg.events"
AGG_REQUESTS = "logiflow.agg.requests"
AGG_STATUS_4XX = "logiflow.agg.status_4xx"
AGG_STATUS_5XX = "logiflow.agg.status_5xx"
AGG_BYTES = "logiflow.agg.bytes"
AGG_LATENCY_COUNT = "logiflow.agg.latency_count"
AGG_LATENCY_SUM = "logiflow.agg.latency_sum_ns"
# Sum of ln(latency in seconds): with the count, the geometric mean latency, which one timeout
# among a minute's requests barely moves (the anomaly detector's latency statistic).
AGG_LATENCY_LOG_SUM = "logiflow.agg.latency_log_sum"
# Latency histograms of the partials (anomaly detection's minute counts only, never indexed):
# bucket b holds latencies in [2^(b/k), 2^((b+1)/k)) seconds, k buckets per doubling, so a
# quantile read from merged buckets is within 2^(1/(2k)) - 1 (4.4%) of the true one.
LATENCY_BUCKETS_PER_DOUBLING = 8

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
    AGG_BYTES,
    AGG_LATENCY_COUNT,
    AGG_LATENCY_SUM,
    AGG_LATENCY_LOG_SUM,
)

# A visitor document: ``_logiflow_id``, ``@timestamp`` (the hour), ``logiflow.window.end``, the
# scope, ``service.name`` and the client's address.
VISITOR_COLUMNS = (
    ecs.DOC_ID,
    ecs.TIMESTAMP,
    WINDOW_END,
    AGG_SCOPE,
    ecs.SERVICE_NAME,
    ecs.CLIENT_IP,
)
