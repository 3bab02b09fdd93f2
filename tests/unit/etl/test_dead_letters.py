"""Dead-letter documents from processed rows."""

from __future__ import annotations

import datetime as dt

from chispa import assert_df_equality
from pyspark.sql import SparkSession

from logiflow.etl import fields
from logiflow.etl.dead_letters import EVENT_KIND, to_dead_letter_documents

TS = dt.datetime(2026, 11, 24, 12, 0, 0)


def test_only_dead_letters_become_documents(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [
            ("id-1", "logs", 0, 41, TS, "garbage \ufffd", "dw==", "not a known format",
             fields.OUTCOME_DEAD_LETTER),
            ("id-2", "logs", 0, 42, TS, "fine line", None, None, fields.OUTCOME_INDEXED),
            ("id-3", "logs", 1, 7, TS, "x" * 10, None, None, fields.OUTCOME_DEAD_LETTER),
            ("id-4", "logs", 1, 8, TS, "/healthz", None, None, fields.OUTCOME_FILTERED),
        ],
        f"`{fields.DOC_ID}` string, `{fields.KAFKA_TOPIC}` string, `{fields.KAFKA_PARTITION}` int,"
        f" `{fields.KAFKA_OFFSET}` long, `{fields.KAFKA_TIMESTAMP}` timestamp,"
        f" `{fields.EVENT_ORIGINAL}` string, `{fields.EVENT_ORIGINAL_BASE64}` string,"
        f" `{fields.ERROR_MESSAGE}` string, `{fields.OUTCOME}` string",
    )
    expected = spark.createDataFrame(
        [
            ("id-1", TS, "pipeline_error", "garbage \ufffd", "not a known format", "dw==",
             "logs", 0, 41, TS),
            ("id-3", TS, "pipeline_error", "x" * 10, "unknown reason", None, "logs", 1, 7, TS),
        ],
        f"`{fields.DOC_ID}` string, `{fields.TIMESTAMP}` timestamp, `{EVENT_KIND}` string,"
        f" `{fields.EVENT_ORIGINAL}` string, `{fields.ERROR_MESSAGE}` string,"
        f" `{fields.EVENT_ORIGINAL_BASE64}` string, `{fields.KAFKA_TOPIC}` string,"
        f" `{fields.KAFKA_PARTITION}` int, `{fields.KAFKA_OFFSET}` long,"
        f" `{fields.KAFKA_TIMESTAMP}` timestamp",
    )
    # Sorted here: chispa's ignore_row_order sorts by bare (dotted) names, which Spark splits.
    actual = to_dead_letter_documents(df).orderBy(fields.col(fields.DOC_ID))
    assert_df_equality(actual, expected, ignore_nullable=True)
