"""Done-when: a corpus of every format with malformed lines goes Kafka -> Spark -> Elasticsearch.

Indexed events must equal the valid lines exactly, dead letters the malformed ones, filtered the
lines a drop rule matches, and the per-minute aggregates must equal a ground truth computed here
in plain Python from the records the corpus was built from (not with the code under test).

The corpus is written to log files (access logs, and a JSON API log) and sent with the real
``logiflow ship`` command, as a user would.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from elasticsearch import Elasticsearch
from es_documents import count_documents
from integration_support import ship_files
from kafka_records import read_topic
from pyspark.sql import SparkSession

from logiflow.config import DropRule, FilterSettings, LogiflowConfig
from logiflow.contract import index_names as names
from logiflow.contract.kafka_records import (
    HEADER_ERROR_MESSAGE,
    HEADER_SOURCE_OFFSET,
    HEADER_SOURCE_PARTITION,
    HEADER_SOURCE_TOPIC,
)
from logiflow.job import run_etl

START = datetime(2026, 11, 24, 9, 58, 0, tzinfo=UTC)
PATHS = ("/", "/users/42", "/api/orders", "/static/app.js", "/healthz", "/search")
SERVICES = ("checkout", "search")
MALFORMED = (
    "this is not a log line",
    '{"truncated json": ',
    "<<<binary junk>>> \x01\x02",
    "GET / HTTP/1.1 200",
)


@dataclass(frozen=True)
class Record:
    line: str
    valid: bool
    file: str = "access.log"
    minute: datetime | None = None
    service: str | None = None
    path: str | None = None
    status: int | None = None
    size: int | None = None


def _clf_time(ts: datetime) -> str:
    return ts.strftime("%d/%b/%Y:%H:%M:%S +0000")


def build_corpus(seed: int = 7, count: int = 240) -> list[Record]:
    rng = random.Random(seed)
    records: list[Record] = []
    for i in range(count):
        ts = START + timedelta(seconds=rng.randrange(0, 240))
        minute = ts.replace(second=0)
        path = rng.choice(PATHS)
        status = rng.choice((200, 200, 200, 201, 304, 404, 429, 500, 503))
        size = rng.randrange(0, 5000)
        ip = rng.choice(("203.0.113.7", "2001:db8::5", "198.51.100.20"))
        kind = i % 4
        if kind == 0:  # combined
            line = (
                f'{ip} - - [{_clf_time(ts)}] "GET {path} HTTP/1.1" {status} {size} '
                f'"https://example.com/" "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0"'
            )
            records.append(Record(line, True, "access.log", minute, None, path, status, size))
        elif kind == 1:  # common, with "-" for bytes now and then
            shown = "-" if i % 8 == 1 else str(size)
            line = f'{ip} - alice [{_clf_time(ts)}] "POST {path} HTTP/1.0" {status} {shown}'
            records.append(
                Record(
                    line,
                    True,
                    "access.log",
                    minute,
                    None,
                    path,
                    status,
                    None if shown == "-" else size,
                )
            )
        else:  # JSON API log
            service = SERVICES[i % 2]
            doc = {
                "timestamp": ts.isoformat().replace("+00:00", "Z"),
                "level": "info",
                "method": "GET",
                "path": path,
                "status": status,
                "bytes": size,
                "latency_ms": rng.randrange(1, 900),
                "service": service,
                "client_ip": ip,
            }
            records.append(
                Record(json.dumps(doc), True, "api.log", minute, service, path, status, size)
            )
        if i % 20 == 0:
            target = "api.log" if i % 40 == 0 else "access.log"
            records.append(Record(MALFORMED[(i // 20) % len(MALFORMED)], False, target))
    return records


def ship(config: LogiflowConfig, records: list[Record], workdir: Path) -> None:
    """Write the corpus as log files and send them with ``logiflow ship``."""
    files: dict[str, list[str]] = defaultdict(list)
    for record in records:
        files[record.file].append(record.line)
    paths = []
    for name, lines in files.items():
        path = workdir / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    ship_files(config, paths, workdir, timeout=180)


def ground_truth(records: list[Record]) -> dict[tuple[str, str | None], tuple[int, ...]]:
    """Per (window start, service): events, requests, 4xx, 5xx, bytes of indexed events.

    A line without a service of its own takes the one the shipper puts in the record key: the
    shipped file's name up to its first dot ("access" for access.log).
    """
    totals: dict[tuple[str, str | None], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for r in records:
        if not r.valid or r.path == "/healthz":
            continue
        assert r.minute is not None and r.status is not None
        service = r.service or r.file.split(".", 1)[0]
        t = totals[(r.minute.strftime("%Y-%m-%dT%H:%M:%S.000Z"), service)]
        t[0] += 1
        t[1] += 1
        t[2] += 400 <= r.status < 500
        t[3] += 500 <= r.status < 600
        t[4] += r.size or 0
    return {key: tuple(value) for key, value in totals.items()}


def test_corpus_reaches_elasticsearch_exactly(
    spark: SparkSession,
    pipeline_config: LogiflowConfig,
    es_client: Elasticsearch,
    tmp_path: Path,
) -> None:
    config = pipeline_config.model_copy(
        update={
            "filter": FilterSettings(
                drop=[DropRule(name="health", field="url.path", op="equals", value="/healthz")]
            )
        }
    )
    records = build_corpus()
    ship(config, records, tmp_path)
    valid = [r for r in records if r.valid]
    health = [r for r in valid if r.path == "/healthz"]
    malformed = [r for r in records if not r.valid]

    result = run_etl(config, until_caught_up=True, spark=spark)

    prefix = config.elasticsearch.index_prefix
    # Written moments ago: make every index searchable now rather than at the next refresh.
    es_client.indices.refresh(index=f"{prefix}-*")
    assert result.totals == {
        "input": len(records),
        "indexed": len(valid) - len(health),
        "filtered": len(health),
        "dead_letter": len(malformed),
    }
    events = names.index_pattern(prefix, names.EVENTS)
    assert count_documents(es_client, events) == len(valid) - len(health)
    assert count_documents(es_client, names.index_pattern(prefix, names.DEAD_LETTER)) == len(
        malformed
    )
    # Each event names the file it was shipped from (the shipper's log.file.path header).
    per_file = es_client.search(
        index=events,
        size=0,
        aggs={"files": {"terms": {"field": "log.file.path", "missing": "(none)"}}},
    )["aggregations"]["files"]["buckets"]
    shipped: dict[str, int] = defaultdict(int)
    for r in valid:
        if r.path != "/healthz":
            shipped[str(tmp_path / r.file)] += 1
    assert {b["key"]: b["doc_count"] for b in per_file} == shipped
    letters = es_client.search(index=names.index_pattern(prefix, names.DEAD_LETTER), size=100)[
        "hits"
    ]["hits"]
    assert sorted(h["_source"]["event.original"] for h in letters) == sorted(
        r.line for r in malformed
    )
    assert all(h["_source"].get("error.message") for h in letters)

    # The same dead letters in the Kafka topic, raw bytes and where they came from.
    kafka_letters = read_topic(config.kafka.bootstrap_servers, config.kafka.dead_letter_topic)
    assert sorted(r.value for r in kafka_letters) == sorted(r.line.encode() for r in malformed)
    es_coordinates = sorted(
        (h["_source"]["kafka.partition"], h["_source"]["kafka.offset"]) for h in letters
    )
    assert (
        sorted(
            (int(r.headers[HEADER_SOURCE_PARTITION]), int(r.headers[HEADER_SOURCE_OFFSET]))
            for r in kafka_letters
        )
        == es_coordinates
    )
    assert {r.headers[HEADER_SOURCE_TOPIC].decode() for r in kafka_letters} == {
        config.kafka.logs_topic
    }
    assert all(r.headers[HEADER_ERROR_MESSAGE] for r in kafka_letters)

    # The accounting documents reconcile with the same numbers.
    batches = es_client.search(index=names.batches_index(prefix), size=100)["hits"]["hits"]
    sums = defaultdict(int)
    for hit in batches:
        for key in (
            names.COUNT_INPUT,
            names.COUNT_INDEXED,
            names.COUNT_FILTERED,
            names.COUNT_DEAD_LETTER,
        ):
            sums[key] += hit["_source"][key]
    assert sums[names.COUNT_INPUT] == len(records)
    assert sums[names.COUNT_INDEXED] == len(valid) - len(health)
    assert sums[names.COUNT_FILTERED] == len(health)
    assert sums[names.COUNT_DEAD_LETTER] == len(malformed)

    # Aggregates per service and window (partials summed) equal the independent ground truth.
    assert service_aggregates(es_client, prefix) == ground_truth(records)


def service_aggregates(
    es_client: Elasticsearch, prefix: str
) -> dict[tuple[str, str | None], tuple[int, ...]]:
    """Per (window start, service): the aggregate partials of scope "service", summed."""
    hits = es_client.search(
        index=names.index_pattern(prefix, names.AGGREGATES),
        query={"term": {"logiflow.agg.scope": "service"}},
        size=10_000,
    )["hits"]["hits"]
    fields = ("events", "requests", "status_4xx", "status_5xx", "bytes")
    sums: dict[tuple[str, str | None], list[int]] = defaultdict(lambda: [0] * len(fields))
    for hit in hits:
        doc = hit["_source"]
        total = sums[(doc["@timestamp"], doc.get("service.name"))]
        for i, field in enumerate(fields):
            total[i] += doc[f"logiflow.agg.{field}"]
    return {key: tuple(value) for key, value in sums.items()}


def test_events_elasticsearch_refuses_reach_both_dead_letter_stores(
    spark: SparkSession,
    pipeline_config: LogiflowConfig,
    es_client: Elasticsearch,
    tmp_path: Path,
) -> None:
    """A mapping conflict (here: an events index made with url.path as a number) rejects the
    events; they are not lost but dead letters, in Elasticsearch and in the topic, with
    Elasticsearch's reason."""
    config = pipeline_config
    prefix = config.elasticsearch.index_prefix
    es_client.indices.create(
        index=f"{prefix}-events-2026.11.24",
        mappings={"properties": {"url": {"properties": {"path": {"type": "long"}}}}},
    )
    day = START.strftime("%d/%b/%Y")
    records = [
        Record(f'10.0.0.{i} - - [{day}:10:00:0{i} +0000] "GET /cart/{i} HTTP/1.1" 200 5 "-" '
               f'"curl/8.5"', True)
        for i in range(3)
    ] + [Record("not a log line", False)]  # fmt: skip
    ship(config, records, tmp_path)

    result = run_etl(config, until_caught_up=True, spark=spark)

    assert result.totals == {"input": 4, "indexed": 0, "filtered": 0, "dead_letter": 4}
    es_client.indices.refresh(index=f"{prefix}-*")
    assert count_documents(es_client, names.index_pattern(prefix, names.DEAD_LETTER)) == 4
    letters = read_topic(config.kafka.bootstrap_servers, config.kafka.dead_letter_topic or "")
    assert sorted(r.value.decode() for r in letters) == sorted(r.line for r in records)
    reasons = {r.value.decode(): r.headers[HEADER_ERROR_MESSAGE].decode() for r in letters}
    for record in records[:3]:
        assert reasons[record.line].startswith("rejected by Elasticsearch (400)")
        assert "url.path" in reasons[record.line]
