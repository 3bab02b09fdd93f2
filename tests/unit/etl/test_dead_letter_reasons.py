"""etl.dead_letter_reasons: each message the parse and decode steps write has its class."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from logiflow.contract import metrics as m
from logiflow.etl.dead_letter_reasons import dead_letter_reason

MESSAGES = [
    ("empty line", m.REASON_EMPTY_LINE),
    (
        "line of 2000000 bytes exceeds the shipper's ship.max_line_bytes: ...",
        m.REASON_LINE_TOO_LONG,
    ),
    ("line exceeds 32768 bytes", m.REASON_LINE_TOO_LONG),
    ("line is not a JSON object", m.REASON_NOT_JSON_OBJECT),
    ("no format matched", m.REASON_NO_FORMAT_MATCHED),
    ("line does not match log format 'combined'", m.REASON_NO_FORMAT_MATCHED),
    ("unparseable timestamp '31/Foo/2026'", m.REASON_BAD_TIMESTAMP),
    ("status 'abc' is not a number", m.REASON_NOT_A_NUMBER),
    ("body bytes '12x' is not a number", m.REASON_NOT_A_NUMBER),
    ("something new", m.REASON_OTHER),
]


@pytest.mark.parametrize(("message", "reason"), MESSAGES)
def test_message_class(spark: SparkSession, message: str, reason: str) -> None:
    df = spark.createDataFrame([(message,)], "message string")
    (row,) = df.select(dead_letter_reason(F.col("message")).alias("r")).collect()
    assert row["r"] == reason


def test_every_class_is_a_label_value_of_the_contract() -> None:
    assert {reason for _, reason in MESSAGES} <= set(m.DEAD_LETTER_REASONS)
