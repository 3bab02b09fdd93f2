"""``logiflow replay-dead-letters`` against the real broker and, for the whole story, the ETL.

The story users live: lines in a format the config does not know become dead letters; the
format is added to the config; the replay sends the dead letters back; the next ETL run indexes
them. Then the replay's own rules: exact bytes and keys, a duplicated dead letter sent once,
progress kept per consumer group, and a dry run that sends nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from elasticsearch import Elasticsearch
from es_documents import count_documents
from kafka_records import expire_all_records, read_topic, write_topic
from pyspark.sql import SparkSession

from logiflow.config import CustomFormat, LogiflowConfig, ParseSettings
from logiflow.contract import index_names as names
from logiflow.contract.kafka_records import (
    HEADER_ERROR_MESSAGE,
    HEADER_SOURCE_OFFSET,
    HEADER_SOURCE_PARTITION,
    HEADER_SOURCE_TOPIC,
)
from logiflow.job import run_etl

LOGIFLOW = str(Path(sys.executable).with_name("logiflow"))
TIMED = (
    'log_format timed \'$remote_addr $host [$time_iso8601] "$request" $status '
    '$body_bytes_sent rt=$request_time "$http_user_agent"\';'
)
TIMED_LINES = [
    '10.0.0.9 shop.example [2026-11-24T10:00:05+00:00] "GET /cart/9 HTTP/1.1" 200 512 '
    'rt=0.031 "curl/8.5"',
    '10.0.0.8 shop.example [2026-11-24T10:00:06+00:00] "POST /cart HTTP/1.1" 201 64 '
    'rt=0.120 "curl/8.5"',
]
COMBINED_LINE = '10.0.0.7 - - [24/Nov/2026:10:00:04 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8.5"'


def replay_cli(config: LogiflowConfig, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LOGIFLOW_KAFKA__BOOTSTRAP_SERVERS": config.kafka.bootstrap_servers,
        "LOGIFLOW_KAFKA__LOGS_TOPIC": config.kafka.logs_topic,
        "LOGIFLOW_KAFKA__DEAD_LETTER_TOPIC": config.kafka.dead_letter_topic or "",
    }
    result = subprocess.run(
        [LOGIFLOW, "replay-dead-letters", *args],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result


def test_fix_the_format_then_replay_and_the_lines_are_indexed(
    spark: SparkSession, pipeline_config: LogiflowConfig, es_client: Elasticsearch
) -> None:
    config = pipeline_config
    lines = [COMBINED_LINE, *TIMED_LINES]
    records = [(b"web-1/shop", line.encode(), None) for line in lines]
    write_topic(config.kafka.bootstrap_servers, config.kafka.logs_topic, records)
    first = run_etl(config, until_caught_up=True, spark=spark)
    assert first.totals == {"input": 3, "indexed": 1, "filtered": 0, "dead_letter": 2}

    dry = replay_cli(config, "--dry-run")
    assert "would send 2" in dry.stdout
    assert len(read_topic(config.kafka.bootstrap_servers, config.kafka.logs_topic)) == 3

    # The fix: the format goes into the config. Then the replay.
    timed = CustomFormat(nginx_log_format=TIMED)
    fixed = config.model_copy(update={"parse": ParseSettings(custom_formats={"timed": timed})})
    sent = replay_cli(config)
    assert "sent 2" in sent.stdout
    logs = read_topic(config.kafka.bootstrap_servers, config.kafka.logs_topic)
    values = [r.value.decode() for r in logs]
    assert len(values) == 5 and all(values.count(line) == 2 for line in TIMED_LINES)
    assert {r.key for r in logs} == {b"web-1/shop"}

    second = run_etl(fixed, until_caught_up=True, spark=spark)
    assert second.totals == {"input": 2, "indexed": 2, "filtered": 0, "dead_letter": 0}
    prefix = config.elasticsearch.index_prefix
    assert count_documents(es_client, names.index_pattern(prefix, names.EVENTS)) == 3
    hits = es_client.search(
        index=names.index_pattern(prefix, names.EVENTS), query={"term": {"url.path": "/cart/9"}}
    )["hits"]["hits"]
    assert hits and hits[0]["_source"]["event.duration"] == 31_000_000


def test_replay_sends_each_source_line_once_and_remembers_progress(
    pipeline_config: LogiflowConfig,
) -> None:
    config = pipeline_config
    dead_topic = config.kafka.dead_letter_topic or ""

    def letter(offset: int, value: bytes, key: bytes | None) -> tuple:
        return (key, value, [
            (HEADER_ERROR_MESSAGE, b"no known format"),
            (HEADER_SOURCE_TOPIC, config.kafka.logs_topic.encode()),
            (HEADER_SOURCE_PARTITION, b"0"),
            (HEADER_SOURCE_OFFSET, str(offset).encode()),
        ])  # fmt: skip

    raw = b"\xff\xfe not utf-8 \x00 at all"
    write_topic(config.kafka.bootstrap_servers, dead_topic, [
        letter(1, raw, b"edge/nginx"),
        letter(2, b"second line", None),
        letter(1, raw, b"edge/nginx"),  # the ETL wrote this one twice (a replayed batch)
    ])  # fmt: skip

    result = replay_cli(config)
    assert "read 3 dead letters" in result.stdout and "1 duplicates skipped" in result.stdout
    logs = read_topic(config.kafka.bootstrap_servers, config.kafka.logs_topic)
    assert sorted((r.value, r.key) for r in logs) == [(b"second line", None), (raw, b"edge/nginx")]

    again = replay_cli(config)
    assert "read 0 dead letters" in again.stdout
    assert len(read_topic(config.kafka.bootstrap_servers, config.kafka.logs_topic)) == 2

    write_topic(config.kafka.bootstrap_servers, dead_topic, [letter(3, b"third line", None)])
    later = replay_cli(config)
    assert "read 1 dead letters" in later.stdout
    logs = read_topic(config.kafka.bootstrap_servers, config.kafka.logs_topic)
    assert sorted(r.value for r in logs) == sorted([raw, b"second line", b"third line"])

    # Retention deletes all six dead letters, two of which no replay sent: the next replay
    # names those two.
    write_topic(config.kafka.bootstrap_servers, dead_topic, [
        letter(4, b"fourth line", None), letter(5, b"fifth line", None),
    ])  # fmt: skip
    assert expire_all_records(config.kafka.bootstrap_servers, dead_topic) == 6
    lost = replay_cli(config)
    assert "read 0 dead letters" in lost.stdout
    assert "2 dead letters were deleted by Kafka retention before any replay sent them" in (
        " ".join(lost.stdout.split())
    )
