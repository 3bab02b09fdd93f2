"""clf_timestamp: the fast ISO rewrite agrees with Spark's pattern parser, and falls back to it."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from logiflow.etl.parse.convert_values import CLF_TIME_PATTERN, clf_timestamp

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _clf(moment: dt.datetime, offset_minutes: int) -> str:
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return (
        f"{moment.day:02d}/{MONTHS[moment.month - 1]}/{moment.year:04d}:"
        f"{moment:%H:%M:%S} {sign}{hours:02d}{minutes:02d}"
    )


def _both(spark: SparkSession, texts: list[str | None]) -> list[tuple[object, object]]:
    frame = spark.createDataFrame([(t,) for t in texts], "t string")
    rows = frame.select(
        clf_timestamp(F.col("t")).alias("fast"),
        F.try_to_timestamp(F.col("t"), F.lit(CLF_TIME_PATTERN)).alias("pattern"),
    ).collect()
    return [(row["fast"], row["pattern"]) for row in rows]


def test_agrees_with_the_pattern_parser_on_random_times(spark: SparkSession) -> None:
    rng = random.Random(2026)
    start = dt.datetime(1990, 1, 1)
    texts = [
        _clf(
            start + dt.timedelta(seconds=rng.randrange(60 * 365 * 24 * 3600)),
            rng.choice([-720, -330, -300, 0, 60, 330, 345, 840]),
        )
        for _ in range(500)
    ]
    results = _both(spark, texts)
    assert all(fast is not None for fast, _ in results)
    assert [fast for fast, _ in results] == [pattern for _, pattern in results]


def test_offsets_are_converted_to_utc(spark: SparkSession) -> None:
    [(fast, _)] = _both(spark, ["24/Nov/2026:22:04:15 +0530"])
    assert fast == dt.datetime(2026, 11, 24, 16, 34, 15)


@pytest.mark.parametrize(
    "text",
    [
        "24/Feb/2026:22:04:15 +0000",  # canonical
        "4/Feb/2026:22:04:15 +0000",  # one-digit day: not the 26-character form
        "24/Foo/2026:22:04:15 +0000",  # not a month
        "24-Feb-2026:22:04:15 +0000",  # wrong separators, right width
        "30/Feb/2026:22:04:15 +0000",  # no such day
        "24/Feb/2026:25:04:15 +0000",  # no such hour
        "24/Feb/2026:22:04:15 +9999",  # no such offset
        "",
        None,
    ],
)
def test_other_inputs_give_what_the_pattern_parser_gives(
    spark: SparkSession, text: str | None
) -> None:
    [(fast, pattern)] = _both(spark, [text])
    assert fast == pattern
