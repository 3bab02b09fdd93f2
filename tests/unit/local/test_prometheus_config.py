"""local.prometheus_config: the local Prometheus's configuration, checked by its own promtool."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from logiflow.config import LocalSettings
from logiflow.local.prometheus_config import (
    prometheus_config,
    targets_dir,
    write_prometheus_config,
)

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def test_one_job_reads_the_targets_folder(tmp_path: Path) -> None:
    settings = LocalSettings(state_dir=tmp_path, prometheus_scrape_interval_seconds=2)
    config = prometheus_config(settings)
    assert config["global"]["scrape_interval"] == "2s"
    (job,) = config["scrape_configs"]
    (sd,) = job["file_sd_configs"]
    assert sd["files"] == [str(targets_dir(settings) / "*.json")]


def test_promtool_accepts_the_config_and_a_target_file(tmp_path: Path) -> None:
    settings = LocalSettings(state_dir=tmp_path)
    path = write_prometheus_config(settings)
    target = targets_dir(settings) / "etl-1.json"
    target.write_text(json.dumps([{"targets": ["127.0.0.1:9108"], "labels": {"component": "etl"}}]))
    # Debian's prometheus package carries promtool; `make` installs it (never skipped).
    result = subprocess.run(
        [PROMTOOL, "check", "config", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
