"""Drop rules from config: matching events are marked filtered (and counted), not indexed.

A rule names any event column (an ECS path from ``fields``, or ``logiflow.extra.<key>`` for a
JSON key kept in the extra map) and an operation: ``equals``, ``in``, ``prefix``, ``suffix`` or
``regex`` (Java regex, partial match as ``rlike``). Values are compared as text, so
``status_code equals 200`` and ``equals "200"`` mean the same and a non-numeric value can never
make ANSI casting fail the query. Rows already dead-lettered are left alone; the first matching
rule wins and is recorded in ``_logiflow_filter_rule`` so filtered counts can be broken down.
Nothing is removed from the DataFrame here: the sinks pick rows by outcome, which is what makes
input = indexed + filtered + dead-lettered hold for every batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from logiflow.config import DropRule
from logiflow.contract import ecs
from logiflow.errors import ConfigError
from logiflow.etl.columns import col
from logiflow.etl.enrich_endpoint import check_java_regex

_EXTRA_PREFIX = ecs.EXTRA + "."


def filterable_fields() -> frozenset[str]:
    """Every event column a rule may name: the public names in the field contract."""
    return ecs.event_fields()


def _as_text(value: str | int | bool) -> str:
    if isinstance(value, bool):  # Spark renders booleans as true/false
        return "true" if value else "false"
    return str(value)


def _field_column(rule: DropRule) -> Column:
    if rule.field.startswith(_EXTRA_PREFIX) and len(rule.field) > len(_EXTRA_PREFIX):
        key = rule.field[len(_EXTRA_PREFIX) :]
        return F.try_element_at(col(ecs.EXTRA), F.lit(key))
    if rule.field not in filterable_fields():
        known = ", ".join(sorted(filterable_fields()))
        raise ConfigError(
            f"filter.drop rule {rule.name!r}: unknown field {rule.field!r}; use one of {known} "
            f"or {ecs.EXTRA}.<key>"
        )
    return col(rule.field)


def rule_condition(rule: DropRule) -> Column:
    """True where ``rule`` matches; never null (a null field matches nothing)."""
    text = _field_column(rule).cast("string")
    value = rule.value
    if rule.op == "in":
        if not isinstance(value, list) or not value:
            raise ConfigError(f"filter.drop rule {rule.name!r}: op 'in' needs a non-empty list")
        condition = text.isin([_as_text(v) for v in value])
    else:
        if isinstance(value, list):
            raise ConfigError(
                f"filter.drop rule {rule.name!r}: op {rule.op!r} needs one value, not a list"
            )
        literal = _as_text(value)
        if rule.op == "equals":
            condition = text == F.lit(literal)
        elif rule.op == "prefix":
            condition = text.startswith(literal)
        elif rule.op == "suffix":
            condition = text.endswith(literal)
        else:
            check_java_regex(literal, f"filter.drop rule {rule.name!r}")
            condition = text.rlike(literal)
    return F.coalesce(condition, F.lit(False))


def apply_drop_rules(rules: Sequence[DropRule]) -> Callable[[DataFrame], DataFrame]:
    """Mark indexed rows matching a rule as filtered; set ``_logiflow_filter_rule``."""
    names = [rule.name for rule in rules]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(f"filter.drop: rule names must be unique, repeated: {duplicates}")
    conditions = [(rule.name, rule_condition(rule)) for rule in rules]

    def transform(df: DataFrame) -> DataFrame:
        if not conditions:
            return df.withColumn(ecs.FILTER_RULE, F.lit(None).cast("string"))
        indexed = col(ecs.OUTCOME) == F.lit(ecs.OUTCOME_INDEXED)
        matched: Column | None = None
        for name, condition in conditions:
            matched = (
                F.when(indexed & condition, F.lit(name))
                if matched is None
                else matched.when(indexed & condition, F.lit(name))
            )
        assert matched is not None
        return df.withColumn(ecs.FILTER_RULE, matched).withColumn(
            ecs.OUTCOME,
            F.when(col(ecs.FILTER_RULE).isNotNull(), F.lit(ecs.OUTCOME_FILTERED)).otherwise(
                col(ecs.OUTCOME)
            ),
        )

    return transform
