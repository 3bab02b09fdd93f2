"""The local Elasticsearch's metrics: prometheus-community's ``elasticsearch_exporter`` run as a
process we own next to the local Prometheus (``logiflow local up --prometheus``).

Elasticsearch serves no Prometheus endpoint of its own; the exporter asks the local node's APIs
(cluster health, node stats: indexing, thread pools, JVM) at each scrape and answers on
``127.0.0.1:<local.elasticsearch_exporter_port>/metrics``. It writes its own target file into
the local Prometheus's ``targets/`` folder (as every LogiFlow process does), removed when it
stops. The binary is built by ``make`` from the Go module proxy at a pinned version
(``LocalSettings.elasticsearch_exporter_path``).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import requests
from rich.console import Console

from logiflow.config import LocalSettings
from logiflow.local.elasticsearch_server import ElasticsearchServer
from logiflow.local.process import (
    DEFAULT_STOP_GRACE,
    LOOPBACK,
    LocalServerError,
    ServerName,
    ServerProcess,
)
from logiflow.local.prometheus_config import targets_dir, write_target

BUILD_HINT = "build it with `make elasticsearch-exporter` (Go from the module proxy)"
# The label the local scrape target carries, like the LogiFlow processes' `component`.
COMPONENT = "elasticsearch-exporter"


class ElasticsearchExporterServer(ServerProcess):
    name: ServerName = "elasticsearch-exporter"
    display = "Elasticsearch exporter"

    def __init__(self, settings: LocalSettings, console: Console) -> None:
        super().__init__(settings, console)
        self.elasticsearch = ElasticsearchServer(settings, console)

    @property
    def address(self) -> str:
        return f"http://{LOOPBACK}:{self.settings.elasticsearch_exporter_port}"

    @property
    def ports(self) -> list[int]:
        return [self.settings.elasticsearch_exporter_port]

    @property
    def log_file(self) -> Path:
        return self.console_file

    @property
    def target_file(self) -> Path:
        return targets_dir(self.settings) / f"{COMPONENT}.json"

    def prepare(self) -> tuple[list[str], dict[str, str], Path]:
        binary = self.settings.elasticsearch_exporter_path
        if not binary.is_file():
            raise LocalServerError(f"{binary} is missing: {BUILD_HINT}")
        # The node that runs here, on the port it was started with.
        uri = self.elasticsearch.running_address() or self.elasticsearch.address
        command = [
            str(binary),
            f"--es.uri={uri}",
            f"--web.listen-address={LOOPBACK}:{self.settings.elasticsearch_exporter_port}",
            "--es.timeout=10s",
        ]
        address = f"{LOOPBACK}:{self.settings.elasticsearch_exporter_port}"
        write_target(self.settings, COMPONENT, address, COMPONENT)
        return command, {}, self.dir

    def stop(self, grace: float = DEFAULT_STOP_GRACE) -> bool:
        with contextlib.suppress(OSError):
            self.target_file.unlink()
        return super().stop(grace)

    def diagnostic_logs(self) -> list[Path]:
        return [self.console_file]

    def healthy(self) -> bool:
        """Serving, and reaching Elasticsearch (it reports the cluster's health)."""
        try:
            answer = requests.get(f"{self.address}/metrics", timeout=10)
        except requests.RequestException:
            return False
        return answer.status_code == 200 and "\nelasticsearch_cluster_health_status{" in answer.text
