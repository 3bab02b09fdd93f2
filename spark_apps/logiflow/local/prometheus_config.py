"""Where the local Prometheus keeps its files, and its configuration (pure, unit-tested).

One scrape job, ``logiflow``, reads its targets from ``<state_dir>/prometheus/targets/*.json``
(``file_sd``): each LogiFlow process serving metrics writes its own file there
(``metrics.exporter``), the ETL driver one more for Spark's PrometheusServlet on its UI. So
processes started in any order, on any port, are scraped without a Prometheus restart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from logiflow.config import LocalSettings

JOB_NAME = "logiflow"


def prometheus_dir(settings: LocalSettings) -> Path:
    return settings.state_dir.resolve() / "prometheus"


def targets_dir(settings: LocalSettings) -> Path:
    return prometheus_dir(settings) / "targets"


def prometheus_config(settings: LocalSettings) -> dict[str, Any]:
    """The prometheus.yml of the local Prometheus."""
    interval = f"{settings.prometheus_scrape_interval_seconds:g}s"
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [
            {
                "job_name": JOB_NAME,
                "file_sd_configs": [
                    {"files": [str(targets_dir(settings) / "*.json")], "refresh_interval": interval}
                ],
            }
        ],
    }


def write_target(settings: LocalSettings, name: str, address: str, component: str) -> Path:
    """Write ``targets/<name>.json``: scrape ``address`` (host:port, /metrics), labelled
    ``component``. For the servers we start; LogiFlow's own processes use metrics.exporter."""
    folder = targets_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps([{"targets": [address], "labels": {"component": component}}]))
    # Renamed into place: Prometheus never reads half a file.
    temporary.replace(path)
    return path


def write_prometheus_config(settings: LocalSettings) -> Path:
    """Write prometheus.yml (and create the targets folder); return its path."""
    targets_dir(settings).mkdir(parents=True, exist_ok=True)
    path = prometheus_dir(settings) / "prometheus.yml"
    path.write_text(yaml.safe_dump(prometheus_config(settings), sort_keys=False))
    return path
