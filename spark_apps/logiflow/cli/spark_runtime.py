"""What the two Spark-running commands (``etl``, ``run``) add around the job on this machine.

They fetch the Kafka connector jars (and, with the archive, the s3a jars) into the local cache,
send Spark's and the JVM's own output to ``<local.state_dir>/logs/spark.log`` (one line on the
terminal says where), and fail with one clear line when the package was installed without its
``spark`` extra. Nothing here imports pyspark: the job is imported by the commands themselves,
once they run.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Literal

from rich.console import Console

from logiflow.config import LogiflowConfig
from logiflow.errors import ConfigError
from logiflow.local import artifacts

# Where the Kafka connector jars come from: "download" fetches them from Maven Central into the
# local cache (laptop, CI); "provided" means they are already on Spark's classpath (the cluster
# image bakes them into /opt/spark/jars).
ConnectorJars = Literal["download", "provided"]


def require_spark() -> None:
    """Raise a one-line error if pyspark is missing (e.g. in the shipper image)."""
    if importlib.util.find_spec("pyspark") is None:
        raise ConfigError(
            "this command runs Spark, which is not installed here: "
            "install LogiFlow with its spark extra (pip install 'logiflow[spark]')"
        )


def connector_jars(config: LogiflowConfig, source: ConnectorJars, console: Console) -> list[str]:
    """The jars to put on Spark's classpath: fetched into the local cache, or none (provided,
    or under ``spark-submit``: the SparkApplication's image has them, and its session is made)."""
    if source == "provided" or "PYSPARK_GATEWAY_PORT" in os.environ:
        return []
    jars = artifacts.connector_jars(config.local, console)
    if config.archive.enabled:
        jars += artifacts.s3a_jars(config.local, console)
    return jars


def with_local_archive(config: LogiflowConfig, console: Console) -> LogiflowConfig:
    """``config`` with the archive pointed at the local s3proxy when the archive is enabled
    without an endpoint and ``logiflow local up`` runs one for this state dir."""
    from logiflow.local.servers import LocalServers

    servers = LocalServers(config.local, console, archive=config.archive)
    if not servers.with_s3proxy or servers.s3proxy.running_pid() is None:
        return config
    return servers.apply_archive_to(config)


def spark_log_file(config: LogiflowConfig, console: Console) -> Path:
    """Where Spark logs during this command; says so on ``console``, once."""
    path = config.local.state_dir.resolve() / "logs" / "spark.log"
    console.print(f"Spark's log: {path}", highlight=False, soft_wrap=True)
    return path
