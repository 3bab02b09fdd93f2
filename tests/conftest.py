"""Session-wide fixtures: one local SparkSession for the whole test run.

The session carries the Kafka connector jars from the start (``getOrCreate`` cannot add jars
later), so unit and integration tests share it; the jars come from the artifact cache
(``logiflow.local.artifacts``), fetched from Maven Central on first use.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pyspark.sql import SparkSession

from logiflow.config import SparkSettings, load_config
from logiflow.local.artifacts import connector_jars
from logiflow.spark_session import create_spark_session


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
