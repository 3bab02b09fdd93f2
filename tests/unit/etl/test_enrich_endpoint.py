"""Endpoint templating: the column expression, custom rules and config errors."""

from __future__ import annotations

import pytest
from chispa import assert_column_equality
from pyspark.sql import DataFrame, SparkSession

from logiflow.config import DEFAULT_ENDPOINT_RULES, EndpointRule
from logiflow.contract import ecs
from logiflow.errors import ConfigError
from logiflow.etl.columns import col
from logiflow.etl.enrich_endpoint import enrich_endpoint

CASES = [
    ("/users/123/orders/9f8e7d6c5b4a39281706f5e4d3c2b1a0", "/users/{id}/orders/{id}"),
    ("/api/v1/items/550e8400-e29b-41d4-a716-446655440000", "/api/v1/items/{id}"),
    ("/health", "/health"),
    ("/", "/"),
    ("/users/123/", "/users/{id}/"),
    ("/v2/users/abc123", "/v2/users/abc123"),  # short mixed segments are names, not ids
    ("/files/report-2024.pdf", "/files/report-2024.pdf"),
    ("/tokens/AbCdEfGhIjKlMnOpQrStUvWxYz_12", "/tokens/{id}"),
    ("//double//42", "//double//{id}"),
    ("/orders/12a", "/orders/12a"),  # partial matches do not count
    (None, None),
]


def assert_field(df: DataFrame, name: str, expected: str) -> None:
    """chispa on a dotted ECS column (chispa selects by plain name, which Spark splits on dots)."""
    picked = df.select(col(name).alias("actual"), expected)
    assert_column_equality(picked, "actual", expected)


def test_default_rules(spark: SparkSession) -> None:
    df = spark.createDataFrame(CASES, f"`{ecs.URL_PATH}` string, expected string").transform(
        enrich_endpoint(DEFAULT_ENDPOINT_RULES)
    )
    assert_field(df, ecs.ENDPOINT, "expected")


def test_custom_rules_first_match_wins(spark: SparkSession) -> None:
    rules = [
        EndpointRule(pattern=r"[0-9]{4}-[0-9]{2}-[0-9]{2}", replacement="{date}"),
        EndpointRule(pattern=r"[0-9]+", replacement="{n}"),
        EndpointRule(pattern=r"[0-9-]+", replacement="{never}"),
    ]
    df = spark.createDataFrame(
        [("/reports/2024-01-31/7", "/reports/{date}/{n}")],
        f"`{ecs.URL_PATH}` string, expected string",
    ).transform(enrich_endpoint(rules))
    assert_field(df, ecs.ENDPOINT, "expected")


def test_both_forms_agree(spark: SparkSession) -> None:
    # Same rules, once in single-regex form and once forced per segment (via a "." pattern).
    rules = [*DEFAULT_ENDPOINT_RULES, EndpointRule(pattern=r"v[0-9]\.[0-9]")]
    df = spark.createDataFrame(
        [(path, expected) for path, expected in CASES if path],
        f"`{ecs.URL_PATH}` string, expected string",
    ).transform(enrich_endpoint(rules))
    assert_field(df, ecs.ENDPOINT, "expected")
    spanning = [EndpointRule(pattern=".+")]  # may match "/": must still act per segment
    df = spark.createDataFrame(
        [("/a/b", "/{id}/{id}")], f"`{ecs.URL_PATH}` string, expected string"
    ).transform(enrich_endpoint(spanning))
    assert_field(df, ecs.ENDPOINT, "expected")


def test_bad_pattern_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a valid regex"):
        enrich_endpoint([EndpointRule(pattern="([0-9]+")])


def test_java_only_regex_syntax_is_accepted(spark: SparkSession) -> None:
    # \p{XDigit} is Java (and what Spark runs); Python's re rejects it.
    rules = [EndpointRule(pattern=r"\p{XDigit}{12,}", replacement="{hex}")]
    df = spark.createDataFrame(
        [("/blobs/0123456789abcdef", "/blobs/{hex}")],
        f"`{ecs.URL_PATH}` string, expected string",
    ).transform(enrich_endpoint(rules))
    assert_field(df, ecs.ENDPOINT, "expected")
