"""Dead-letter documents from processed rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from logiflow.config import LogiflowConfig
from logiflow.contract import ecs
from logiflow.contract.kafka_records import (
    HEADER_ERROR_MESSAGE,
    HEADER_SOURCE_OFFSET,
    HEADER_SOURCE_PARTITION,
    HEADER_SOURCE_TOPIC,
)
from logiflow.etl.columns import col
from logiflow.etl.dead_letters import (
    mark_rejected,
    to_dead_letter_documents,
    to_dead_letter_records,
)
from logiflow.etl.pipeline import process_records, select_dead_letter_records

KafkaFrame = Callable[..., DataFrame]

TS = dt.datetime(2026, 11, 24, 12, 0, 0)


def test_only_dead_letters_become_documents(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [
            (
                "id-1",
                "logs",
                0,
                41,
                TS,
                "garbage \ufffd",
                "dw==",
                "not a known format",
                ecs.OUTCOME_DEAD_LETTER,
            ),
            ("id-2", "logs", 0, 42, TS, "fine line", None, None, ecs.OUTCOME_INDEXED),
            ("id-3", "logs", 1, 7, TS, "x" * 10, None, None, ecs.OUTCOME_DEAD_LETTER),
            ("id-4", "logs", 1, 8, TS, "/healthz", None, None, ecs.OUTCOME_FILTERED),
        ],
        f"`{ecs.DOC_ID}` string, `{ecs.KAFKA_TOPIC}` string, `{ecs.KAFKA_PARTITION}` int,"
        f" `{ecs.KAFKA_OFFSET}` long, `{ecs.KAFKA_TIMESTAMP}` timestamp,"
        f" `{ecs.EVENT_ORIGINAL}` string, `{ecs.EVENT_ORIGINAL_BASE64}` string,"
        f" `{ecs.ERROR_MESSAGE}` string, `{ecs.OUTCOME}` string",
    )
    expected = spark.createDataFrame(
        [
            (
                "id-1",
                TS,
                "pipeline_error",
                "garbage \ufffd",
                "not a known format",
                "dw==",
                "logs",
                0,
                41,
                TS,
            ),
            ("id-3", TS, "pipeline_error", "x" * 10, "unknown reason", None, "logs", 1, 7, TS),
        ],
        f"`{ecs.DOC_ID}` string, `{ecs.TIMESTAMP}` timestamp, `{ecs.EVENT_KIND}` string,"
        f" `{ecs.EVENT_ORIGINAL}` string, `{ecs.ERROR_MESSAGE}` string,"
        f" `{ecs.EVENT_ORIGINAL_BASE64}` string, `{ecs.KAFKA_TOPIC}` string,"
        f" `{ecs.KAFKA_PARTITION}` int, `{ecs.KAFKA_OFFSET}` long,"
        f" `{ecs.KAFKA_TIMESTAMP}` timestamp",
    )
    # Sorted here: chispa's ignore_row_order sorts by bare (dotted) names, which Spark splits.
    actual = to_dead_letter_documents(df).orderBy(col(ecs.DOC_ID))
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_dead_letter_records_carry_the_exact_bytes_reason_and_source(
    kafka_frame: KafkaFrame,
) -> None:
    lines = [
        b"\xff\xfe not utf-8 at all",  # not UTF-8: the original bytes, not the repaired text
        b"a line no parser knows\n",  # the trailing line break is not part of the line
        b'127.0.0.1 - - [24/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8.5"',
    ]
    frame = kafka_frame(lines, topic="edge-logs", key=b"web-1/nginx", partition=3, first_offset=40)
    processed = frame.transform(process_records(LogiflowConfig()))

    records = to_dead_letter_records(processed).orderBy("value").collect()

    assert [bytes(r["value"]) for r in records] == [b"a line no parser knows", lines[0]]
    assert {bytes(r["key"]) for r in records} == {b"web-1/nginx"}
    headers = [{h["key"]: bytes(h["value"]).decode() for h in r["headers"]} for r in records]
    assert [h[HEADER_SOURCE_OFFSET] for h in headers] == ["41", "40"]
    for h in headers:
        assert h[HEADER_SOURCE_TOPIC] == "edge-logs"
        assert h[HEADER_SOURCE_PARTITION] == "3"
        assert h[HEADER_ERROR_MESSAGE]  # the parser's reason, whatever its words


def test_dead_letter_records_without_key(kafka_frame: KafkaFrame) -> None:
    processed = kafka_frame([b"garbage"]).transform(process_records(LogiflowConfig()))
    [record] = to_dead_letter_records(processed).collect()
    assert record["key"] is None and bytes(record["value"]) == b"garbage"


def test_refused_events_join_the_dead_letter_records(
    spark: SparkSession, kafka_frame: KafkaFrame
) -> None:
    lines = [
        b'10.0.0.1 - - [24/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl/8.5"',
        b'10.0.0.2 - - [24/Nov/2026:10:00:01 +0000] "GET /b HTTP/1.1" 200 5 "-" "curl/8.5"',
        b"garbage",
    ]
    processed = kafka_frame(lines, topic="logs").transform(process_records(LogiflowConfig()))
    refused = spark.createDataFrame(
        [("logs-0-1", "rejected by Elasticsearch (400): mapper_parsing_exception")],
        f"`{ecs.DOC_ID}` string, `{ecs.ERROR_MESSAGE}` string",
    )

    marked = mark_rejected(processed, refused).collect()
    assert [r[ecs.DOC_ID] for r in marked] == ["logs-0-1"]
    assert marked[0][ecs.OUTCOME] == ecs.OUTCOME_DEAD_LETTER
    assert marked[0][ecs.ERROR_MESSAGE].startswith("rejected by Elasticsearch")
    assert marked[0][ecs.URL_PATH] == "/b"  # the rest of the event is untouched

    records = select_dead_letter_records(processed, refused).collect()
    by_value = {bytes(r["value"]): r for r in records}
    assert set(by_value) == {lines[1], b"garbage"}
    headers = {h["key"]: bytes(h["value"]).decode() for h in by_value[lines[1]]["headers"]}
    assert headers[HEADER_ERROR_MESSAGE].startswith("rejected by Elasticsearch (400)")
    assert headers[HEADER_SOURCE_OFFSET] == "1"
