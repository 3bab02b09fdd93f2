"""The anomaly query against the real broker and node: minute counts in, anomaly documents out.

Three hours of one service's minute counts (Poisson traffic, 5% 4xx, 0.4% 5xx, lognormal
latencies with their histograms) go to the minute-counts topic, with a 5xx burst at minutes
120-124, a slow tail (8% of requests ten times slower) at minutes 150-154, and each partial sent
twice (as a replayed batch would); the query judges them in Spark's streaming state and writes
anomaly documents. Run again from a new checkpoint, it rewrites the same documents.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
from confluent_kafka import Producer
from elasticsearch import Elasticsearch
from pyspark.sql import SparkSession

from logiflow.anomaly.latency_histogram import bucket_of
from logiflow.anomaly.query import start_anomaly_query
from logiflow.config import LogiflowConfig
from logiflow.contract import anomalies as a
from logiflow.contract import index_names as names
from logiflow.io.topic_admin import create_topics

START = 1_796_083_200  # 2026-12-01T00:00Z
BURST = range(120, 125)
SLOW_TAIL = range(150, 155)


def minute_counts(seed: int = 3, minutes: int = 180) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    rows = []
    for m in range(minutes):
        n = int(rng.poisson(1500 * (1 + 0.2 * math.sin(m / 30))))  # p99 needs 1,000
        e5 = int(rng.binomial(n, 0.3 if m in BURST else 0.004))
        e4 = int(rng.binomial(n - e5, 0.05))
        seconds = rng.lognormal(math.log(0.03), 0.4, n)
        if m in SLOW_TAIL:
            seconds[: n * 8 // 100] *= 10  # 8% ten times slower: the tail, not the typical
        buckets = Counter(str(bucket_of(x)) for x in seconds)
        rows.append(
            {"partial_id": f"p-{m}", "minute": START + 60 * m, "scope": "service",
             "service": "shop", "endpoint": None, "requests": n, "status_4xx": e4,
             "status_5xx": e5, "latency_count": n, "latency_sum_seconds": float(seconds.sum()),
             "latency_log_sum": float(np.log(seconds).sum()), "latency_buckets": buckets}
        )  # fmt: skip
    return rows


def run_query(spark: SparkSession, config: LogiflowConfig, checkpoint: Path) -> None:
    query = start_anomaly_query(spark, config, str(checkpoint), until_caught_up=True)
    query.awaitTermination(300)
    assert query.exception() is None, query.exception()


def test_a_5xx_burst_becomes_anomaly_documents_once(
    spark: SparkSession, pipeline_config: LogiflowConfig, es_client: Elasticsearch, tmp_path: Path
) -> None:
    topic = f"{pipeline_config.kafka.logs_topic}-minutes"
    config = pipeline_config.model_copy(
        update={"anomaly": pipeline_config.anomaly.model_copy(update={"topic": topic})}
    )
    create_topics(config.kafka, [topic])
    producer = Producer({"bootstrap.servers": config.kafka.bootstrap_servers})
    for row in minute_counts():
        for _ in range(2):  # every partial twice: a replayed batch
            producer.produce(topic, json.dumps(row).encode(), key=b"service|shop|", partition=0)
    assert producer.flush(30) == 0

    run_query(spark, config, tmp_path / "first")
    index = names.index_pattern(config.elasticsearch.index_prefix, names.ANOMALIES)
    es_client.indices.refresh(index=index)
    hits = [h["_source"] for h in es_client.search(index=index, size=100)["hits"]["hits"]]
    five_xx = sorted(
        (h[a.TIMESTAMP], h[a.SEVERITY_NAME]) for h in hits if h[a.METRIC] == a.METRIC_RATE_5XX
    )
    burst_minutes = {f"2026-12-01T02:{m - 120:02d}:00.000Z" for m in BURST}
    assert five_xx and {t for t, _ in five_xx} <= burst_minutes, hits
    assert five_xx[0][0] == "2026-12-01T02:00:00.000Z"
    # The slow tail: p95 and p99 from the merged latency histograms, not the typical latency.
    tail_minutes = {f"2026-12-01T02:{m - 120:02d}:00.000Z" for m in SLOW_TAIL}
    tails = (a.METRIC_LATENCY_P95, a.METRIC_LATENCY_P99)
    for metric in tails:
        found = sorted(h[a.TIMESTAMP] for h in hits if h[a.METRIC] == metric)
        assert found and set(found) <= tail_minutes, (metric, hits)
        assert found[0] == "2026-12-01T02:30:00.000Z"
    p95 = next(h for h in hits if h[a.METRIC] == a.METRIC_LATENCY_P95)
    assert p95[a.MESSAGE].startswith("shop: p95 latency ")
    assert p95[a.ACTUAL] > 3 * p95[a.EXPECTED]  # about 0.26 s where 0.06 s was usual
    others = [h for h in hits if h[a.METRIC] not in (a.METRIC_RATE_5XX, *tails)]
    assert len(others) <= 1, others
    first = next(h for h in hits if h[a.TIMESTAMP] == five_xx[0][0])
    assert first[a.MESSAGE].startswith("shop: 5xx error rate ")
    assert first[a.EXPECTED] < 0.01 < 0.2 < first[a.ACTUAL]

    # A second run from scratch (a new checkpoint) rewrites the same documents.
    run_query(spark, config, tmp_path / "second")
    es_client.indices.refresh(index=index)
    assert es_client.count(index=index)["count"] == len(hits)
