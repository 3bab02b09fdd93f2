"""The pipeline as an operator scrapes it: a real local Prometheus (Debian's package) scraping a
continuous ``logiflow etl`` (and Spark's servlet on its UI), a following ``logiflow ship``, a
``logiflow dashboard`` and Elasticsearch through its exporter, each its own process on its own
free metrics port.

Used by test_metrics.py; started once per module, since the four processes take a while.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from continuous_etl import LOGIFLOW, write_etl_config
from rich.console import Console

from logiflow.config import LogiflowConfig
from logiflow.local.elasticsearch_exporter_server import ElasticsearchExporterServer
from logiflow.local.kafka_server import KafkaServer
from logiflow.local.process import ServerProcess, free_port
from logiflow.local.prometheus_server import PrometheusServer

DROP_RULE = {"name": "health", "field": "url.path", "op": "equals", "value": "/healthz"}


@dataclass
class MetricsStand:
    config: LogiflowConfig
    prometheus: PrometheusServer
    log_file: Path
    dashboard_url: str
    outputs: dict[str, Path]
    processes: dict[str, subprocess.Popen[bytes]]

    def query(self, expr: str) -> dict[str, Any]:
        """The Prometheus HTTP API's answer to an instant query (any status)."""
        answer = requests.get(
            f"{self.prometheus.address}/api/v1/query", params={"query": expr}, timeout=30
        )
        body: dict[str, Any] = answer.json()
        body["http_status"] = answer.status_code
        return body

    def value(self, expr: str) -> float | None:
        """The single value of an instant query, None when it has no result."""
        result = self.query(expr)["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    def assert_running(self) -> None:
        for name, process in self.processes.items():
            assert process.poll() is None, (
                f"{name} exited with {process.returncode}:\n"
                + self.outputs[name].read_text(errors="replace")[-3000:]
            )


def _start(name: str, args: list[str], env: dict[str, str], workdir: Path) -> subprocess.Popen:
    out = (workdir / f"{name}.log").open("wb")
    try:
        return subprocess.Popen(
            [LOGIFLOW, *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
            start_new_session=True,
        )
    finally:
        out.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(120)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)


def _wait_ready(server: ServerProcess, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not server.healthy():
        assert proc.poll() is None, server.failure("exited while starting")
        assert time.monotonic() < deadline, server.failure("not ready in 60 s")
        time.sleep(0.3)


@contextmanager
def metrics_stand(
    base: LogiflowConfig, workdir: Path, log_lines: list[str]
) -> Iterator[MetricsStand]:
    """Prometheus first (so the processes find its targets folder), then the ETL, the shipper
    following ``log_lines`` written to a file, and the dashboard."""
    local = base.local.model_copy(
        update={
            "state_dir": workdir,
            "prometheus_port": free_port(),
            "elasticsearch_exporter_port": free_port(),
            # Spark's servlet answers slowly on a busy machine: the scrape timeout is the interval.
            "prometheus_scrape_interval_seconds": 2.0,
        }
    )
    config = base.model_copy(
        update={
            "local": local,
            "metrics": base.metrics.model_copy(update={"port": free_port()}),
            "spark": base.spark.model_copy(
                update={"conf": {"spark.ui.enabled": "true", "spark.ui.port": str(free_port())}}
            ),
        }
    )
    prometheus = PrometheusServer(local, Console(stderr=True))
    exporter = ElasticsearchExporterServer(local, Console(stderr=True))
    prometheus_proc = prometheus.launch(foreground=True)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        _wait_ready(prometheus, prometheus_proc)
        _wait_ready(exporter, exporter.launch(foreground=True))
        if local.kafka_metrics_port:
            # The session's broker serves Strimzi's reporter; this Prometheus scrapes it too.
            KafkaServer(local, Console(stderr=True)).write_target()
        config_file = write_etl_config(
            config, workdir / "config.yaml", drop=[DROP_RULE], trigger_interval="1 second"
        )
        log_file = workdir / "access.log"
        log_file.write_text("".join(f"{line}\n" for line in log_lines))
        dashboard_port = free_port()
        common = ["--config", str(config_file)]
        processes["etl"] = _start("etl", [*common, "etl"], {}, workdir)
        processes["shipper"] = _start(
            "shipper",
            [*common, "ship", "--follow", str(log_file), "--state-file",
             str(workdir / "positions.json"), "--reject-file", str(workdir / "rejected.log")],
            {"LOGIFLOW_METRICS__PORT": str(free_port())},
            workdir,
        )  # fmt: skip
        processes["dashboard"] = _start(
            "dashboard",
            [*common, "dashboard", "--port", str(dashboard_port)],
            {"LOGIFLOW_METRICS__PORT": str(free_port())},
            workdir,
        )
        yield MetricsStand(
            config=config,
            prometheus=prometheus,
            log_file=log_file,
            dashboard_url=f"http://127.0.0.1:{dashboard_port}",
            outputs={name: workdir / f"{name}.log" for name in processes},
            processes=processes,
        )
    finally:
        for process in processes.values():
            _stop(process)
        exporter.stop()
        prometheus.stop()
