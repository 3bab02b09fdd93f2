"""Anomaly detection through the whole pipeline: generated traffic with a labelled 5xx burst
goes through the real ETL (events query, minute counts on Kafka, anomalies query) into the real
Elasticsearch, and the burst, and nothing else of note, comes out as anomaly documents."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from elasticsearch import Elasticsearch
from kafka_records import write_topic
from prometheus_client import REGISTRY
from pyspark.sql import SparkSession

from logiflow.anomaly.evaluation import ERROR_BURST, Incident
from logiflow.anomaly.labels import write_labels
from logiflow.config import LogiflowConfig
from logiflow.contract import anomalies as a
from logiflow.contract import index_names as names
from logiflow.contract import metrics as m
from logiflow.contract.kafka_records import record_key
from logiflow.ingest.generator import ErrorBurst, TrafficGenerator, TrafficProfile
from logiflow.io.topic_admin import create_topics
from logiflow.job import run_etl

LOGIFLOW = str(Path(sys.executable).with_name("logiflow"))
START = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
BURST = ErrorBurst(START + dt.timedelta(minutes=100), dt.timedelta(minutes=5), "storefront", 0.5)


def _detected_samples() -> dict[tuple[str, str, str], float]:
    """The anomaly counter's value per (service, metric, severity), in this process."""
    return {
        (s.labels["service"], s.labels["metric"], s.labels["severity"]): s.value
        for family in REGISTRY.collect()
        if family.name == m.ANOMALIES_DETECTED.name
        for s in family.samples
        if s.name == m.ANOMALIES_DETECTED.sample_name
    }


def test_a_labelled_burst_is_found_by_the_running_pipeline(
    spark: SparkSession, pipeline_config: LogiflowConfig, es_client: Elasticsearch, tmp_path: Path
) -> None:
    topic = f"{pipeline_config.kafka.logs_topic}-minutes"
    config = pipeline_config.model_copy(
        update={
            "anomaly": pipeline_config.anomaly.model_copy(
                update={"enabled": True, "topic": topic, "warmup_windows": 30}
            ),
            "kafka": pipeline_config.kafka.model_copy(update={"max_offsets_per_trigger": 3000}),
        }
    )
    create_topics(config.kafka, [topic])
    generator = TrafficGenerator(5, TrafficProfile(clients=300, bursts=(BURST,)))
    lines = list(generator.stream(START, 1.5, duration=dt.timedelta(hours=2)))
    write_topic(
        config.kafka.bootstrap_servers,
        config.kafka.logs_topic,
        ((record_key(g.host, g.service), g.line.encode(), None) for g in lines),
    )

    detected_before = _detected_samples()
    result = run_etl(config, until_caught_up=True, spark=spark)
    assert result.totals["indexed"] == len(lines)

    index = names.index_pattern(config.elasticsearch.index_prefix, names.ANOMALIES)
    es_client.indices.refresh(index=index)
    found = [h["_source"] for h in es_client.search(index=index, size=500)["hits"]["hits"]]
    first_two = {
        (BURST.start + dt.timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M:00.000Z") for m in (0, 1)
    }
    burst_minutes = {
        (BURST.start + dt.timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M:00.000Z") for m in range(5)
    }
    storefront_5xx = sorted(
        f[a.TIMESTAMP]
        for f in found
        if f[a.SERVICE] == "storefront" and f[a.METRIC] == a.METRIC_RATE_5XX
    )
    assert storefront_5xx and set(storefront_5xx) <= burst_minutes, found
    assert storefront_5xx[0] in first_two  # detected within two windows
    unrelated = [
        f for f in found if f[a.TIMESTAMP] not in burst_minutes or f[a.SERVICE] != "storefront"
    ]
    assert len(unrelated) <= 2, unrelated

    # The driver's counter (logiflow_anomalies_detected_total) counted each document written.
    detected = Counter(_detected_samples()) - Counter(detected_before)
    written = Counter((f[a.SERVICE], f[a.METRIC], f[a.SEVERITY_NAME]) for f in found)
    assert detected == written

    # The terminal listing reads the same documents.
    es = ["--es-host", config.elasticsearch.hosts[0]]
    es += ["--index-prefix", config.elasticsearch.index_prefix]
    since = ["--since", START.isoformat(), "--limit", "500"]
    listed = subprocess.run(
        [LOGIFLOW, "anomalies", *since, *es, "--json"], capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr

    def canonical(docs: list[dict]) -> list[str]:
        return sorted(json.dumps(d, sort_keys=True) for d in docs)

    assert canonical(json.loads(listed.stdout)) == canonical(found)
    table = subprocess.run(
        [LOGIFLOW, "anomalies", *since, *es, "--service", "storefront"],
        capture_output=True, text=True, timeout=60, env={"COLUMNS": "200", "PATH": ""},
    )  # fmt: skip
    assert table.returncode == 0, table.stderr
    assert "storefront: 5xx error rate" in table.stdout

    # Scored against the burst's label, as `generate --labels` writes it.
    labels = tmp_path / "incidents.jsonl"
    first = int(BURST.start.timestamp())
    write_labels(labels, [Incident(ERROR_BURST, "storefront", first, first + 300)])
    scored = subprocess.run(
        [LOGIFLOW, "anomalies", *since, *es, "--labels", str(labels), "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    score = json.loads(scored.stdout)
    assert score["kinds"][ERROR_BURST]["recall"] == 1.0
    assert score["kinds"][ERROR_BURST]["delays"][0] <= 1
    assert sum(score["false_alarms"].values()) <= 2  # the unrelated detections above, at most
