from __future__ import annotations

from chispa import assert_df_equality
from pyspark.sql import SparkSession

from logiflow.contract import ecs
from logiflow.etl.columns import col
from logiflow.etl.enrich_origin import fill_origin_from_key

SCHEMA = "`kafka.key` string, `host.name` string, `service.name` string"


def test_key_fills_missing_host_and_service_but_never_overrides_the_line(
    spark: SparkSession,
) -> None:
    df = spark.createDataFrame(
        [
            ("web-1/checkout", None, None),  # access line: everything from the key
            ("web-1/checkout", "api-7", "payments"),  # JSON line named both: it wins
            ("web-1/a/b", None, None),  # service may hold "/"
            ("no-slash", None, None),  # a foreign producer's key: not ours to split
            ("/", None, None),
            (None, None, None),
        ],
        SCHEMA,
    )
    expected = spark.createDataFrame(
        [
            ("web-1/checkout", "web-1", "checkout"),
            ("web-1/checkout", "api-7", "payments"),
            ("web-1/a/b", "web-1", "a/b"),
            ("no-slash", None, None),
            ("/", None, None),
            (None, None, None),
        ],
        SCHEMA,
    )
    result = df.transform(fill_origin_from_key()).select(
        col(ecs.KAFKA_KEY), col(ecs.HOST_NAME), col(ecs.SERVICE_NAME)
    )
    assert_df_equality(result, expected, ignore_nullable=True)
