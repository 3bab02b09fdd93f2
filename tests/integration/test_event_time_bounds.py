"""Hostile timestamps through the real pipeline: an event dated 2999 and one dated 1970 are
indexed at their arrival time, flagged, with their claimed time kept, counted in the batch's
accounting, and open no index of their own (nor do their aggregates).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from confluent_kafka import Producer
from elasticsearch import Elasticsearch
from prometheus_client import REGISTRY
from pyspark.sql import SparkSession

from logiflow.config import LogiflowConfig, ParseSettings
from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.contract import metrics as m
from logiflow.job import run_etl

LOGIFLOW = str(Path(sys.executable).with_name("logiflow"))
METRICS = (m.ETL_EVENT_TIME_OUT_OF_BOUNDS, m.ETL_LATE_RECORDS)


def _counted(metric: m.Metric) -> float:
    """The ETL's counter in this process (the job runs here: its monitor too)."""
    return REGISTRY.get_sample_value(metric.sample_name) or 0.0


def _access_line(when: datetime, path: str) -> str:
    return (
        f'192.0.2.7 - - [{when:%d/%b/%Y:%H:%M:%S} +0000] "GET {path} HTTP/1.1" 200 42 "-" '
        '"curl/8.5.0"'
    )


def test_events_from_2999_and_1970_are_indexed_at_arrival_and_open_no_index(
    spark: SparkSession, pipeline_config: LogiflowConfig, es_client: Elasticsearch, tmp_path: Path
) -> None:
    config = pipeline_config.model_copy(update={"parse": ParseSettings()})  # default bounds
    recent = datetime.now(UTC) - timedelta(hours=1)
    lines = {
        "/future": _access_line(datetime(2999, 1, 1, 12, 0, tzinfo=UTC), "/future"),
        "/past": _access_line(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC), "/past"),
        "/recent": _access_line(recent, "/recent"),
    }
    producer = Producer({"bootstrap.servers": config.kafka.bootstrap_servers, "acks": "all"})
    for line in lines.values():
        producer.produce(config.kafka.logs_topic, line.encode(), partition=0)
    assert producer.flush(30) == 0

    metrics_before = {metric: _counted(metric) for metric in METRICS}
    result = run_etl(config, until_caught_up=True, spark=spark)
    assert result.totals["indexed"] == 3
    # The metrics count what the accounting does: 2 out of bounds, of which 1970's is late.
    counted = {metric: _counted(metric) - metrics_before[metric] for metric in METRICS}
    assert counted == {m.ETL_EVENT_TIME_OUT_OF_BOUNDS: 2, m.ETL_LATE_RECORDS: 1}

    prefix = config.elasticsearch.index_prefix
    es_client.indices.refresh(index=f"{prefix}-*")
    # Only indices of the arrival days (and the recent line's): none for the claimed dates.
    for name in es_client.indices.get(index=f"{prefix}-*"):
        kind, _, suffix = name.removeprefix(f"{prefix}-").partition("-")
        if kind != names.BATCHES:
            day = datetime.strptime(
                suffix + (".01" if kind == names.AGGREGATES else ""), "%Y.%m.%d"
            )
            assert abs(datetime.now() - day) < timedelta(days=32), name
    hits = es_client.search(index=names.index_pattern(prefix, names.EVENTS), size=10)["hits"]
    docs = {h["_source"][ecs.URL_PATH]: (h["_index"], h["_source"]) for h in hits["hits"]}
    assert set(docs) == set(lines)
    for path, claimed in (("/future", "2999-01-01T12:00:00.000Z"),
                          ("/past", "1970-01-01T00:00:01.000Z")):  # fmt: skip
        index, doc = docs[path]
        # Filed at its arrival: the Kafka time, hence the arrival day's index.
        assert doc[ecs.TIMESTAMP] == doc[ecs.KAFKA_TIMESTAMP]
        assert index == names.daily_index(
            prefix, names.EVENTS, datetime.fromisoformat(doc[ecs.KAFKA_TIMESTAMP])
        )
        assert doc[ecs.EVENT_TIME_OUT_OF_BOUNDS] is True
        assert doc[ecs.EVENT_TIME_ORIGINAL] == claimed
    recent_doc = docs["/recent"][1]
    assert recent_doc[ecs.TIMESTAMP] == f"{recent:%Y-%m-%dT%H:%M:%S}.000Z"
    assert ecs.EVENT_TIME_OUT_OF_BOUNDS not in recent_doc

    batches = es_client.search(index=names.batches_index(prefix), size=100)["hits"]["hits"]
    assert sum(h["_source"][names.COUNT_EVENT_TIME_OUT_OF_BOUNDS] for h in batches) == 2
    assert sum(h["_source"][names.COUNT_INPUT] for h in batches) == 3

    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    audit = subprocess.run(
        [LOGIFLOW, "--config", str(config_file), "audit"], capture_output=True, text=True
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
