"""The local Prometheus: Debian's ``prometheus`` package run as a process we own, on loopback,
scraping what ``local.prometheus_config`` describes; data under ``<state_dir>/prometheus``."""

from __future__ import annotations

from pathlib import Path

import requests

from logiflow.local.process import LOOPBACK, LocalServerError, ServerName, ServerProcess
from logiflow.local.prometheus_config import prometheus_dir, write_prometheus_config

PACKAGE_HINT = "install Debian's `prometheus` package (apt-get install prometheus; `make` does)"


class PrometheusServer(ServerProcess):
    name: ServerName = "prometheus"
    display = "Prometheus"

    @property
    def address(self) -> str:
        return f"http://{LOOPBACK}:{self.settings.prometheus_port}"

    @property
    def ports(self) -> list[int]:
        return [self.settings.prometheus_port]

    @property
    def log_file(self) -> Path:
        return self.console_file

    def prepare(self) -> tuple[list[str], dict[str, str], Path]:
        binary = self.settings.prometheus_binary
        if not binary.is_file():
            raise LocalServerError(f"{binary} is missing: {PACKAGE_HINT}")
        config_file = write_prometheus_config(self.settings)
        data = prometheus_dir(self.settings) / "data"
        data.mkdir(parents=True, exist_ok=True)
        command = [
            str(binary),
            f"--config.file={config_file}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=7d",
            f"--web.listen-address={LOOPBACK}:{self.settings.prometheus_port}",
        ]
        return command, {}, self.dir

    def diagnostic_logs(self) -> list[Path]:
        return [self.console_file]

    def healthy(self) -> bool:
        try:
            return requests.get(f"{self.address}/-/ready", timeout=2).status_code == 200
        except requests.RequestException:
            return False
