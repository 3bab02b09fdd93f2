"""Geo enrichment from geoip2fast's bundled database (no network involved)."""

from __future__ import annotations

from chispa import assert_df_equality
from pyspark.sql import SparkSession

from logiflow.contract import ecs
from logiflow.etl.enrich_geo import country_of, enrich_geo

SCHEMA = f"`{ecs.SOURCE_IP}` string, `{ecs.CLIENT_IP}` string"
OUT_SCHEMA = (
    f"`{ecs.SOURCE_IP}` string, `{ecs.CLIENT_IP}` string, "
    f"`{ecs.SOURCE_GEO_COUNTRY_ISO_CODE}` string, `{ecs.SOURCE_GEO_COUNTRY_NAME}` string"
)


def test_country_of() -> None:
    assert country_of("8.8.8.8") == ("US", "United States")
    assert country_of("81.2.69.160") == ("GB", "United Kingdom")
    assert country_of("2a00:1450:4001::1") == ("DE", "Germany")
    assert country_of("10.1.2.3") == (None, None)  # private
    assert country_of("::1") == (None, None)
    assert country_of("not-an-ip") == (None, None)


def test_client_ip_preferred_over_source_ip(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [
            ("10.0.0.7", "81.2.69.160"),  # behind a proxy: the forwarded client counts
            ("8.8.8.8", None),
            ("10.0.0.7", None),
            (None, None),
            ("garbage", None),
        ],
        SCHEMA,
    )
    expected = spark.createDataFrame(
        [
            ("10.0.0.7", "81.2.69.160", "GB", "United Kingdom"),
            ("8.8.8.8", None, "US", "United States"),
            ("10.0.0.7", None, None, None),
            (None, None, None, None),
            ("garbage", None, None, None),
        ],
        OUT_SCHEMA,
    )
    assert_df_equality(df.transform(enrich_geo(True)), expected, ignore_nullable=True)


def test_disabled_adds_null_columns(spark: SparkSession) -> None:
    df = spark.createDataFrame([("8.8.8.8", None)], SCHEMA)
    expected = spark.createDataFrame([("8.8.8.8", None, None, None)], OUT_SCHEMA)
    assert_df_equality(df.transform(enrich_geo(False)), expected, ignore_nullable=True)
