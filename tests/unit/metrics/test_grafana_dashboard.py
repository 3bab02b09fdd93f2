"""The Grafana dashboard reads only metrics the contract names (its queries run against a real
Prometheus in tests/integration/test_metrics.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from logiflow.contract import metrics as m

DASHBOARD = (
    Path(__file__).parents[3] / "charts" / "logiflow" / "dashboards" / "logiflow-grafana.json"
)


def _exprs() -> Iterator[str]:
    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    for panel in panels(json.loads(DASHBOARD.read_text())["panels"]):
        for target in panel.get("targets", []):
            yield target["expr"]


def test_every_logiflow_metric_a_panel_reads_is_in_the_contract() -> None:
    known = {metric.sample_name for metric in m.ALL}
    for metric in m.ALL:
        if metric.kind == m.HISTOGRAM:
            known |= {f"{metric.name}_{suffix}" for suffix in ("bucket", "sum", "count")}
    used = {name for expr in _exprs() for name in re.findall(r"\blogiflow_[a-z_]+", expr)}
    assert used, "the dashboard reads LogiFlow's metrics"
    assert used <= known, used - known


def test_the_dashboard_covers_what_operators_need() -> None:
    text = " ".join(_exprs())
    for needed in (
        m.ETL_RECORDS_READ.sample_name,
        m.ETL_CONSUMER_LAG_RECORDS.name,
        m.ETL_BATCH_DURATION.name,
        m.ETL_DEAD_LETTERS.sample_name,
        m.ETL_ES_RETRIES.sample_name,
        m.ETL_ES_REJECTIONS.sample_name,
        m.ETL_SINK_WAITING.name,
        "metrics_executor_",
        "kafka_server_",
        "kafka_consumergroup_lag",
    ):
        assert needed in text, needed
