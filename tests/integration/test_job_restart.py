"""Done-when: the streaming job killed with SIGKILL mid-run and restarted from its checkpoint
loses nothing and duplicates nothing in Elasticsearch: events, accounting and aggregates.

The job runs as a real ``logiflow etl`` subprocess (continuous trigger, small batches so there
are several), is SIGKILLed once the first batches are indexed, more lines arrive while it is
down, and a second run (until caught up) finishes from the checkpoint.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from confluent_kafka import Producer
from elasticsearch import Elasticsearch

from logiflow.config import LogiflowConfig
from logiflow.contract import index_names as names

LOGIFLOW = str(Path(sys.executable).with_name("logiflow"))


def _line(n: int) -> str:
    minute, second = divmod(n % 3600, 60)
    return (
        f"203.0.113.{n % 250} - - [24/Nov/2026:11:{minute:02d}:{second:02d} +0000] "
        f'"GET /items/{n} HTTP/1.1" 200 {n} "-" "curl/8.5.0"'
    )


def _produce(config: LogiflowConfig, numbers: range) -> None:
    producer = Producer(
        {
            "bootstrap.servers": config.kafka.bootstrap_servers,
            "acks": "all",
            "enable.idempotence": True,
        }
    )
    for n in numbers:
        producer.produce(config.kafka.logs_topic, _line(n).encode(), key=b"h/web")
    assert producer.flush(30) == 0


def _write_config(config: LogiflowConfig, path: Path, max_offsets: int, **spark: str) -> Path:
    data = config.model_dump(mode="json", exclude={"local"})
    data["kafka"]["max_offsets_per_trigger"] = max_offsets
    data["spark"].update(spark)
    data["spark"]["conf"] = {"spark.ui.enabled": "false", **data["spark"]["conf"]}
    data["spark"]["master"] = "local[2]"
    # The state dir holds Spark's log of `logiflow etl`: the test's own, not the user's.
    data["local"] = {"cache_dir": str(config.local.cache_dir), "state_dir": str(path.parent)}
    path.write_text(yaml.safe_dump(data))
    return path


def _events(es: Elasticsearch, prefix: str) -> int:
    pattern = names.index_pattern(prefix, names.EVENTS)
    es.indices.refresh(index=pattern, allow_no_indices=True, ignore_unavailable=True)
    return es.count(index=pattern, allow_no_indices=True)["count"]


def test_sigkill_and_restart_lose_and_duplicate_nothing(
    pipeline_config: LogiflowConfig, es_client: Elasticsearch, tmp_path: Path
) -> None:
    prefix = pipeline_config.elasticsearch.index_prefix
    # Small batches for the first run, so it is killed with some batches committed and more to
    # come; the second run may read the rest at once (the offsets come from the checkpoint).
    config_file = _write_config(
        pipeline_config, tmp_path / "config.yaml", 150, trigger_interval="1 second"
    )
    catch_up_file = _write_config(pipeline_config, tmp_path / "catch-up.yaml", 100_000)
    _produce(pipeline_config, range(0, 900))

    log = (tmp_path / "first-run.log").open("w")
    job = subprocess.Popen(
        [LOGIFLOW, "--config", str(config_file), "etl"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 420
        while _events(es_client, prefix) == 0:
            assert job.poll() is None, (tmp_path / "first-run.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the first run indexed nothing in time"
            time.sleep(1)
        # Mid-run: some batches are committed, the rest of the backlog is not.
        os.killpg(job.pid, signal.SIGKILL)
        job.wait(30)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait(30)
        log.close()
    indexed_at_kill = _events(es_client, prefix)
    assert 0 < indexed_at_kill < 900 + 300

    _produce(pipeline_config, range(900, 1200))  # arrives while the job is down
    second = subprocess.Popen(
        [LOGIFLOW, "--config", str(catch_up_file), "etl", "--until-caught-up"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, errors = second.communicate(timeout=600)
    finally:
        if second.poll() is None:  # timed out: take its Spark JVM down with it
            os.killpg(second.pid, signal.SIGKILL)
            second.wait(30)
    assert second.returncode == 0, errors[-3000:]

    assert _events(es_client, prefix) == 1200
    es_client.indices.refresh(index=f"{prefix}-*")
    # One document per Kafka record: ids are the coordinates, so a replay overwrote.
    agg = es_client.search(
        index=names.index_pattern(prefix, names.EVENTS),
        size=0,
        aggs={"paths": {"cardinality": {"field": "url.path", "precision_threshold": 4000}}},
    )
    assert agg["aggregations"]["paths"]["value"] == 1200
    # The accounting documents of both runs still add up to the input, once.
    batches = es_client.search(index=names.batches_index(prefix), size=1000)["hits"]["hits"]
    assert sum(h["_source"][names.COUNT_INPUT] for h in batches) == 1200
    assert sum(h["_source"][names.COUNT_INDEXED] for h in batches) == 1200
    # The aggregate partials too: the replayed batch rewrote its own, so every minute adds up.
    assert _aggregates_per_minute(es_client, prefix) == {
        f"2026-11-24T11:{minute:02d}:00.000Z": (60, sum(range(minute * 60, minute * 60 + 60)))
        for minute in range(20)
    }


def _aggregates_per_minute(es: Elasticsearch, prefix: str) -> dict[str, tuple[int, int]]:
    """Window start -> (events, bytes), summed over the service-scope partials."""
    hits = es.search(
        index=names.index_pattern(prefix, names.AGGREGATES),
        query={"term": {"logiflow.agg.scope": "service"}},
        size=10_000,
    )["hits"]["hits"]
    sums: dict[str, tuple[int, int]] = {}
    for hit in hits:
        doc = hit["_source"]
        events, size = sums.get(doc["@timestamp"], (0, 0))
        sums[doc["@timestamp"]] = (
            events + doc["logiflow.agg.events"],
            size + doc["logiflow.agg.bytes"],
        )
    return sums
