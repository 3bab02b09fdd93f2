"""dashboard.pipeline_health: which Prometheus the live figures come from, and what the page
gets when there is none or it does not answer (the figures themselves: test_metrics.py)."""

from __future__ import annotations

from pathlib import Path

from logiflow.config import load_config
from logiflow.contract import metrics as m
from logiflow.dashboard.pipeline_health import FIGURES, pipeline_health, prometheus_url
from logiflow.local.process import free_port


def test_no_prometheus_configured_nor_running_here(tmp_path: Path) -> None:
    config = load_config(overrides={"local": {"state_dir": str(tmp_path)}})
    assert prometheus_url(config) is None
    assert pipeline_health(config) == {"source": None, "error": None, "figures": []}


def test_a_prometheus_that_does_not_answer_is_named(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    config = load_config(
        overrides={"local": {"state_dir": str(tmp_path)}, "dashboard": {"prometheus_url": url}}
    )
    health = pipeline_health(config)
    assert health["source"] == url
    assert health["error"].startswith(f"Prometheus at {url} did not answer")


def test_figures_read_only_contract_metrics() -> None:
    names = {metric.name for metric in m.ALL}
    for figure in FIGURES:
        assert any(name in figure.query for name in names), figure.label
