"""Endpoint templating: ``url.path`` to ``logiflow.endpoint`` for "top endpoints" queries.

Each path segment that fully matches one of the configured rules (first match wins) is replaced
by that rule's replacement, so ``/users/123/orders/9f8e...`` becomes ``/users/{id}/orders/{id}``.
Runs entirely in the JVM (split, transform with a CASE per segment, array_join): no Python
round trip, and a segment can never be rewritten twice because each is judged once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from logiflow.config import EndpointRule
from logiflow.errors import ConfigError
from logiflow.etl import fields


def endpoint_column(path: Column, rules: Sequence[EndpointRule]) -> Column:
    """The endpoint template of ``path`` (null when the path is null)."""
    for rule in rules:
        try:
            re.compile(rule.pattern)
        except re.error as exc:
            raise ConfigError(
                f"enrich.endpoint_rules: pattern {rule.pattern!r} is not a valid regex: {exc}"
            ) from exc
    if not rules:
        return path

    def template(segment: Column) -> Column:
        rewritten: Column | None = None
        for rule in rules:
            matches = segment.rlike(f"^(?:{rule.pattern})$")
            rewritten = (
                F.when(matches, F.lit(rule.replacement))
                if rewritten is None
                else rewritten.when(matches, F.lit(rule.replacement))
            )
        assert rewritten is not None
        # Empty segments (leading, trailing and doubled slashes) are kept as they are.
        return F.when(segment == "", segment).otherwise(rewritten.otherwise(segment))

    return F.array_join(F.transform(F.split(path, "/"), template), "/")


def enrich_endpoint(rules: Sequence[EndpointRule]) -> Callable[[DataFrame], DataFrame]:
    """Add ``logiflow.endpoint`` from ``url.path`` using ``rules`` (see config defaults)."""
    expression = endpoint_column(fields.col(fields.URL_PATH), rules)

    def transform(df: DataFrame) -> DataFrame:
        return df.withColumn(fields.ENDPOINT, expression)

    return transform
