"""Helpers for the parsing tests: Kafka-shaped input frames and one-call decode+parse."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession

from logiflow.config import ParseSettings
from logiflow.etl.decode_records import decode_kafka_records
from logiflow.etl.parse import parse_lines

CORPUS = Path(__file__).resolve().parents[2] / "data" / "corpus"
KAFKA_SCHEMA = (
    "key binary, value binary, topic string, partition int, offset long, "
    "timestamp timestamp, timestampType int"
)
KAFKA_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)

Line = bytes | str | None
KafkaFrame = Callable[..., DataFrame]
ParseRows = Callable[..., list[dict[str, Any]]]


def _as_bytes(line: Line) -> bytes | None:
    return line.encode("utf-8") if isinstance(line, str) else line


@pytest.fixture(scope="session")
def kafka_frame(spark: SparkSession) -> KafkaFrame:
    """Rows as Spark's Kafka source delivers them; offsets are the positions in ``lines``."""

    def build(
        lines: Sequence[Line],
        topic: str = "logs",
        topics: Sequence[str] | None = None,
        key: bytes | None = None,
        partition: int = 0,
        first_offset: int = 0,
    ) -> DataFrame:
        rows = [
            (
                key,
                _as_bytes(line),
                topics[i] if topics else topic,
                partition,
                first_offset + i,
                KAFKA_TIME,
                0,
            )
            for i, line in enumerate(lines)
        ]
        return spark.createDataFrame(rows, KAFKA_SCHEMA)

    return build


@pytest.fixture(scope="session")
def parse_rows(kafka_frame: KafkaFrame) -> ParseRows:
    """Decode and parse ``lines``; one dict per input line, in input order."""

    def run(
        lines: Sequence[Line],
        settings: ParseSettings | None = None,
        topics: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        settings = settings or ParseSettings()
        df = (
            kafka_frame(lines, topics=topics)
            .transform(decode_kafka_records(settings.max_line_bytes))
            .transform(parse_lines(settings))
        )
        rows = sorted(df.collect(), key=lambda r: r["kafka.offset"])
        return [r.asDict() for r in rows]

    return run
