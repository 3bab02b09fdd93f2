"""The local dashboard's live "Pipeline health" figures, read from the local Prometheus.

A few instant queries over the pipeline's own metrics (``contract.metrics``): totals read,
indexed and dead-lettered, the rate in, the consumer lag, the time since the last batch and
whether the sink waits for Elasticsearch. The Prometheus is ``dashboard.prometheus_url``, else
the local one of this state directory when it runs (``logiflow local up --prometheus``); with
neither the page says how to get one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import requests
from rich.console import Console

from logiflow.config import LogiflowConfig
from logiflow.contract import metrics as m
from logiflow.local.prometheus_server import PrometheusServer

TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Figure:
    label: str
    query: str
    unit: str  # "count", "per_second", "seconds" or "flag"


FIGURES = (
    Figure("Records read", f"sum({m.ETL_RECORDS_READ.sample_name})", "count"),
    Figure("Read rate", f"sum(rate({m.ETL_RECORDS_READ.sample_name}[1m]))", "per_second"),
    Figure("Indexed", f"sum({m.ETL_EVENTS_INDEXED.sample_name})", "count"),
    Figure("Dead letters", f"sum({m.ETL_DEAD_LETTERS.sample_name})", "count"),
    Figure("Consumer lag", f"sum({m.ETL_CONSUMER_LAG_RECORDS.name})", "count"),
    Figure("Lag age", f"max({m.ETL_CONSUMER_LAG_SECONDS.name})", "seconds"),
    Figure("Since last batch", f"time() - max({m.ETL_LAST_BATCH_TIMESTAMP.name} > 0)", "seconds"),
    Figure("Waiting for Elasticsearch", f"max({m.ETL_SINK_WAITING.name})", "flag"),
)


def prometheus_url(config: LogiflowConfig) -> str | None:
    """The configured Prometheus, else the running local one, else None."""
    if config.dashboard.prometheus_url:
        return config.dashboard.prometheus_url
    return PrometheusServer(config.local, Console(stderr=True)).running_address()


def pipeline_health(config: LogiflowConfig) -> dict[str, Any]:
    """What ``/api/health`` answers: the source and each figure's value (None: no data)."""
    url = prometheus_url(config)
    if url is None:
        return {"source": None, "error": None, "figures": []}
    figures = []
    try:
        for figure in FIGURES:
            figures.append(
                {"label": figure.label, "unit": figure.unit, "value": _value(url, figure.query)}
            )
    except (requests.RequestException, ValueError, KeyError) as exc:
        return {"source": url, "error": f"Prometheus at {url} did not answer: {exc}", "figures": []}
    return {"source": url, "error": None, "figures": figures}


def _value(url: str, query: str) -> float | None:
    answer = requests.get(f"{url}/api/v1/query", params={"query": query}, timeout=TIMEOUT_SECONDS)
    answer.raise_for_status()
    result = answer.json()["data"]["result"]
    value = float(result[0]["value"][1]) if result else None
    # NaN (a rate over nothing) is no figure; JSON could not carry it either.
    return value if value is not None and math.isfinite(value) else None
