"""Field names of the anomaly documents in ``<prefix>-anomalies-YYYY.MM`` and of the minute
counts the detector reads.

The anomaly query (``logiflow.anomaly``) writes one document per series, metric and minute it
judges anomalous; ``logiflow anomalies``, the dashboards and the alert rule read them. ECS where
ECS has a name (``@timestamp``, ``service.name``, ``event.*``, ``message``), the events'
endpoint template (``logiflow.endpoint``);
LogiFlow's own fields under ``logiflow.anomaly.*``.
"""

from __future__ import annotations

from logiflow.contract import ecs
from logiflow.contract import index_names as names

INDEX_KIND = names.ANOMALIES

# Metrics the detector judges, the values of ``logiflow.anomaly.metric``.
METRIC_REQUESTS = "requests_per_minute"
METRIC_RATE_4XX = "error_rate_4xx"
METRIC_RATE_5XX = "error_rate_5xx"
METRIC_LATENCY = "latency_geometric_mean_seconds"
METRIC_LATENCY_P95 = "latency_p95_seconds"
METRIC_LATENCY_P99 = "latency_p99_seconds"
METRIC_NEW_ERRORS = "new_error_signature"
LATENCY_METRICS = (METRIC_LATENCY, METRIC_LATENCY_P95, METRIC_LATENCY_P99)
METRICS = (
    METRIC_REQUESTS, METRIC_RATE_4XX, METRIC_RATE_5XX, *LATENCY_METRICS, METRIC_NEW_ERRORS,
)  # fmt: skip

# Directions, the values of ``logiflow.anomaly.direction``.
UP = "up"
DOWN = "down"

# Severities, the values of ``event.severity_name`` (``event.severity`` holds the score).
MINOR = "minor"
MAJOR = "major"
CRITICAL = "critical"

# --- fields of an anomaly document -------------------------------------------------------------
DOC_ID = ecs.DOC_ID  # sha256 of service, endpoint, metric and minute: a replay overwrites
TIMESTAMP = ecs.TIMESTAMP  # the start of the anomalous minute
WINDOW_END = "logiflow.window.end"
SERVICE = ecs.SERVICE_NAME
ENDPOINT = ecs.ENDPOINT  # the endpoint template; absent for a whole service's series
EVENT_KIND = ecs.EVENT_KIND  # always "alert"
EVENT_KIND_ALERT = "alert"
EVENT_SEVERITY = "event.severity"  # the score, 0-100
SEVERITY_NAME = "logiflow.anomaly.severity"
MESSAGE = "message"  # one human sentence
METRIC = "logiflow.anomaly.metric"
DIRECTION = "logiflow.anomaly.direction"
ACTUAL = "logiflow.anomaly.actual"
EXPECTED = "logiflow.anomaly.expected"
SCORE = "logiflow.anomaly.score"
REQUESTS = "logiflow.anomaly.requests"  # the minute's requests, for context
DETECTED_AT = "logiflow.anomaly.detected_at"  # when the minute closed (the watermark passed it)
