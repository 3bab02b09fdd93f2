"""metrics.exporter: the local scrape target files the local Prometheus reads."""

from __future__ import annotations

import json
import os
from pathlib import Path

from logiflow.config import load_config
from logiflow.local.prometheus_config import targets_dir
from logiflow.metrics.exporter import register_target


def test_no_target_file_without_a_local_prometheus(tmp_path: Path) -> None:
    config = load_config(overrides={"local": {"state_dir": str(tmp_path)}})
    assert register_target(config, "etl", "127.0.0.1:9108") is None


def test_a_target_file_names_the_address_component_and_path(tmp_path: Path) -> None:
    config = load_config(overrides={"local": {"state_dir": str(tmp_path)}})
    targets_dir(config.local).mkdir(parents=True)
    path = register_target(config, "spark-driver", "127.0.0.1:4040", "/metrics/prometheus")
    assert path is not None and path.name == f"spark-driver-{os.getpid()}.json"
    (target,) = json.loads(path.read_text())
    assert target == {
        "targets": ["127.0.0.1:4040"],
        "labels": {"component": "spark-driver", "__metrics_path__": "/metrics/prometheus"},
    }
