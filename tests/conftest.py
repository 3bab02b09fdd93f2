"""Session-wide fixtures: one local SparkSession for the whole test run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pyspark.sql import SparkSession

from logiflow.config import SparkSettings
from logiflow.spark_session import create_spark_session


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    settings = SparkSettings(
        master="local[2]",
        app_name="logiflow-tests",
        shuffle_partitions=2,
        conf={"spark.ui.enabled": "false", "spark.driver.memory": "2g"},
    )
    session = create_spark_session(settings)
    yield session
    session.stop()
