"""decode_kafka_records: one line per Kafka record, coordinates, ids and early dead letters."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Callable

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from logiflow.contract import ecs
from logiflow.contract.kafka_records import (
    HEADER_HOST,
    HEADER_PATH,
    HEADER_SERVICE,
    HEADER_SOURCE_ID,
    HEADER_TRUNCATED_FROM_BYTES,
    source_document_id,
)
from logiflow.etl.columns import col
from logiflow.etl.decode_records import decode_kafka_records

KafkaFrame = Callable[..., DataFrame]
KAFKA_TIME = dt.datetime(2026, 1, 1)

OUT = [
    ecs.KAFKA_TOPIC,
    ecs.KAFKA_PARTITION,
    ecs.KAFKA_OFFSET,
    ecs.KAFKA_KEY,
    ecs.KAFKA_TIMESTAMP,
    ecs.LOG_FILE_PATH,
    ecs.DOC_ID,
    ecs.EVENT_ORIGINAL,
    ecs.EVENT_ORIGINAL_BASE64,
    ecs.ERROR_MESSAGE,
    ecs.OUTCOME,
]


def test_output_columns_and_coordinates(spark: SparkSession, kafka_frame: KafkaFrame) -> None:
    df = kafka_frame(["hello\r\n"], topic="edge", key=b"k1", partition=3, first_offset=42)
    out = df.transform(decode_kafka_records(100))
    expected = spark.createDataFrame(
        [("edge", 3, 42, "k1", KAFKA_TIME, None, "edge-3-42", "hello", None, None, None)],
        "`kafka.topic` string, `kafka.partition` int, `kafka.offset` long, `kafka.key` string, "
        "`kafka.timestamp` timestamp, `log.file.path` string, _logiflow_id string, "
        "`event.original` string, `event.original_base64` string, `error.message` string, "
        "_logiflow_outcome string",
    )
    assert out.columns == OUT
    assert_df_equality(out, expected, ignore_nullable=True)


def test_trailing_line_breaks_only_are_stripped(kafka_frame: KafkaFrame) -> None:
    lines = ["a\n", "a\r\n", "a\n\n", " a b ", "a\nb"]
    out = kafka_frame(lines).transform(decode_kafka_records(100))
    got = [r[ecs.EVENT_ORIGINAL] for r in out.orderBy(col(ecs.KAFKA_OFFSET)).collect()]
    assert got == ["a", "a", "a", " a b ", "a\nb"]


def test_empty_and_blank_lines_are_dead_letters(kafka_frame: KafkaFrame) -> None:
    out = kafka_frame([b"", b"\r\n", b"   ", None, b"x"]).transform(decode_kafka_records(100))
    rows = out.orderBy(col(ecs.KAFKA_OFFSET)).collect()
    assert [r[ecs.ERROR_MESSAGE] for r in rows] == ["empty line"] * 4 + [None]
    assert [r[ecs.OUTCOME] for r in rows] == [ecs.OUTCOME_DEAD_LETTER] * 4 + [None]
    # Always an indexable string, even for a null Kafka value.
    assert [r[ecs.EVENT_ORIGINAL] for r in rows] == ["", "", "   ", "", "x"]


def test_over_long_lines_are_dead_letters_and_kept_whole(kafka_frame: KafkaFrame) -> None:
    long_line = "x" * 101
    out = kafka_frame(["y" * 100, long_line, "é" * 51]).transform(decode_kafka_records(100))
    rows = out.orderBy(col(ecs.KAFKA_OFFSET)).collect()
    assert [r[ecs.ERROR_MESSAGE] for r in rows] == [
        None,
        "line exceeds 100 bytes",
        "line exceeds 100 bytes",
    ]
    assert rows[1][ecs.EVENT_ORIGINAL] == long_line
    assert rows[1][ecs.OUTCOME] == ecs.OUTCOME_DEAD_LETTER


def test_invalid_utf8_is_repaired_and_the_raw_bytes_kept(kafka_frame: KafkaFrame) -> None:
    raw = b'1.2.3.4 "caf\xe9 \xff\xfe" ok'
    out = kafka_frame([raw, "café"]).transform(decode_kafka_records(1000))
    bad, good = out.orderBy(col(ecs.KAFKA_OFFSET)).collect()
    assert bad[ecs.EVENT_ORIGINAL] == '1.2.3.4 "caf\ufffd \ufffd\ufffd" ok'
    assert base64.b64decode(bad[ecs.EVENT_ORIGINAL_BASE64]) == raw
    # Repaired, not rejected: the parser still gets the line.
    assert bad[ecs.ERROR_MESSAGE] is None
    assert good[ecs.EVENT_ORIGINAL] == "café"
    assert good[ecs.EVENT_ORIGINAL_BASE64] is None


def test_long_invalid_utf8_base64_is_one_unbroken_string(kafka_frame: KafkaFrame) -> None:
    raw = b"\xff" * 200
    out = kafka_frame([raw]).transform(decode_kafka_records(1000))
    encoded = out.collect()[0][ecs.EVENT_ORIGINAL_BASE64]
    assert "\n" not in encoded
    assert base64.b64decode(encoded) == raw


def test_invalid_key_bytes_do_not_break_the_record(kafka_frame: KafkaFrame) -> None:
    df = kafka_frame(["line"], topic="t", key=b"\xffk", first_offset=7)
    row = df.transform(decode_kafka_records(100)).collect()[0]
    assert row[ecs.KAFKA_KEY] == "\ufffdk"
    assert row[ecs.DOC_ID] == "t-0-7"


def test_log_file_path_comes_from_the_shippers_header(spark: SparkSession) -> None:
    # As Spark's Kafka source delivers records with includeHeaders: the shipper's three headers,
    # none (kcat, Fluent Bit), others only, the path twice (Kafka allows it; the first wins).
    headers = [
        [(HEADER_HOST, b"web-1"), (HEADER_SERVICE, b"nginx"), (HEADER_PATH, b"/var/log/a.log")],
        None,
        [],
        [("traceparent", b"00-ab-cd-01")],
        [(HEADER_PATH, b"/srv/caf\xc3\xa9.log"), (HEADER_PATH, b"/other.log")],
        [(HEADER_PATH, b"/bad/\xff.log")],
    ]
    df = spark.createDataFrame(
        [(b"web-1/nginx", b"line", "logs", 0, i, KAFKA_TIME, 0, h) for i, h in enumerate(headers)],
        "key binary, value binary, topic string, partition int, offset long, "
        "timestamp timestamp, timestampType int, headers array<struct<key string, value binary>>",
    )
    out = df.transform(decode_kafka_records(100))
    assert out.columns == OUT
    rows = out.orderBy(col(ecs.KAFKA_OFFSET)).collect()
    assert [r[ecs.LOG_FILE_PATH] for r in rows] == [
        "/var/log/a.log",
        None,
        None,
        None,
        "/srv/café.log",
        "/bad/\ufffd.log",
    ]
    assert {r[ecs.EVENT_ORIGINAL] for r in rows} == {"line"}
    assert {r[ecs.OUTCOME] for r in rows} == {None}


def test_the_id_comes_from_the_source_identity_when_the_record_has_one(
    spark: SparkSession,
) -> None:
    # The same line sent twice (a shipper resend: new offsets), the same identity on another
    # host and on another topic, and a record without one (kcat, Fluent Bit).
    source = b"file:0123456789abcdef0123456789abcdef:4096"
    rows = [
        (b"web-1/nginx", "logs", 0, 10, [(HEADER_SOURCE_ID, source)]),
        (b"web-1/nginx", "logs", 1, 99, [(HEADER_HOST, b"web-1"), (HEADER_SOURCE_ID, source)]),
        (b"web-2/nginx", "logs", 0, 11, [(HEADER_SOURCE_ID, source)]),
        (b"web-1/nginx", "other", 0, 10, [(HEADER_SOURCE_ID, source)]),
        (b"web-1/nginx", "logs", 0, 12, None),
    ]
    df = spark.createDataFrame(
        [(key, b"line", topic, p, o, KAFKA_TIME, 0, h) for key, topic, p, o, h in rows],
        "key binary, value binary, topic string, partition int, offset long, "
        "timestamp timestamp, timestampType int, headers array<struct<key string, value binary>>",
    )
    out = df.transform(decode_kafka_records(100))
    ids = [
        r[ecs.DOC_ID] for r in out.orderBy(col(ecs.KAFKA_TOPIC), col(ecs.KAFKA_OFFSET)).collect()
    ]
    expected_first = hashlib.sha256(b"logs|web-1/nginx|" + source).hexdigest()[:32]
    # Ordered by topic then offset: logs 10, 11, 12, 99, then other 10.
    assert ids[0] == expected_first
    assert ids[3] == expected_first  # the resend overwrites
    assert len({ids[0], ids[1], ids[4]}) == 3  # other host, other topic: other documents
    assert ids[2] == "logs-0-12"


def test_the_audit_computes_the_same_source_identity_ids(spark: SparkSession) -> None:
    """``logiflow audit`` recomputes these ids in Python (contract.kafka_records): both agree,
    with and without a record key."""
    rows = [
        (b"web-1/nginx", 0, b"file:0123456789abcdef0123456789abcdef:4096"),
        (None, 1, b"stream:run-7:12"),
        ("h\u00e9te/api".encode(), 2, b"file:ffff:0"),
    ]
    header = HEADER_SOURCE_ID
    records = [(k, b"line", "logs", 0, o, KAFKA_TIME, 0, [(header, s)]) for k, o, s in rows]
    df = spark.createDataFrame(
        records,
        "key binary, value binary, topic string, partition int, offset long, "
        "timestamp timestamp, timestampType int, headers array<struct<key string, value binary>>",
    )
    decoded = df.transform(decode_kafka_records(100)).collect()
    got = {r[ecs.KAFKA_OFFSET]: r[ecs.DOC_ID] for r in decoded}
    for key, offset, source in rows:
        text_key = key.decode() if key is not None else None
        assert got[offset] == source_document_id("logs", text_key, source.decode()), offset


def test_a_line_the_shipper_cut_is_a_dead_letter_saying_so(spark: SparkSession) -> None:
    # The shipper sends the first ship.max_line_bytes of a line too long for Kafka, flagged; it
    # is dead-lettered even when short enough to parse, and the reason names the whole length.
    flagged = [(HEADER_TRUNCATED_FROM_BYTES, b"1048576")]
    df = spark.createDataFrame(
        [(b"h/s", b"x" * 50, "logs", 0, 0, KAFKA_TIME, 0, flagged)],
        "key binary, value binary, topic string, partition int, offset long, "
        "timestamp timestamp, timestampType int, headers array<struct<key string, value binary>>",
    )
    row = df.transform(decode_kafka_records(100)).collect()[0]
    assert row[ecs.OUTCOME] == ecs.OUTCOME_DEAD_LETTER
    assert row[ecs.ERROR_MESSAGE].startswith("line of 1048576 bytes exceeds the shipper's ")
    assert row[ecs.EVENT_ORIGINAL] == "x" * 50
