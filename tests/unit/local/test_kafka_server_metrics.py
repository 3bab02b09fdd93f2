"""local/kafka_server.py with ``local.kafka_metrics_port``: the broker runs Strimzi's metrics
reporter with the chart's allow-list, and the port counts as one of the broker's."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from logiflow.config import LocalSettings
from logiflow.local.kafka_server import KafkaServer


def _server(tmp_path: Path, metrics_port: int) -> KafkaServer:
    settings = LocalSettings(
        state_dir=tmp_path, kafka_port=19092, kafka_controller_port=19093,
        kafka_metrics_port=metrics_port,
    )  # fmt: skip
    return KafkaServer(settings, Console(stderr=True))


def test_the_reporter_serves_the_charts_allow_list_on_its_port(tmp_path: Path) -> None:
    server = _server(tmp_path, 19404)
    config, _log4j = server._write_config()
    properties = dict(line.split("=", 1) for line in config.read_text().splitlines() if "=" in line)
    assert properties["prometheus.metrics.reporter.listener"] == "http://127.0.0.1:19404"
    assert properties["prometheus.metrics.reporter.allowlist"] == (
        "kafka_server.*,kafka_network.*,kafka_log.*,kafka_controller.*"
    )
    assert properties["kafka.metrics.reporters"].startswith("io.strimzi.kafka.metrics.")
    assert server.ports == [19092, 19093, 19404]


def test_without_a_metrics_port_the_broker_runs_no_reporter(tmp_path: Path) -> None:
    server = _server(tmp_path, 0)
    config, _log4j = server._write_config()
    assert "metric.reporters" not in config.read_text()
    assert server.ports == [19092, 19093]
