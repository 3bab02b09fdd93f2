"""Drop rules: each op, first match wins, dead letters untouched, config errors at build time."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from logiflow.config import DropRule, FilterSettings
from logiflow.contract import ecs
from logiflow.errors import ConfigError
from logiflow.etl.columns import col
from logiflow.etl.filter_rules import apply_drop_rules, rule_condition

INDEXED = ecs.OUTCOME_INDEXED
FILTERED = ecs.OUTCOME_FILTERED
DEAD = ecs.OUTCOME_DEAD_LETTER

SCHEMA = (
    f"`{ecs.URL_PATH}` string, `{ecs.HTTP_RESPONSE_STATUS_CODE}` int, "
    f"`{ecs.IS_BOT}` boolean, `{ecs.EXTRA}` map<string,string>, "
    f"`{ecs.OUTCOME}` string"
)


def events(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(
        [
            ("/healthz", 200, False, None, INDEXED),
            ("/static/app.js", 200, False, None, INDEXED),
            ("/img/logo.PNG", 304, False, None, INDEXED),
            ("/api/orders", 200, True, None, INDEXED),
            ("/api/orders", 201, False, {"tenant": "test"}, INDEXED),
            ("/api/orders", 500, False, {"tenant": "acme"}, INDEXED),
            ("/healthz", None, None, None, DEAD),
            (None, None, None, None, INDEXED),
        ],
        SCHEMA,
    )


RULES = [
    DropRule(name="health", field=ecs.URL_PATH, op="in", value=["/healthz", "/readyz"]),
    DropRule(name="static", field=ecs.URL_PATH, op="prefix", value="/static/"),
    DropRule(name="images", field=ecs.URL_PATH, op="regex", value=r"(?i)\.(png|jpe?g|gif)$"),
    DropRule(name="bots", field=ecs.IS_BOT, op="equals", value=True),
    DropRule(name="test-tenant", field="logiflow.extra.tenant", op="equals", value="test"),
    DropRule(name="also-health", field=ecs.URL_PATH, op="suffix", value="healthz"),
]


def test_each_op_and_first_match_wins(spark: SparkSession) -> None:
    actual = (
        events(spark)
        .transform(apply_drop_rules(RULES))
        .select(
            col(ecs.OUTCOME).alias("outcome"),
            col(ecs.FILTER_RULE).alias("rule"),
        )
    )
    expected = spark.createDataFrame(
        [
            (FILTERED, "health"),
            (FILTERED, "static"),
            (FILTERED, "images"),
            (FILTERED, "bots"),
            (FILTERED, "test-tenant"),
            (INDEXED, None),
            (DEAD, None),  # dead letters keep their outcome even when a rule would match
            (INDEXED, None),  # null fields match nothing
        ],
        "outcome string, rule string",
    )
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_numbers_compare_as_text(spark: SparkSession) -> None:
    df = spark.createDataFrame([(500, "yes"), (200, "no"), (None, "no")], "s int, expected string")
    for value in (500, "500"):
        rule = DropRule(name="r", field=ecs.HTTP_RESPONSE_STATUS_CODE, op="equals", value=value)
        got = (
            df.withColumnRenamed("s", ecs.HTTP_RESPONSE_STATUS_CODE)
            .select(rule_condition(rule).alias("m"), "expected")
            .collect()
        )
        assert [row["m"] for row in got] == [row["expected"] == "yes" for row in got]


def test_no_rules_changes_nothing(spark: SparkSession) -> None:
    df = events(spark)
    out = df.transform(apply_drop_rules(FilterSettings().drop))
    assert out.where(col(ecs.OUTCOME) == FILTERED).count() == 0
    assert out.where(col(ecs.FILTER_RULE).isNotNull()).count() == 0


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (DropRule(name="typo", field="url.pth", op="equals", value="/x"), "'typo'.*'url.pth'"),
        (DropRule(name="bad-in", field=ecs.URL_PATH, op="in", value="/x"), "needs a non-empty"),
        (DropRule(name="bad-eq", field=ecs.URL_PATH, op="equals", value=["/x"]), "one value"),
        (DropRule(name="bad-re", field=ecs.URL_PATH, op="regex", value="(unclosed"), "regex"),
        (DropRule(name="internal", field=ecs.OUTCOME, op="equals", value="x"), "unknown"),
    ],
)
def test_config_errors_at_build_time(rule: DropRule, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        apply_drop_rules([rule])


def test_duplicate_rule_names_rejected() -> None:
    rule = DropRule(name="same", field=ecs.URL_PATH, op="equals", value="/x")
    with pytest.raises(ConfigError, match="unique"):
        apply_drop_rules([rule, rule])
