"""metrics.exporter: the local scrape target files the local Prometheus reads."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from logiflow.config import load_config
from logiflow.errors import ConfigError
from logiflow.local.prometheus_config import targets_dir
from logiflow.metrics import exporter
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


def test_a_port_in_use_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = load_config(
            overrides={"local": {"state_dir": str(tmp_path)}, "metrics": {"port": port}}
        )
        with pytest.raises(ConfigError, match=f"127.0.0.1:{port}.*metrics.port"):
            exporter.serve_metrics(config, "etl")
