"""The system under test: local Kafka + Elasticsearch, and ``logiflow etl`` as its own process.

The ETL runs as a subprocess of the project's CLI with a YAML config file pointing at the
servers, so its CPU and memory are its own (a driver Python process, its JVM, which in local
mode is the driver and the executor at once, and the JVM's Python workers).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import yaml
from rich.console import Console

from logiflow.config import LogiflowConfig, load_config
from logiflow.io.topic_admin import ensure_pipeline_topics
from logiflow.local.process import free_port
from logiflow.local.servers import LocalServers

PREFIX = "bench-e2e"
# The same partition count `logiflow run` gives the logs topic.
TOPIC_PARTITIONS = 2


def start_servers(state_dir: Path) -> tuple[LocalServers, LogiflowConfig]:
    """Real Kafka and Elasticsearch on free ports, data under ``state_dir``; the topics made."""
    ports = {
        name: free_port() for name in ("kafka_port", "kafka_controller_port", "elasticsearch_port")
    }
    overrides = {"local": {"state_dir": str(state_dir), **ports}}
    config = load_config(overrides=overrides)
    servers = LocalServers(config.local, Console(stderr=True))
    servers.start(foreground=True)
    config = servers.apply_to(config)
    config = config.model_copy(
        update={
            "elasticsearch": config.elasticsearch.model_copy(update={"index_prefix": PREFIX}),
            "spark": config.spark.model_copy(
                update={"checkpoint_dir": str(state_dir / "checkpoints")}
            ),
        }
    )
    ensure_pipeline_topics(config, partitions=TOPIC_PARTITIONS)
    return servers, config


def etl_config_file(config: LogiflowConfig, path: Path, spark_conf: dict[str, str]) -> Path:
    """The settings that differ from the defaults, as the YAML file ``logiflow etl`` reads."""
    data: dict[str, Any] = {
        "kafka": {"bootstrap_servers": config.kafka.bootstrap_servers},
        "elasticsearch": {
            "hosts": config.elasticsearch.hosts,
            "index_prefix": config.elasticsearch.index_prefix,
        },
        "spark": {"checkpoint_dir": config.spark.checkpoint_dir, "conf": spark_conf},
        "local": {"state_dir": str(config.local.state_dir)},
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@dataclass
class EtlProcess:
    """``logiflow etl`` running continuously; its processes found through the process tree."""

    process: subprocess.Popen[bytes]
    output: Path

    @classmethod
    def start(cls, config_file: Path, output: Path) -> EtlProcess:
        env = {**os.environ, "LOGIFLOW_CONFIG": str(config_file)}
        logiflow = Path(sys.executable).with_name("logiflow")
        with output.open("wb") as sink:
            process = subprocess.Popen(
                [str(logiflow), "etl"], env=env, stdout=sink, stderr=subprocess.STDOUT
            )
        return cls(process, output)

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            tail = self.output.read_text(errors="replace")[-2000:]
            raise SystemExit(f"logiflow etl exited with {self.process.returncode}:\n{tail}")

    def jvm(self) -> psutil.Process | None:
        """The driver JVM (local mode: also the executor)."""
        children = psutil.Process(self.process.pid).children()
        return next((c for c in children if _name(c) == "java"), None)

    def python_workers(self, daemons_only: bool = False) -> list[psutil.Process]:
        """The Python worker daemons and (unless ``daemons_only``) the workers they fork."""
        jvm = self.jvm()
        if jvm is None:
            return []
        try:
            found = jvm.children(recursive=not daemons_only)
        except psutil.NoSuchProcess:
            return []
        return [p for p in found if _name(p).startswith("python")]

    def stop(self, timeout: float = 120.0) -> None:
        """SIGTERM: the job stops between batches and shuts its JVM down."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                for child in psutil.Process(self.process.pid).children(recursive=True):
                    child.kill()
                self.process.kill()
                self.process.wait()


def _name(process: psutil.Process) -> str:
    """The process's name, or "" if it has ended since it was listed (workers come and go)."""
    try:
        return process.name()
    except psutil.NoSuchProcess:
        return ""
