"""What several integration modules share: the settings of a private pair of local servers, a
pipeline's own config on the shared servers, and shipping files with the real ``logiflow ship``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from logiflow.config import LogiflowConfig
from logiflow.io.topic_admin import create_topics
from logiflow.local.process import free_port
from logiflow.local.servers import LocalStack

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


def pipeline_config_named(local_stack: LocalStack, name: str, checkpoints: Path) -> LogiflowConfig:
    """The local stack's config with topics (created) and indices of ``name`` and checkpoints of
    its own: a pipeline that shares the servers and nothing else."""
    config = local_stack.config
    kafka = config.kafka.model_copy(
        update={"logs_topic": f"{name}-logs", "dead_letter_topic": f"{name}-dlq"}
    )
    create_topics(local_stack.config.kafka, [kafka.logs_topic, kafka.dead_letter_topic])
    return config.model_copy(
        update={
            "kafka": kafka,
            # The corpora carry fixed dates (24 Nov 2026) but reach Kafka now: bounded by the
            # default 30 days they would be re-dated once they age; tests of the bounds
            # (test_event_time_bounds.py) set them back to the defaults.
            "parse": config.parse.model_copy(update={"event_time_max_behind": "36500 days"}),
            "elasticsearch": config.elasticsearch.model_copy(update={"index_prefix": name}),
            "spark": config.spark.model_copy(update={"checkpoint_dir": str(checkpoints)}),
        }
    )


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
