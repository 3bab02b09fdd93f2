"""Turns raw Kafka records into one text line per row, with their coordinates and document id.

This is the first transform of the ETL. It never drops a record: lines that cannot be parsed at
all (empty, longer than the configured cap) are marked as dead letters here, with the whole line
kept, and every later transform passes them through untouched.

Invalid UTF-8 is not fatal: the line is repaired (each bad sequence becomes U+FFFD) and parsed,
and the exact bytes the sender wrote are kept base64-encoded in ``event.original_base64``.

Of the headers ``logiflow ship`` writes, three are read: ``log.file.path`` (into the ECS field
of the same name, as Filebeat sets it); ``logiflow.source.id``, the line's source identity
(``contract.kafka_records``), which names the document; and ``logiflow.truncated.from_bytes``,
which marks the start of a line too long for Kafka (the shipper keeps the whole line aside):
such a record is dead-lettered with that reason.

Document id (``_logiflow_id``, the Elasticsearch ``_id`` of the event or dead letter):

- with a source identity: the first 32 hex digits (128 bits) of the SHA-256 of
  ``<topic>|<key>|<source id>``. A line the shipper sends again after a crash (a new Kafka
  record) gets the same id and overwrites its first copy.
- without one (Fluent Bit, kcat, replayed dead letters): ``<topic>-<partition>-<offset>``, the
  Kafka coordinates, which a batch replayed after an ETL crash reads again unchanged.

Host and service are in the record key too (``etl.enrich_origin``), which kcat and Fluent Bit
can set as well, so their headers are not read. Records without headers (or a source without
``includeHeaders``) get a null path and the coordinate id, and are otherwise decoded exactly
alike. The cost of reading the path header is below what we can measure:
``tests/benchmarks/bench_parse_enrich.py --headers`` (200,000 lines, local[2], best of 5
interleaved runs) gave 350,877 lines per CPU-second for decode with and without the shipper's
three headers, and 35,907 vs 33,003 for decode + parse (noise on a shared machine). The Kafka
source's own copy of the headers into each row is not in that figure; it is about 60 bytes per
record beside a line of about 200.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from logiflow.contract import ecs
from logiflow.contract.kafka_records import (
    HEADER_PATH,
    HEADER_SOURCE_ID,
    HEADER_TRUNCATED_FROM_BYTES,
    SOURCE_ID_HEX_DIGITS,
)
from logiflow.etl.columns import col

_RAW = "_lf_raw_line"
_VALID = "_lf_valid_line"
_SOURCE_ID = "_lf_source_id"
_TRUNCATED_FROM = "_lf_truncated_from"


def _strip_line_break(line: Column) -> Column:
    # Most records carry no line break; the regex runs only for those that do (measured: the
    # two-argument rtrim costs more than decoding the rest of the record).
    ends_with_break = line.endswith("\n") | line.endswith("\r")
    return F.when(ends_with_break, F.regexp_replace(line, F.lit("[\r\n]+$"), F.lit(""))).otherwise(
        line
    )


def _header(df: DataFrame, name: str) -> Column:
    """The first header ``name`` of each record as text; null without it (or without headers)."""
    if "headers" not in df.columns:  # the source's includeHeaders off, or a test's frame
        return F.lit(None).cast("string")
    headers = F.col("headers")
    # array_position and get stay in generated code, unlike a filter() lambda; and
    # map_from_entries would fail on a header name repeated in one record, which Kafka allows.
    position = F.array_position(headers.getField("key"), F.lit(name))
    value = F.get(headers.getField("value"), position - F.lit(1))
    return F.make_valid_utf8(value.cast("string"))


def _document_id(source_id: Column) -> Column:
    """The id from the source identity when the record has one, else the Kafka coordinates."""
    coordinates = F.concat_ws(
        "-",
        col(ecs.KAFKA_TOPIC),
        col(ecs.KAFKA_PARTITION).cast("string"),
        col(ecs.KAFKA_OFFSET).cast("string"),
    )
    # contract.kafka_records.source_document_id, in Spark (the audit uses that one).
    from_source = F.substring(
        F.sha2(F.concat_ws("|", col(ecs.KAFKA_TOPIC), col(ecs.KAFKA_KEY), source_id), 256),
        1,
        SOURCE_ID_HEX_DIGITS,
    )
    return F.when(source_id.isNotNull(), from_source).otherwise(coordinates)


def _error(raw: Column, max_line_bytes: int, truncated_from: Column) -> Column:
    return (
        # An empty comparison, not length(): length counts the characters of the whole line.
        F.when(raw.isNull() | (F.trim(raw) == F.lit("")), F.lit("empty line"))
        .when(
            truncated_from.isNotNull(),
            F.concat(
                F.lit("line of "),
                truncated_from,
                F.lit(
                    " bytes exceeds the shipper's ship.max_line_bytes: this is its start, the "
                    "whole line is in the shipper's reject file"
                ),
            ),
        )
        .when(
            F.octet_length(raw) > max_line_bytes,
            F.lit(f"line exceeds {max_line_bytes} bytes"),
        )
    )


def decode_kafka_records(max_line_bytes: int) -> Callable[[DataFrame], DataFrame]:
    """Kafka source rows (key, value, topic, partition, offset, timestamp, headers if read, ...)
    -> one line each.

    Output columns, in order: kafka.topic, kafka.partition, kafka.offset, kafka.key,
    kafka.timestamp, log.file.path (the header, null without it), _logiflow_id (see the
    module doc), event.original, event.original_base64 (only when the bytes
    were not valid UTF-8), error.message and _logiflow_outcome (dead_letter for empty and
    over-long lines, else null).
    """

    def transform(df: DataFrame) -> DataFrame:
        # Materialised once: it is read by the length check, the repair and the UTF-8 test.
        staged = df.select(
            F.col("topic").alias(ecs.KAFKA_TOPIC),
            F.col("partition").alias(ecs.KAFKA_PARTITION),
            F.col("offset").alias(ecs.KAFKA_OFFSET),
            F.make_valid_utf8(F.col("key").cast("string")).alias(ecs.KAFKA_KEY),
            F.col("timestamp").alias(ecs.KAFKA_TIMESTAMP),
            _header(df, HEADER_PATH).alias(ecs.LOG_FILE_PATH),
            _header(df, HEADER_SOURCE_ID).alias(_SOURCE_ID),
            _header(df, HEADER_TRUNCATED_FROM_BYTES).alias(_TRUNCATED_FROM),
            F.col("value"),
            _strip_line_break(F.col("value").cast("string")).alias(_RAW),
        )
        raw = F.col(_RAW)
        # Repaired once; "repair changed it" is the validity test (cheaper than a second scan).
        staged = staged.withColumn(_VALID, F.make_valid_utf8(raw))
        repaired = F.col(_VALID)
        error = _error(raw, max_line_bytes, F.col(_TRUNCATED_FROM))
        return staged.select(
            col(ecs.KAFKA_TOPIC),
            col(ecs.KAFKA_PARTITION),
            col(ecs.KAFKA_OFFSET),
            col(ecs.KAFKA_KEY),
            col(ecs.KAFKA_TIMESTAMP),
            col(ecs.LOG_FILE_PATH),
            _document_id(F.col(_SOURCE_ID)).alias(ecs.DOC_ID),
            F.coalesce(repaired, F.lit("")).alias(ecs.EVENT_ORIGINAL),
            # Spark's base64 wraps lines MIME-style; one unbroken string is easier to decode.
            F.when(
                repaired != raw,
                F.replace(F.base64(F.col("value")), F.lit("\r\n"), F.lit("")),
            ).alias(ecs.EVENT_ORIGINAL_BASE64),
            error.alias(ecs.ERROR_MESSAGE),
            F.when(error.isNotNull(), F.lit(ecs.OUTCOME_DEAD_LETTER))
            .otherwise(F.lit(None).cast("string"))
            .alias(ecs.OUTCOME),
        )

    return transform
