"""Anomaly detection through the whole pipeline: generated traffic with a labelled 5xx burst
goes through the real ETL (events query, minute counts on Kafka, anomalies query) into the real
Elasticsearch, and the burst, and nothing else of note, comes out as anomaly documents; the
terminal listing, the scoring against labels, the driver's counter and the dashboards' panel all
show the same documents."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from integration_support import pipeline_config_named
from kafka_records import write_topic
from prometheus_client import REGISTRY
from pyspark.sql import SparkSession
from web_dashboard import Console, chromium, running_dashboard

from logiflow.anomaly.evaluation import ERROR_BURST, Incident
from logiflow.anomaly.labels import write_labels
from logiflow.config import LogiflowConfig
from logiflow.contract import anomalies as a
from logiflow.contract import index_names as names
from logiflow.contract import metrics as m
from logiflow.contract.kafka_records import record_key
from logiflow.dashboard.fetch import run_panels
from logiflow.dashboard.panels import PANELS_BY_ID
from logiflow.dashboard.queries import TimeRange
from logiflow.ingest.generator import ErrorBurst, TrafficGenerator, TrafficProfile
from logiflow.io.topic_admin import create_topics
from logiflow.job import run_etl
from logiflow.local.servers import LocalStack

LOGIFLOW = str(Path(sys.executable).with_name("logiflow"))
START = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
BURST = ErrorBurst(START + dt.timedelta(minutes=100), dt.timedelta(minutes=5), "storefront", 0.5)
SPAN = TimeRange(START, START + dt.timedelta(hours=3))


def _minutes(*offsets: int) -> set[str]:
    return {
        (BURST.start + dt.timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M:00.000Z") for m in offsets
    }


def _detected_samples() -> dict[tuple[str, str, str], float]:
    """The anomaly counter's value per (service, metric, severity), in this process."""
    return {
        (s.labels["service"], s.labels["metric"], s.labels["severity"]): s.value
        for family in REGISTRY.collect()
        if family.name == m.ANOMALIES_DETECTED.name
        for s in family.samples
        if s.name == m.ANOMALIES_DETECTED.sample_name
    }


@dataclass(frozen=True)
class BurstRun:
    config: LogiflowConfig
    found: list[dict]  # the anomaly documents
    counted: Counter  # what the driver's counter added during the run

    def cli(self, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        es = ["--es-host", self.config.elasticsearch.hosts[0]]
        es += ["--index-prefix", self.config.elasticsearch.index_prefix]
        since = ["--since", START.isoformat(), "--limit", "500"]
        result = subprocess.run(
            [LOGIFLOW, "anomalies", *since, *es, *args],
            capture_output=True, text=True, timeout=60, check=False, **kwargs,
        )  # type: ignore[call-overload]  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result

    def storefront_5xx(self) -> list[str]:
        return sorted(
            f[a.TIMESTAMP]
            for f in self.found
            if f[a.SERVICE] == "storefront" and f[a.METRIC] == a.METRIC_RATE_5XX
        )


@pytest.fixture(scope="module")
def burst_run(
    spark: SparkSession,
    local_stack: LocalStack,
    es_client: Elasticsearch,
    tmp_path_factory: pytest.TempPathFactory,
) -> BurstRun:
    name = f"t-anomaly-burst-{uuid.uuid4().hex[:8]}"
    base = pipeline_config_named(local_stack, name, tmp_path_factory.mktemp("checkpoints"))
    topic = f"{name}-minutes"
    config = base.model_copy(
        update={
            "anomaly": base.anomaly.model_copy(
                update={"enabled": True, "topic": topic, "warmup_windows": 30}
            ),
            "kafka": base.kafka.model_copy(update={"max_offsets_per_trigger": 3000}),
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
    before = _detected_samples()
    result = run_etl(config, until_caught_up=True, spark=spark)
    assert result.totals["indexed"] == len(lines)
    counted = Counter(_detected_samples()) - Counter(before)
    index = names.index_pattern(name, names.ANOMALIES)
    es_client.indices.refresh(index=index)
    found = [h["_source"] for h in es_client.search(index=index, size=500)["hits"]["hits"]]
    return BurstRun(config, found, counted)


def test_the_burst_is_found_within_two_windows_and_little_else(burst_run: BurstRun) -> None:
    storefront_5xx = burst_run.storefront_5xx()
    assert storefront_5xx and set(storefront_5xx) <= _minutes(*range(5)), burst_run.found
    assert storefront_5xx[0] in _minutes(0, 1)  # detected within two windows
    unrelated = [
        f
        for f in burst_run.found
        if f[a.TIMESTAMP] not in _minutes(*range(5)) or f[a.SERVICE] != "storefront"
    ]
    assert len(unrelated) <= 2, unrelated


def test_the_drivers_counter_counts_each_document_written(burst_run: BurstRun) -> None:
    written = Counter((f[a.SERVICE], f[a.METRIC], f[a.SEVERITY_NAME]) for f in burst_run.found)
    assert burst_run.counted == written


def test_the_terminal_lists_the_same_documents(burst_run: BurstRun) -> None:
    def canonical(docs: list[dict]) -> list[str]:
        return sorted(json.dumps(d, sort_keys=True) for d in docs)

    listed = burst_run.cli("--json")
    assert canonical(json.loads(listed.stdout)) == canonical(burst_run.found)
    table = burst_run.cli("--service", "storefront", env={"COLUMNS": "200", "PATH": ""})
    assert "storefront: 5xx error rate" in table.stdout


def test_scored_against_the_bursts_label(burst_run: BurstRun, tmp_path: Path) -> None:
    labels = tmp_path / "incidents.jsonl"
    first = int(BURST.start.timestamp())
    write_labels(labels, [Incident(ERROR_BURST, "storefront", first, first + 300)])
    score = json.loads(burst_run.cli("--labels", str(labels), "--json").stdout)
    assert score["kinds"][ERROR_BURST]["recall"] == 1.0
    assert score["kinds"][ERROR_BURST]["delays"][0] <= 1
    assert sum(score["false_alarms"].values()) <= 2  # the unrelated detections, at most


def test_the_dashboards_anomalies_panel_shows_them(
    burst_run: BurstRun, es_client: Elasticsearch
) -> None:
    prefix = burst_run.config.elasticsearch.index_prefix
    [panel] = run_panels(es_client, [PANELS_BY_ID["anomalies"]], prefix, SPAN).values()
    assert {(service, metric): n for service, metric, n in panel.rows} == Counter(
        (f[a.SERVICE], f[a.METRIC]) for f in burst_run.found
    )
    window = f"start={SPAN.start:%Y-%m-%dT%H:%M:%SZ}&end={SPAN.end:%Y-%m-%dT%H:%M:%SZ}"
    with chromium() as browser, running_dashboard(burst_run.config) as url:
        page = browser.new_page()
        console = Console(page)
        page.goto(f"{url}/?range=custom&{window}")
        table = page.locator(".panel[data-panel='anomalies'] table")
        table.wait_for(timeout=30_000)
        cells = [row.split("\t") for row in table.locator("tbody tr").all_inner_texts()]
        shown = ["storefront", a.METRIC_RATE_5XX, str(len(burst_run.storefront_5xx()))]
        assert shown in cells, cells
        assert not console.errors, console.errors
