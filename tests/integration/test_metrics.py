"""Done-when (issue 13, on one machine): the metrics a real local Prometheus scraped agree
exactly with the accounting documents, Elasticsearch's counts and Kafka's offsets, the ETL's
consumer group sits at the topic's end, and every query of the Grafana dashboard returns data
from that Prometheus: the Kafka panels from the local broker's Strimzi metrics reporter (as on
the cluster), the Elasticsearch panels from the local elasticsearch_exporter; only Kafka
Exporter's series (a cluster-only Deployment) are checked to parse. The series the chart's Kafka
and Elasticsearch alerts read are there too.

One stand (metrics_stand.py) serves the module: a continuous ``logiflow etl``, a following
``logiflow ship`` and a ``logiflow dashboard``, each serving its metrics, and Prometheus.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient
from continuous_etl import access_line
from elasticsearch import Elasticsearch
from metrics_stand import MetricsStand, metrics_stand

from logiflow.contract import index_names as names
from logiflow.contract import metrics as m
from logiflow.ingest.producer import end_offsets
from logiflow.io.topic_admin import create_topics
from logiflow.local.servers import LocalStack

DASHBOARD_JSON = (
    Path(__file__).parents[2] / "charts" / "logiflow" / "dashboards" / "logiflow-grafana.json"
)
RULES = DASHBOARD_JSON.parents[1] / "templates" / "monitoring" / "_rules.tpl"
# Series that exist only on a cluster: Strimzi's Kafka Exporter (kafka_consumergroup_*,
# kafka_topic_*). Their queries must parse; data cannot exist.
CLUSTER_ONLY_PREFIXES = ("kafka_consumergroup_", "kafka_topic_")
# Grafana's own variables, as Grafana would expand them for a short range.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "5m"}

VALID, MALFORMED, HEALTH = 300, 20, 30
TOTAL = VALID + MALFORMED + HEALTH


def _lines() -> list[str]:
    valid = [access_line(n) for n in range(VALID)]
    malformed = [f"this is not an access log line #{n}" for n in range(MALFORMED)]
    health = [access_line(n).replace(f"/items/{n} ", "/healthz ") for n in range(HEALTH)]
    return valid + malformed + health


@pytest.fixture(scope="module")
def stand(
    local_stack: LocalStack, es_client: Elasticsearch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MetricsStand]:
    workdir = tmp_path_factory.mktemp("metrics")
    prefix = f"t-metrics-{int(time.time())}"
    base = local_stack.config
    kafka = base.kafka.model_copy(
        update={
            "logs_topic": f"{prefix}-logs",
            "dead_letter_topic": f"{prefix}-dlq",
            "consumer_group": f"{prefix}-etl",
        }
    )
    create_topics(base.kafka, [kafka.logs_topic, kafka.dead_letter_topic])
    config = base.model_copy(
        update={
            "kafka": kafka,
            "elasticsearch": base.elasticsearch.model_copy(update={"index_prefix": prefix}),
            "spark": base.spark.model_copy(update={"checkpoint_dir": str(workdir / "cp")}),
        }
    )
    with metrics_stand(config, workdir, _lines()) as running:
        _wait_accounted(running, es_client, TOTAL)
        _wait_scraped(running)
        _ask_dashboard(running)
        yield running


def _accounting(es: Elasticsearch, prefix: str) -> dict[str, int]:
    index = names.batches_index(prefix)
    es.indices.refresh(index=index, ignore_unavailable=True)
    fields = (names.COUNT_INPUT, names.COUNT_INDEXED, names.COUNT_FILTERED, names.COUNT_DEAD_LETTER)
    answer = es.search(
        index=index,
        size=0,
        ignore_unavailable=True,
        aggs={f: {"sum": {"field": f}} for f in fields},
    )
    aggs = answer.get("aggregations") or {}
    return {f: int(aggs[f]["value"]) if f in aggs else 0 for f in fields}


def _wait_accounted(stand: MetricsStand, es: Elasticsearch, total: int) -> None:
    deadline = time.monotonic() + 400
    prefix = stand.config.elasticsearch.index_prefix
    while (seen := _accounting(es, prefix)[names.COUNT_INPUT]) < total:
        stand.assert_running()
        assert time.monotonic() < deadline, f"{seen} of {total} lines accounted in time"
        time.sleep(2)


def _wait_scraped(stand: MetricsStand) -> None:
    """Until Prometheus has the final values: everything read, acknowledged, no lag."""
    checks = {
        f"sum({m.ETL_RECORDS_READ.sample_name})": TOTAL,
        f"sum({m.SHIPPER_LINES_ACKED.sample_name})": TOTAL,
        f"sum({m.ETL_CONSUMER_LAG_RECORDS.sample_name})": 0,
    }
    deadline = time.monotonic() + 90
    while True:
        values = {expr: stand.value(expr) for expr in checks}
        if values == checks:
            return
        stand.assert_running()
        assert time.monotonic() < deadline, f"Prometheus has {values}, expected {checks}"
        time.sleep(1)


def _ask_dashboard(stand: MetricsStand) -> None:
    """Two data requests, a few scrapes apart, so the dashboard's rates have data."""
    for _ in range(2):
        assert requests.get(f"{stand.dashboard_url}/api/data", timeout=60).status_code == 200
        time.sleep(3)


