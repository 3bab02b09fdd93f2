"""What several integration modules share: the settings of a private pair of local servers, and
shipping files with the real ``logiflow ship``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from logiflow.config import LogiflowConfig
from logiflow.local.process import free_port

LOGIFLOW = str(Path(sys.executable).with_name("logiflow"))


def local_settings(state_dir: Path) -> dict[str, Any]:
    """``local`` overrides for servers of the test's own: free ports, small heaps (several test
    runs may share this machine)."""
    return {
        "state_dir": str(state_dir),
        "kafka_port": free_port(),
        "kafka_controller_port": free_port(),
        "elasticsearch_port": free_port(),
        # The broker serves Strimzi's metrics reporter, as on the cluster (test_metrics.py).
        "kafka_metrics_port": free_port(),
        "kafka_heap": "384m",
        "elasticsearch_heap": "512m",
    }


def ship_files(config: LogiflowConfig, paths: list[Path], workdir: Path, timeout: float) -> str:
    """``logiflow ship`` the files into the config's logs topic, positions and rejects kept in
    ``workdir``; it must succeed. Its summary (stderr)."""
    result = subprocess.run(
        [
            LOGIFLOW,
            "ship",
            *map(str, paths),
            "--bootstrap-servers",
            config.kafka.bootstrap_servers,
            "--topic",
            config.kafka.logs_topic,
            "--state-file",
            str(workdir / "positions.json"),
            "--reject-file",
            str(workdir / "rejected.log"),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr
