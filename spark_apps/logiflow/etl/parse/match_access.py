"""Stage 2, match access-log lines: every regex format's groups land in one array of slots.

Each compiled format (``log_format.CompiledFormat``) runs as ONE ``regexp_replace`` whose
replacement writes a sentinel, the format's number and its groups joined by ``SEP`` into the
positions of the shared ``SlotLayout``. A single ``split`` then gives every field, and the
same column expressions convert nginx, Apache and custom formats alike. Formats are tried in
order, each in its own projection, so a line is matched once by the first format that fits and
never re-evaluated (Spark does not share sub-expressions across the branches of a CASE).
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from logiflow.contract import ecs
from logiflow.etl.columns import col
from logiflow.etl.parse.choose_format import FormatPlan
from logiflow.etl.parse.log_format import CompiledFormat
from logiflow.etl.parse.slot_layout import SlotLayout
from logiflow.etl.parse.slots import SEP
from logiflow.etl.parse.work_columns import (
    ACCESS_MATCH,
    ACCESS_MATCHED,
    ACCESS_SLOTS,
    FORMAT_CHOICE,
    IS_JSON,
    work_col,
)


def is_matched(match: Column, line: Column) -> Column:
    """An unmatched regexp_replace returns the line itself; a match starts with SEP."""
    return match.startswith(SEP) & ~line.startswith(SEP)


def _try_format(
    df: DataFrame,
    *,
    line: Column,
    eligible: Column,
    fmt: CompiledFormat,
    number: int,
    layout: SlotLayout,
) -> DataFrame:
    """Try one format on the rows not matched yet (and eligible for it)."""
    current = F.col(ACCESS_MATCH)
    attempt = F.regexp_replace(line, F.lit(fmt.regex), F.lit(layout.replacement(fmt, number)))
    return df.withColumn(
        ACCESS_MATCH,
        F.when(is_matched(current, line), current).when(eligible, attempt).otherwise(current),
    )


def match_access_lines(plan: FormatPlan) -> Callable[[DataFrame], DataFrame]:
    """Adds ``ACCESS_MATCHED`` and ``ACCESS_SLOTS`` (the split match, null when none matched)."""

    def transform(df: DataFrame) -> DataFrame:
        line = col(ecs.EVENT_ORIGINAL)
        decoded = col(ecs.ERROR_MESSAGE).isNull()
        is_json = F.col(IS_JSON)
        choice = F.col(FORMAT_CHOICE)
        # One projection per format: each row runs regexes only until one matches.
        df = df.withColumn(ACCESS_MATCH, line)
        for number, name in enumerate(plan.tried):
            df = _try_format(
                df,
                line=line,
                eligible=decoded & ~is_json & choice.isin(*plan.choices_trying(name)),
                fmt=plan.formats[name],
                number=number,
                layout=plan.layout,
            )
        matched = is_matched(F.col(ACCESS_MATCH), line)
        return df.select(
            *[work_col(c) for c in df.columns if c != ACCESS_MATCH],
            matched.alias(ACCESS_MATCHED),
            F.when(matched, F.split(F.col(ACCESS_MATCH), SEP, -1)).alias(ACCESS_SLOTS),
        )

    return transform