def test_metrics_agree_with_accounting_elasticsearch_and_kafka(
    stand: MetricsStand, es_client: Elasticsearch
) -> None:
    prefix = stand.config.elasticsearch.index_prefix
    accounted = _accounting(es_client, prefix)
    es_client.indices.refresh(index=f"{prefix}-*")
    events = es_client.count(index=names.index_pattern(prefix, names.EVENTS))["count"]
    dead = es_client.count(index=names.index_pattern(prefix, names.DEAD_LETTER))["count"]

    assert accounted == {
        names.COUNT_INPUT: TOTAL,
        names.COUNT_INDEXED: VALID,
        names.COUNT_FILTERED: HEALTH,
        names.COUNT_DEAD_LETTER: MALFORMED,
    }
    topic = stand.config.kafka.logs_topic
    assert stand.value(f'{m.ETL_RECORDS_READ.sample_name}{{topic="{topic}"}}') == TOTAL
    assert stand.value(m.ETL_EVENTS_INDEXED.sample_name) == accounted[names.COUNT_INDEXED] == events
    assert stand.value(m.ETL_RECORDS_FILTERED.sample_name) == accounted[names.COUNT_FILTERED]
    assert stand.value(f"sum({m.ETL_DEAD_LETTERS.sample_name})") == dead == MALFORMED
    assert (
        stand.value(f'{m.ETL_DEAD_LETTERS.sample_name}{{reason="{m.REASON_NO_FORMAT_MATCHED}"}}')
        == MALFORMED
    )
    assert stand.value(f"sum({m.ETL_ES_RETRIES.sample_name})") == 0
    assert stand.value(m.ETL_SINK_WAITING.name) == 0
    assert stand.value(f"{m.ETL_BATCH_ROWS.name}_sum") == TOTAL
    assert stand.value(f"{m.ETL_LAST_BATCH_TIMESTAMP.name} > 0") is not None
    _assert_caught_up_in_kafka(stand)
    _assert_shipper(stand)
    # Elasticsearch's own count, through its exporter: every event at least (aggregates too).
    assert (stand.value("sum(elasticsearch_indices_indexing_index_total)") or 0) >= VALID
    _assert_dashboard_health(stand)


def _assert_dashboard_health(stand: MetricsStand) -> None:
    """The local dashboard's live "Pipeline health" figures, from this Prometheus."""
    health = requests.get(f"{stand.dashboard_url}/api/health", timeout=60).json()
    assert health["source"] == stand.prometheus.address and health["error"] is None
    figures = {f["label"]: f["value"] for f in health["figures"]}
    assert figures["Records read"] == TOTAL
    assert figures["Indexed"] == VALID
    assert figures["Dead letters"] == MALFORMED
    assert figures["Consumer lag"] == 0
    assert figures["Waiting for Elasticsearch"] == 0
    assert figures["Since last batch"] is not None and figures["Since last batch"] >= 0


def _assert_caught_up_in_kafka(stand: MetricsStand) -> None:
    """Lag 0 on every partition, and the consumer group's offsets are the topic's end."""
    kafka = stand.config.kafka
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    partitions = len(
        admin.list_topics(kafka.logs_topic, timeout=30).topics[kafka.logs_topic].partitions
    )
    ends = end_offsets(admin, kafka.logs_topic, partitions)
    assert sum(ends.values()) == TOTAL
    lag = stand.query(m.ETL_CONSUMER_LAG_RECORDS.name)["data"]["result"]
    assert {int(s["metric"]["partition"]): float(s["value"][1]) for s in lag} == dict.fromkeys(
        ends, 0.0
    )
    assert stand.value(f"max({m.ETL_CONSUMER_LAG_SECONDS.name})") == 0
    request = ConsumerGroupTopicPartitions(
        kafka.consumer_group, [TopicPartition(kafka.logs_topic, p) for p in ends]
    )
    answer = admin.list_consumer_group_offsets([request])[kafka.consumer_group].result(30)
    committed = {tp.partition: tp.offset for tp in answer.topic_partitions}
    assert committed == ends


def _assert_shipper(stand: MetricsStand) -> None:
    path = str(stand.log_file)
    read = stand.value(f'{m.SHIPPER_LINES_READ.sample_name}{{path="{path}"}}')
    assert read == stand.value(f'{m.SHIPPER_LINES_ACKED.sample_name}{{path="{path}"}}') == TOTAL
    assert stand.value(m.SHIPPER_LINES_QUEUED.name) == 0
    position = stand.value(f'{m.SHIPPER_FILE_POSITION.name}{{path="{path}"}}')
    assert position == stand.log_file.stat().st_size


def dashboard_queries() -> list[str]:
    """Every PromQL expression in the Grafana dashboard's panels, Grafana variables expanded."""
    dashboard = json.loads(DASHBOARD_JSON.read_text())
    exprs = []
    for panel in _panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            exprs.append(expr)
    return exprs


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def test_every_dashboard_query_returns_data_from_the_local_prometheus(
    stand: MetricsStand,
) -> None:
    exprs = dashboard_queries()
    assert len(exprs) >= 15
    empty, broken = [], []
    for expr in exprs:
        answer = stand.query(expr)
        if answer["http_status"] != 200 or answer["status"] != "success":
            broken.append(f"{expr}: {answer.get('error')}")
        elif not any(p in expr for p in CLUSTER_ONLY_PREFIXES) and not answer["data"]["result"]:
            empty.append(expr)
    assert broken == [], "queries that do not parse"
    assert empty == [], "queries without data from the local Prometheus"


def test_the_kafka_and_elasticsearch_alerts_read_series_the_local_servers_export(
    stand: MetricsStand,
) -> None:
    """The chart's rules select their release by job and namespace, which only a cluster has;
    the series they read must exist as named (Strimzi's reporter, elasticsearch_exporter)."""
    series = set(re.findall(r"\b(?:kafka_server|elasticsearch)_\w+", RULES.read_text()))
    assert "kafka_server_replicamanager_underreplicatedpartitions" in series
    assert {s for s in series if s.startswith("elasticsearch_")}
    missing = [name for name in sorted(series) if not stand.query(name)["data"]["result"]]
    assert missing == [], "series the alerts read that no local server exports"
