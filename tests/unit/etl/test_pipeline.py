"""The whole processing chain on Kafka-shaped rows: outcomes, selectors and accounting."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import DataFrame, SparkSession

from logiflow.config import DropRule, FilterSettings, LogiflowConfig
from logiflow.contract import ecs
from logiflow.contract import metrics as m
from logiflow.contract.offset_ranges import OffsetRange
from logiflow.errors import ConfigError
from logiflow.etl import pipeline
from logiflow.etl.aggregate_windows import AGG_REQUESTS, AGG_SCOPE
from logiflow.etl.bound_event_time import bound_event_time
from logiflow.etl.columns import col
from logiflow.ingest.generator import GeneratedLine, TrafficProfile, generate_lines

KAFKA_SCHEMA = (
    "key binary, value binary, topic string, partition int, offset long, timestamp timestamp, "
    "timestampType int"
)
KAFKA_TS = dt.datetime(2026, 1, 1, 0, 5)
DROP = [
    DropRule(name="health", field=ecs.URL_PATH, op="equals", value="/healthz"),
    DropRule(name="static", field=ecs.URL_PATH, op="regex", value=r"^/static/|\.(ico|txt)$"),
]


def processed_batch(config: LogiflowConfig) -> pipeline.Transform:
    """Kafka rows to a batch as the events writer keeps it: processed, event times bounded."""
    clock = KAFKA_TS + dt.timedelta(seconds=5)
    process, bound = pipeline.process_records(config), bound_event_time(config.parse, clock)
    return lambda df: df.transform(process).transform(bound)


def kafka_rows(spark: SparkSession, lines: list[bytes], partition: int = 0) -> DataFrame:
    rows = [
        (b"storefront", line, "logiflow-logs", partition, offset, KAFKA_TS, 0)
        for offset, line in enumerate(lines)
    ]
    return spark.createDataFrame(rows, KAFKA_SCHEMA)


@pytest.fixture(scope="module")
def corpus() -> list[GeneratedLine]:
    profile = TrafficProfile(malformed_share=0.03)
    return list(generate_lines(seed=11, count=800, profile=profile))


@pytest.fixture(scope="module")
def processed(spark: SparkSession, corpus: list[GeneratedLine]) -> DataFrame:
    lines = [g.line.encode() for g in corpus]
    # Edge cases the generator does not make: invalid UTF-8, an empty record, an over-long one.
    lines += [b"\xff\xfe not utf-8 at all", b"", b"x" * 40_000]
    config = LogiflowConfig(filter=FilterSettings(drop=DROP))
    return kafka_rows(spark, lines).transform(processed_batch(config)).cache()


def test_accounting_reconciles(processed: DataFrame, corpus: list[GeneratedLine]) -> None:
    counts = pipeline.outcome_counts(processed)
    assert sum(counts.values()) == len(corpus) + 3 == processed.count()
    malformed = sum(1 for g in corpus if g.format == "malformed")
    assert counts[ecs.OUTCOME_DEAD_LETTER] == malformed + 3
    expected_filtered = sum(
        1
        for g in corpus
        if g.path == "/healthz"
        or (g.path or "").startswith("/static/")
        or (g.path or "").endswith((".ico", ".txt"))
    )
    assert counts[ecs.OUTCOME_FILTERED] == expected_filtered > 0
    by_rule = pipeline.filtered_counts(processed)
    assert set(by_rule) == {"health", "static"}
    assert sum(by_rule.values()) == expected_filtered
    assert counts[ecs.OUTCOME_INDEXED] == len(corpus) - malformed - expected_filtered


def test_tally_names_the_offsets_each_partition_read(
    spark: SparkSession, processed: DataFrame
) -> None:
    counts = pipeline.outcome_counts(processed)
    total = sum(counts.values())
    other_partition = kafka_rows(spark, [b"not a log line", b"also not one"], partition=1)
    both = processed.unionByName(other_partition.transform(processed_batch(LogiflowConfig())))
    tally = pipeline.tally_batch(both)
    assert tally.event_time_out_of_bounds == tally.event_time_late == 0
    assert tally.offset_ranges == (
        OffsetRange("logiflow-logs", 0, 0, total - 1, total, counts[ecs.OUTCOME_FILTERED]),
        OffsetRange("logiflow-logs", 1, 0, 1, 2, 0),
    )
    assert tally.outcomes[ecs.OUTCOME_DEAD_LETTER] == counts[ecs.OUTCOME_DEAD_LETTER] + 2
    # Every dead letter has a reason class for the metrics; the two added matched no format.
    assert sum(tally.dead_letter_reasons.values()) == tally.outcomes[ecs.OUTCOME_DEAD_LETTER]
    assert tally.dead_letter_reasons[m.REASON_NO_FORMAT_MATCHED] >= 2


def test_selectors(processed: DataFrame) -> None:
    counts = pipeline.outcome_counts(processed)
    events = pipeline.select_events(processed)
    assert events.count() == counts[ecs.OUTCOME_INDEXED]
    internal = [c for c in events.columns if c.startswith("_logiflow") and c != ecs.DOC_ID]
    assert internal == []
    assert events.columns[0] == ecs.DOC_ID
    for column in (
        ecs.ENDPOINT,
        ecs.STATUS_CLASS,
        ecs.DEVICE_TYPE,
        ecs.SOURCE_GEO_COUNTRY_ISO_CODE,
        ecs.USER_AGENT_NAME,
    ):
        assert column in events.columns
    ids = events.select(col(ecs.DOC_ID)).distinct().count()
    assert ids == counts[ecs.OUTCOME_INDEXED]  # one id per Kafka record

    dead = pipeline.select_dead_letters(processed)
    assert dead.count() == counts[ecs.OUTCOME_DEAD_LETTER]
    rows = dead.collect()
    assert all(r[ecs.ERROR_MESSAGE] and r[ecs.EVENT_KIND] == "pipeline_error" for r in rows)
    assert all(r[ecs.TIMESTAMP] == KAFKA_TS for r in rows)
    invalid = [r for r in rows if r[ecs.EVENT_ORIGINAL_BASE64] is not None]
    assert len(invalid) >= 1  # the invalid UTF-8 record keeps its exact bytes
    assert any(len(r[ecs.EVENT_ORIGINAL]) == 40_000 for r in rows)  # long line kept whole


def test_enriched_values_match_generator_facts(
    processed: DataFrame, corpus: list[GeneratedLine]
) -> None:
    rows = {
        r[ecs.KAFKA_OFFSET]: r
        for r in processed.select(
            col(ecs.KAFKA_OFFSET),
            col(ecs.OUTCOME),
            col(ecs.ENDPOINT),
            col(ecs.DEVICE_TYPE),
            col(ecs.HTTP_RESPONSE_STATUS_CODE),
            col(ecs.STATUS_CLASS),
            col(ecs.TIMESTAMP),
            col(ecs.EVENT_DURATION),
        ).collect()
    }
    checked = 0
    for offset, fact in enumerate(corpus):
        if fact.format == "malformed":
            continue
        row = rows[offset]
        assert row[ecs.HTTP_RESPONSE_STATUS_CODE] == fact.status, fact.line
        assert row[ecs.STATUS_CLASS] == f"{fact.status // 100}xx"  # type: ignore[operator]
        assert row[ecs.ENDPOINT] == fact.endpoint, fact.line
        assert row[ecs.DEVICE_TYPE] == fact.device_type, fact.line
        assert row[ecs.TIMESTAMP] == fact.timestamp.replace(tzinfo=None), fact.line
        assert row[ecs.EVENT_DURATION] == fact.duration_ns, fact.line
        checked += 1
    assert checked > 700


def test_aggregate_on_processed_batch(processed: DataFrame, corpus: list[GeneratedLine]) -> None:
    docs = processed.transform(pipeline.aggregate(LogiflowConfig())).where(
        col(AGG_SCOPE) == "service"
    )
    total = sum(r[AGG_REQUESTS] for r in docs.collect())
    indexed = pipeline.outcome_counts(processed)[ecs.OUTCOME_INDEXED]
    assert total == indexed  # every indexed generated event is an HTTP request


def test_bad_drop_rule_fails_when_building() -> None:
    config = LogiflowConfig(
        filter=FilterSettings(drop=[DropRule(name="x", field="nope", op="equals", value=1)])
    )
    with pytest.raises(ConfigError, match=r"'x'.*'nope'"):
        pipeline.process_records(config)
