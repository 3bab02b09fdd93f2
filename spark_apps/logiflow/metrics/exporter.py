"""Serves the process's metrics on ``/metrics`` (prometheus_client's HTTP server) and, on one
machine, tells the local Prometheus where to scrape.

One endpoint per process, on ``metrics.host:metrics.port`` (``metrics.port`` 0: none). When the
local Prometheus of this state directory is set up (``local.prometheus``), the endpoint is also
written as a target file in its ``targets/`` folder, which Prometheus watches (``file_sd``):
ports chosen per process need no Prometheus restart. The file goes when the process ends.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import threading
from pathlib import Path

from prometheus_client import start_http_server

from logiflow.config import LogiflowConfig
from logiflow.errors import ConfigError
from logiflow.local.prometheus_config import targets_dir

# The port each metrics address (host:port asked for) serves on in this process.
_started: dict[str, int] = {}
_lock = threading.Lock()


def serve_metrics(config: LogiflowConfig, component: str) -> int | None:
    """Start this process's ``/metrics`` on ``metrics.host:port`` if the port is set (once per
    address; later calls return the same port); None when off. ``component`` labels the local
    scrape target."""
    settings = config.metrics
    if not settings.port:
        return None
    address = f"{settings.host}:{settings.port}"
    with _lock:
        if address not in _started:
            try:
                server, _thread = start_http_server(settings.port, addr=settings.host)
            except OSError as exc:
                raise ConfigError(
                    f"cannot serve metrics on {address} ({exc.strerror}); give each process "
                    "on this machine its own metrics.port (LOGIFLOW_METRICS__PORT) or 0 to "
                    "turn metrics off"
                ) from exc
            _started[address] = int(server.server_port)
            host = "127.0.0.1" if settings.host in ("0.0.0.0", "") else settings.host
            register_target(config, component, f"{host}:{_started[address]}")
        return _started[address]


def register_target(
    config: LogiflowConfig, component: str, address: str, metrics_path: str = "/metrics"
) -> Path | None:
    """Write a scrape target for the local Prometheus, if one is set up; removed at exit."""
    folder = targets_dir(config.local)
    if not folder.is_dir():
        return None
    path = folder / f"{component}-{os.getpid()}.json"
    labels = {"component": component, "__metrics_path__": metrics_path}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps([{"targets": [address], "labels": labels}]))
    # Renamed into place: Prometheus never reads half a file.
    temporary.replace(path)
    atexit.register(_remove, path)
    return path


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
