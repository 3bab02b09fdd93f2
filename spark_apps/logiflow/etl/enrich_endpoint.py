"""Endpoint templating: ``url.path`` to ``logiflow.endpoint`` for "top endpoints" queries.

Each path segment that fully matches one of the configured rules (first match wins) is replaced
by that rule's replacement, so ``/users/123/orders/9f8e...`` becomes ``/users/{id}/orders/{id}``.
Runs entirely in the JVM (no Python round trip), and a segment is judged once, so it can never
be rewritten twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from logiflow.config import EndpointRule
from logiflow.contract import ecs
from logiflow.errors import ConfigError
from logiflow.etl.columns import col


def check_java_regex(pattern: str, where: str) -> None:
    """Raise ConfigError unless ``pattern`` compiles as the Java regex Spark will run.

    A bad pattern must fail at start-up: inside the query it would fail every task. Python's
    ``re`` accepts nearly all patterns people write; what it rejects (``\\p{Alpha}``, ...) is
    asked of the JVM's own ``Pattern`` when a Spark session is up.
    """
    try:
        re.compile(pattern)
        return
    except re.error as exc:
        problem = str(exc)
    session = SparkSession.getActiveSession()
    jvm = getattr(session, "_jvm", None) if session is not None else None
    if jvm is not None:
        try:
            jvm.java.util.regex.Pattern.compile(pattern)
            return
        except Exception as exc:  # Py4JJavaError carrying PatternSyntaxException
            problem = str(exc).splitlines()[0] if str(exc) else problem
    raise ConfigError(f"{where}: {pattern!r} is not a valid regex: {problem}")


# Constructs that can match "/" and so could make one match span segments in the single regex.
_SLASH_CAPABLE = (
    ".",
    "/",
    "[^",
    "\\S",
    "\\W",
    "\\D",
    "\\H",
    "\\V",
    "\\P",
    "\\X",
    "\\R",
    "\\Q",
    "\\x",
    "\\u",
    "\\0",
    "\\p",
)


def _cannot_match_slash(pattern: str) -> bool:
    """Conservative: False for anything that might match a slash."""
    return not any(token in pattern for token in _SLASH_CAPABLE)


def _single_regex(path: Column, rules: Sequence[EndpointRule]) -> Column:
    # One regexp_replace over the whole path: each match is a slash plus a segment that one of
    # the rules matches entirely (the lookahead stops it at the next slash or the end).
    # Alternatives are tried in rule order at each segment, so the first matching rule wins.
    alternatives = "|".join(f"(?:{rule.pattern})" for rule in rules)
    replacement = "/" + rules[0].replacement.replace("\\", "\\\\").replace("$", "\\$")
    return F.regexp_replace(path, F.lit(f"/(?:{alternatives})(?=/|$)"), F.lit(replacement))


def _per_segment(path: Column, rules: Sequence[EndpointRule]) -> Column:
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


def endpoint_column(path: Column, rules: Sequence[EndpointRule]) -> Column:
    """The endpoint template of ``path`` (null when the path is null).

    When every rule has the same replacement and no pattern can match a slash (true of the
    defaults) this is a single ``regexp_replace``, clearly cheaper than judging segments one by
    one; other rule sets take the per-segment form (split, transform, array_join), which is
    exact whatever the patterns and replacements look like.
    """
    for rule in rules:
        check_java_regex(rule.pattern, "enrich.endpoint_rules")
    if not rules:
        return path
    same_replacement = len({rule.replacement for rule in rules}) == 1
    if same_replacement and all(_cannot_match_slash(rule.pattern) for rule in rules):
        return _single_regex(path, rules)
    return _per_segment(path, rules)


def enrich_endpoint(rules: Sequence[EndpointRule]) -> Callable[[DataFrame], DataFrame]:
    """Add ``logiflow.endpoint`` from ``url.path`` using ``rules`` (see config defaults)."""
    expression = endpoint_column(col(ecs.URL_PATH), rules)

    def transform(df: DataFrame) -> DataFrame:
        return df.withColumn(ecs.ENDPOINT, expression)

    return transform
