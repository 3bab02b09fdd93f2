"""Status class and error flag."""

from __future__ import annotations

from chispa import assert_column_equality
from pyspark.sql import DataFrame, SparkSession

from logiflow.contract import ecs
from logiflow.etl.columns import col
from logiflow.etl.enrich_status import enrich_status


def assert_field(df: DataFrame, name: str, expected: str) -> None:
    """chispa on a dotted ECS column (chispa selects by plain name, which Spark splits on dots)."""
    picked = df.select(col(name).alias("actual"), expected)
    assert_column_equality(picked, "actual", expected)


def test_status_class_and_error_flag(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [
            (200, "2xx", False),
            (204, "2xx", False),
            (301, "3xx", False),
            (399, "3xx", False),
            (400, "4xx", True),
            (404, "4xx", True),
            (499, "4xx", True),
            (500, "5xx", True),
            (503, "5xx", True),
            (101, "1xx", False),
            (None, None, None),
            (999, None, True),
        ],
        f"`{ecs.HTTP_RESPONSE_STATUS_CODE}` int, expected_class string, expected_error boolean",
    ).transform(enrich_status())
    assert_field(df, ecs.STATUS_CLASS, "expected_class")
    assert_field(df, ecs.IS_ERROR, "expected_error")
