"""parse_lines as a whole: format choice, one schema, dead letters, the corpus, streaming,
and a property test that arbitrary bytes never make the parser raise."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from logiflow.config import CustomFormat, ParseSettings, load_config
from logiflow.contract import ecs
from logiflow.errors import ConfigError
from logiflow.etl.columns import col
from logiflow.etl.decode_records import decode_kafka_records
from logiflow.etl.parse import ECS_COLUMNS, parse_lines

ParseRows = Callable[..., list[dict[str, Any]]]
KafkaFrame = Callable[..., DataFrame]
CORPUS = Path(__file__).resolve().parents[3] / "data" / "corpus"

COMBINED = '1.2.3.4 - - [24/Nov/2026:22:04:15 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl/8"'
JSON = '{"ts": 1795557855, "status": 200, "path": "/j"}'
CUSTOM = "1.2.3.4|200|0.5"
PIPE = CustomFormat(nginx_log_format="$remote_addr|$status|$request_time")


def test_output_schema_is_the_same_for_every_format(kafka_frame: KafkaFrame) -> None:
    settings = ParseSettings(custom_formats={"pipe": PIPE})
    schemas = set()
    for line in (COMBINED, JSON, CUSTOM, "garbage"):
        df = (
            kafka_frame([line])
            .transform(decode_kafka_records(1000))
            .transform(parse_lines(settings))
        )
        schemas.add(df.schema.simpleString())
    assert len(schemas) == 1
    df = (
        kafka_frame([COMBINED])
        .transform(decode_kafka_records(1000))
        .transform(parse_lines(ParseSettings()))
    )
    assert df.columns[-len(ECS_COLUMNS) - 2 :] == [
        *ECS_COLUMNS,
        ecs.ERROR_MESSAGE,
        ecs.OUTCOME,
    ]
    assert dict(df.dtypes)[ecs.TIMESTAMP] == "timestamp"
    assert dict(df.dtypes)[ecs.HTTP_RESPONSE_STATUS_CODE] == "int"
    assert dict(df.dtypes)[ecs.HTTP_RESPONSE_BODY_BYTES] == "bigint"
    assert dict(df.dtypes)[ecs.EVENT_DURATION] == "bigint"
    assert dict(df.dtypes)[ecs.EXTRA] == "map<string,string>"


def test_format_chosen_per_topic(parse_rows: ParseRows) -> None:
    settings = ParseSettings(
        default_format="combined",
        topic_formats={"api": "json", "edge": "auto", "pipes": "pipe"},
        custom_formats={"pipe": PIPE},
    )
    lines = [COMBINED, JSON, JSON, JSON, COMBINED, CUSTOM, CUSTOM, COMBINED]
    topics = ["web", "api", "edge", "web", "api", "pipes", "edge", "pipes"]
    got = parse_rows(lines, settings, topics=topics)
    assert [r[ecs.EVENT_DATASET] for r in got] == [
        "access.combined",
        "json",
        "json",
        None,
        None,
        "custom.pipe",
        "custom.pipe",
        None,
    ]
    assert [r[ecs.ERROR_MESSAGE] for r in got] == [
        None,
        None,
        None,
        "line does not match log format 'combined'",
        "line is not a JSON object",
        None,
        None,
        "line does not match log format 'pipe'",
    ]
    assert got[5][ecs.EVENT_DURATION] == 500_000_000


def test_dead_letters_keep_coordinates_and_original(parse_rows: ParseRows) -> None:
    long_line = COMBINED + " " + "x" * 100
    got = parse_rows(["", "nonsense", long_line, COMBINED], ParseSettings(max_line_bytes=120))
    assert [r[ecs.ERROR_MESSAGE] for r in got] == [
        "empty line",
        "no format matched",
        "line exceeds 120 bytes",
        None,
    ]
    assert [r[ecs.OUTCOME] for r in got] == [ecs.OUTCOME_DEAD_LETTER] * 3 + [ecs.OUTCOME_INDEXED]
    assert got[2][ecs.EVENT_ORIGINAL] == long_line
    assert [r[ecs.DOC_ID] for r in got] == ["logs-0-0", "logs-0-1", "logs-0-2", "logs-0-3"]
    assert all(r[c] is None for r in got[:3] for c in ECS_COLUMNS)


def test_invalid_utf8_is_replaced_and_parsed(parse_rows: ParseRows) -> None:
    raw = b'1.2.3.4 - - [24/Nov/2026:22:04:15 +0000] "GET /a HTTP/1.1" 200 5 "-" "caf\xe9"'
    (row,) = parse_rows([raw])
    assert row[ecs.OUTCOME] == ecs.OUTCOME_INDEXED
    assert row[ecs.USER_AGENT_ORIGINAL] == "caf\ufffd"
    assert row[ecs.EVENT_ORIGINAL_BASE64] is not None


def test_events_keep_their_own_time_in_any_order(parse_rows: ParseRows) -> None:
    later = COMBINED.replace("22:04:15 +0000", "22:09:00 +0000")
    earlier = COMBINED.replace("22:04:15 +0000", "21:59:00 -0100")
    got = parse_rows([later, earlier])
    assert [r[ecs.TIMESTAMP] for r in got] == [
        dt.datetime(2026, 11, 24, 22, 9),
        dt.datetime(2026, 11, 24, 22, 59),
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"default_format": "nginx"}, "unknown log format 'nginx'"),
        ({"topic_formats": {"t": "csv"}}, "unknown log format 'csv'"),
        ({"default_timezone": "Mars/Olympus"}, "not a time zone name"),
    ],
)
def test_bad_settings_fail_at_construction(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_lines(ParseSettings(**kwargs))


def test_corpus_counts_match_its_readme(kafka_frame: KafkaFrame) -> None:
    settings = load_config(CORPUS / "logiflow.yaml").parse
    expected = {
        "nginx_combined.log": (300, 0, {"access.combined"}),
        "apache_combined.log": (200, 0, {"access.combined"}),
        "common.log": (100, 0, {"access.common"}),
        "nginx_main.log": (150, 0, {"access.main"}),
        "json_api.log": (250, 0, {"json"}),
        "custom_nginx_timed.log": (120, 0, {"custom.timed"}),
        "custom_apache_timed.log": (120, 0, {"custom.vhost_timed"}),
        "malformed.log": (0, 15, set()),
    }
    lines: list[bytes] = []
    topics: list[str] = []
    for name in expected:
        for line in (CORPUS / name).read_bytes().splitlines():
            lines.append(line)
            topics.append(name)
    df = (
        kafka_frame(lines, topics=topics)
        .transform(decode_kafka_records(settings.max_line_bytes))
        .transform(parse_lines(settings))
    )
    rows = df.select(
        col(ecs.KAFKA_TOPIC).alias("file"),
        col(ecs.OUTCOME).alias("outcome"),
        col(ecs.EVENT_DATASET).alias("dataset"),
        col(ecs.ERROR_MESSAGE).alias("error"),
        col(ecs.EVENT_ORIGINAL).alias("line"),
        F.col(f"`{ecs.TIMESTAMP}`").isNotNull().alias("has_time"),
    ).collect()
    assert len(rows) == len(lines)
    counts = Counter((r.file, r.outcome) for r in rows)
    problems = [
        (r.file, r.error, r.line)
        for r in rows
        if (r.outcome == ecs.OUTCOME_DEAD_LETTER) != (r.file == "malformed.log")
    ]
    assert problems == []
    for name, (valid, malformed, datasets) in expected.items():
        assert counts[(name, ecs.OUTCOME_INDEXED)] == valid, name
        assert counts[(name, ecs.OUTCOME_DEAD_LETTER)] == malformed, name
        got_datasets = {r.dataset for r in rows if r.file == name and r.dataset}
        if name == "apache_combined.log" or name == "nginx_combined.log":
            assert got_datasets <= {"access.combined", "access.common"}
        else:
            assert got_datasets == datasets, name
    assert all(r.has_time for r in rows if r.outcome == ecs.OUTCOME_INDEXED)


def test_usable_in_a_streaming_query(spark: SparkSession, tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    (source / "part-0.txt").write_text(f"{COMBINED}\n{JSON}\nnot a log\n", encoding="utf-8")
    stream = (
        spark.readStream.format("text")
        .load(str(source))
        .select(
            F.lit(None).cast("binary").alias("key"),
            F.col("value").cast("binary").alias("value"),
            F.lit("logs").alias("topic"),
            F.lit(0).alias("partition"),
            F.crc32(F.col("value").cast("binary")).alias("offset"),
            F.current_timestamp().alias("timestamp"),
            F.lit(0).alias("timestampType"),
        )
        .transform(decode_kafka_records(1000))
        .transform(parse_lines(ParseSettings()))
    )
    query = (
        stream.writeStream.format("memory")
        .queryName("parsed_stream_test")
        .option("checkpointLocation", str(tmp_path / "checkpoint"))
        .trigger(availableNow=True)
        .start()
    )
    try:
        query.awaitTermination(120)
        outcomes = sorted(
            r[0] for r in spark.sql("select _logiflow_outcome from parsed_stream_test").collect()
        )
    finally:
        query.stop()
    assert outcomes == ["dead_letter", "indexed", "indexed"]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=300),
            st.text(max_size=200).map(str.encode),
            st.sampled_from([COMBINED, JSON, CUSTOM]).flatmap(
                lambda base: st.tuples(st.integers(0, len(base)), st.binary(max_size=8)).map(
                    lambda cut: (base[: cut[0]]).encode() + cut[1]
                )
            ),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_parser_never_raises_on_arbitrary_bytes(
    kafka_frame: KafkaFrame, lines: list[bytes]
) -> None:
    settings = ParseSettings(
        max_line_bytes=256,
        custom_formats={"pipe": CustomFormat(nginx_log_format="$remote_addr|$status|$msec")},
    )
    df = (
        kafka_frame(lines)
        .transform(decode_kafka_records(settings.max_line_bytes))
        .transform(parse_lines(settings))
    )
    rows = df.select(
        col(ecs.KAFKA_OFFSET).alias("offset"),
        col(ecs.OUTCOME).alias("outcome"),
        col(ecs.ERROR_MESSAGE).alias("error"),
    ).collect()
    # Every input row comes out exactly once, with a final outcome and a reason when rejected.
    assert sorted(r.offset for r in rows) == list(range(len(lines)))
    for r in rows:
        assert r.outcome in (ecs.OUTCOME_INDEXED, ecs.OUTCOME_DEAD_LETTER)
        assert (r.error is not None) == (r.outcome == ecs.OUTCOME_DEAD_LETTER)
