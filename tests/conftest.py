"""Session-wide set-up: a clean config environment and one local SparkSession for the run.

Tests never read the developer's own ``LOGIFLOW_*`` configuration: ``pytest_configure`` drops
the config model's variables from the environment before anything loads a config, so a
``LOGIFLOW_KAFKA__BOOTSTRAP_SERVERS`` left in a shell cannot point a test (or the ``logiflow``
subprocesses tests start) at another cluster. Tests that need such variables set them.

The session carries the Kafka connector jars from the start (``getOrCreate`` cannot add jars
later), so unit and integration tests share it; the jars come from the artifact cache
(``logiflow.local.artifacts``), fetched from Maven Central on first use.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping

import pytest
from pyspark.sql import SparkSession

from logiflow.config import CONFIG_ENV_VAR, LogiflowConfig, SparkSettings, load_config
from logiflow.local.artifacts import connector_jars
from logiflow.spark_session import create_spark_session


def config_environment_variables(environ: Mapping[str, str]) -> list[str]:
    """The variables the config model would read: LOGIFLOW_CONFIG and LOGIFLOW_<SECTION>__*."""
    sections = tuple(f"LOGIFLOW_{name.upper()}__" for name in LogiflowConfig.model_fields)
    return [key for key in environ if key == CONFIG_ENV_VAR or key.startswith(sections)]


def pytest_configure(config: pytest.Config) -> None:
    for key in config_environment_variables(os.environ):
        del os.environ[key]


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    settings = SparkSettings(
        master="local[2]",
        app_name="logiflow-tests",
        shuffle_partitions=2,
        conf={"spark.ui.enabled": "false", "spark.driver.memory": "2g"},
    )
    session = create_spark_session(settings, jars=connector_jars(load_config().local))
    yield session
    session.stop()
