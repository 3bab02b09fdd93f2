"""``logiflow report`` against the real local Elasticsearch, with a small set of documents
indexed through the templates es-setup creates, and known answers; and right after writes (the
report and ``etl --until-caught-up`` refresh before counting)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from confluent_kafka import Producer
from continuous_etl import access_line, write_etl_config
from elasticsearch import Elasticsearch, helpers

from logiflow.config import LogiflowConfig
from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.io.es_setup import setup_elasticsearch
from logiflow.local.process import free_port

LOGIFLOW = str(Path(sys.executable).parent / "logiflow")


def event(n: int, endpoint: str, status: int, day: str = "2026.11.24") -> dict[str, object]:
    return {
        "_index": f"{{prefix}}-events-{day}",
        "_id": f"e{n}",
        "_source": {
            ecs.TIMESTAMP: f"{day.replace('.', '-')}T10:00:{n:02d}Z",
            ecs.HTTP_RESPONSE_STATUS_CODE: status,
            ecs.STATUS_CLASS: f"{status // 100}xx",
            ecs.IS_ERROR: status >= 400,
            ecs.ENDPOINT: endpoint,
            ecs.URL_PATH: endpoint,
        },
    }


def index_sample(client: Elasticsearch, prefix: str) -> None:
    docs = [
        event(1, "/products/{id}", 200),
        event(2, "/products/{id}", 200),
        event(3, "/products/{id}", 404),
        event(4, "/cart", 200),
        event(5, "/cart", 503, day="2026.11.25"),
        event(6, "/", 301),
    ]
    # A JSON log line without HTTP fields is an event but not a request.
    docs.append(
        {"_index": "{prefix}-events-2026.11.25", "_id": "e7",
         "_source": {ecs.TIMESTAMP: "2026-11-25T11:00:00Z", ecs.LOG_LEVEL: "info"}}
    )  # fmt: skip
    for n in range(2):
        docs.append(
            {"_index": "{prefix}-deadletter-2026.11.24", "_id": f"d{n}",
             "_source": {ecs.TIMESTAMP: "2026-11-24T10:00:00Z",
                         ecs.EVENT_ORIGINAL: "garbage", ecs.ERROR_MESSAGE: "unparseable"}}
        )  # fmt: skip
    for batch_id, (read, indexed, filtered, dead) in enumerate([(5, 4, 1, 0), (6, 3, 1, 2)]):
        docs.append(
            {"_index": names.batches_index(prefix), "_id": names.batch_doc_id("events", batch_id),
             "_source": {names.BATCH_TIMESTAMP: "2026-11-24T10:00:00Z",
                         names.BATCH_QUERY: names.EVENTS_QUERY, names.BATCH_ID: batch_id,
                         names.COUNT_INPUT: read, names.COUNT_INDEXED: indexed,
                         names.COUNT_FILTERED: filtered, names.COUNT_DEAD_LETTER: dead}}
        )  # fmt: skip
    # Another query's accounting documents (earlier versions ran a second, "aggregates" query)
    # must not be summed in.
    docs.append(
        {"_index": names.batches_index(prefix), "_id": names.batch_doc_id("aggregates", 0),
         "_source": {names.BATCH_QUERY: "aggregates", names.BATCH_ID: 0,
                     names.COUNT_INPUT: 99, names.COUNT_FILTERED: 99}}
    )  # fmt: skip
    for doc in docs:
        doc["_index"] = str(doc["_index"]).replace("{prefix}", prefix)
    helpers.bulk(client, docs, refresh="wait_for")


def run_report(es_url: str, prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGIFLOW_")}
    return subprocess.run(
        [LOGIFLOW, "report", "--es-host", es_url, "--index-prefix", prefix, *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip


def test_report_json_counts_what_was_indexed(
    pipeline_config: LogiflowConfig, es_client: Elasticsearch
) -> None:
    prefix = pipeline_config.elasticsearch.index_prefix
    setup_elasticsearch(es_client, pipeline_config.elasticsearch)
    index_sample(es_client, prefix)
    es_url = pipeline_config.elasticsearch.hosts[0]

    result = run_report(es_url, prefix, "--json", "--top", "2")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report == {
        "index_prefix": prefix,
        "events_indexed": 7,
        "dead_letters": 2,
        "filtered": 2,
        "batches": {"batches": 2, "input": 11, "indexed": 7, "filtered": 2, "dead_letter": 2},
        "requests": 6,
        "errors": 2,
        "error_rate": round(2 / 6, 6),
        "status_classes": {"1xx": 0, "2xx": 3, "3xx": 1, "4xx": 1, "5xx": 1},
        "top_endpoints": [
            {"endpoint": "/products/{id}", "requests": 3, "errors": 1, "error_rate": 0.333333},
            {"endpoint": "/cart", "requests": 2, "errors": 1, "error_rate": 0.5},
        ],
        "first_event": "2026-11-24T10:00:01.000Z",
        "last_event": "2026-11-25T11:00:00.000Z",
    }

    tables = run_report(es_url, prefix)
    assert tables.returncode == 0, tables.stderr
    assert "events indexed" in tables.stdout
    assert "/products/{id}" in tables.stdout


def test_report_on_an_empty_prefix_is_all_zeros(pipeline_config: LogiflowConfig) -> None:
    result = run_report(pipeline_config.elasticsearch.hosts[0], "nothing-here", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["events_indexed"] == 0
    assert report["top_endpoints"] == []
    assert report["error_rate"] == 0.0


def test_report_with_elasticsearch_unreachable_is_one_line(tmp_path: Path) -> None:
    result = run_report(f"http://127.0.0.1:{free_port()}", "logiflow", "--json")
    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "Elasticsearch is unreachable at http://127.0.0.1:" in result.stderr


def _slow_refresh(config: LogiflowConfig) -> LogiflowConfig:
    # A minute between refreshes: without an explicit refresh, a count right after the writes
    # sees nothing, as the issue saw with the default second.
    return config.model_copy(
        update={"elasticsearch": config.elasticsearch.model_copy(update={"refresh_interval": "1m"})}
    )


def test_report_counts_what_was_written_a_moment_ago(
    pipeline_config: LogiflowConfig, es_client: Elasticsearch
) -> None:
    settings = _slow_refresh(pipeline_config).elasticsearch
    setup_elasticsearch(es_client, settings)
    docs = [{**event(n, "/cart", 200), "_index": f"{settings.index_prefix}-events-2026.11.24"}
            for n in range(5)]  # fmt: skip
    helpers.bulk(es_client, docs)  # no refresh
    result = run_report(settings.hosts[0], settings.index_prefix, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["events_indexed"] == 5


def test_report_right_after_etl_until_caught_up_shows_every_event(
    pipeline_config: LogiflowConfig, es_client: Elasticsearch, tmp_path: Path
) -> None:
    config = _slow_refresh(pipeline_config)
    producer = Producer({"bootstrap.servers": config.kafka.bootstrap_servers})
    for n in range(300):
        producer.produce(config.kafka.logs_topic, access_line(n).encode())
    assert producer.flush(30) == 0
    config_file = write_etl_config(config, tmp_path / "config.yaml")
    etl = subprocess.run(
        [LOGIFLOW, "--config", str(config_file), "etl", "--until-caught-up"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert etl.returncode == 0, etl.stderr[-3000:]
    # The job refreshed before it returned: a plain count (no refresh of its own) sees all.
    events = names.index_pattern(config.elasticsearch.index_prefix, names.EVENTS)
    assert es_client.count(index=events)["count"] == 300
    result = run_report(config.elasticsearch.hosts[0], config.elasticsearch.index_prefix, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["events_indexed"] == 300
