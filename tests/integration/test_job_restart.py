"""Done-when: the streaming job SIGKILLed again and again mid-run, each time restarted from its
checkpoint, loses nothing and duplicates nothing in Elasticsearch, and ``logiflow audit``
proves it independently: events, dead letters, filtered lines, accounting and aggregates.

100,000 lines (1 in 37 malformed, 1 in 101 a health check the drop rules filter) over two
partitions. A real ``logiflow etl`` subprocess (continuous trigger, small batches) is SIGKILLed
10 times at random points (fixed seed): each time once a new batch has been accounted for, plus
a random delay, so kills land mid-batch, between batches and during start-up alike. A last run
(until caught up) finishes from the checkpoint; then the audit must pass and every minute's
aggregates must equal the ground truth computed from the lines.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka import Producer
from continuous_etl import write_etl_config
from elasticsearch import Elasticsearch

from logiflow.config import LogiflowConfig
from logiflow.contract import ecs
from logiflow.contract import index_names as names

LOGIFLOW = str(Path(sys.executable).with_name("logiflow"))
LINES = 100_000
KILLS = 10
SEED = 12
LINES_PER_MINUTE = 1_000


def _is_malformed(n: int) -> bool:
    return n % 37 == 0


def _is_health_check(n: int) -> bool:
    return n % 101 == 0 and not _is_malformed(n)


def _minute(base: datetime, n: int) -> datetime:
    return base + timedelta(minutes=n // LINES_PER_MINUTE)


def _line(base: datetime, n: int) -> str:
    if _is_malformed(n):
        return f"%%% not a log line {n} %%%"
    when = _minute(base, n) + timedelta(seconds=n % 60)
    path = "/healthz" if _is_health_check(n) else f"/items/{n}"
    return (
        f"203.0.113.{n % 250} - - [{when:%d/%b/%Y:%H:%M:%S} +0000] "
        f'"GET {path} HTTP/1.1" 200 {n} "-" "curl/8.5.0"'
    )


def _produce(config: LogiflowConfig, base: datetime) -> None:
    producer = Producer(
        {
            "bootstrap.servers": config.kafka.bootstrap_servers,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 50,
        }
    )
    for n in range(LINES):
        producer.produce(
            config.kafka.logs_topic, _line(base, n).encode(), key=b"h/web", partition=n % 2
        )
        if n % 10_000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0


# The drop rule makes some lines "filtered", the one outcome that leaves no document.
HEALTH_CHECKS = [{"name": "health", "field": "url.path", "op": "equals", "value": "/healthz"}]


def _config_file(config: LogiflowConfig, path: Path, max_offsets: int, **spark: str) -> Path:
    return write_etl_config(config, path, max_offsets, HEALTH_CHECKS, **spark)


def _count(es: Elasticsearch, index: str) -> int:
    es.indices.refresh(index=index, allow_no_indices=True, ignore_unavailable=True)
    return es.count(index=index, allow_no_indices=True, ignore_unavailable=True)["count"]


def _kill_after_progress(
    job: subprocess.Popen[bytes], es: Elasticsearch, batches_index: str, delay: float, log: Path
) -> None:
    """SIGKILL the job ``delay`` seconds after it accounts for one more batch than before."""
    before = _count(es, batches_index)
    # Generous: a batch took minutes when other test runs loaded this 2-core machine 40-fold.
    deadline = time.monotonic() + 900
    while _count(es, batches_index) <= before:
        assert job.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "the job accounted for no new batch in time"
        time.sleep(0.5)
    time.sleep(delay)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait(30)


def _run(args: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    process = subprocess.Popen(
        [LOGIFLOW, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:  # timed out: take its Spark JVM down with it
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_ten_sigkills_lose_and_duplicate_nothing_and_the_audit_proves_it(
    pipeline_config: LogiflowConfig, es_client: Elasticsearch, tmp_path: Path
) -> None:
    started = time.monotonic()
    prefix = pipeline_config.elasticsearch.index_prefix
    base = (datetime.now(UTC) - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    # Small batches while killing, so every run commits some and leaves more to do; the last
    # run may read the rest at once (the offsets come from the checkpoint).
    config_file = _config_file(
        pipeline_config, tmp_path / "config.yaml", 2_000, trigger_interval="1 second"
    )
    catch_up_file = _config_file(pipeline_config, tmp_path / "catch-up.yaml", 100_000)
    _produce(pipeline_config, base)

    chance = random.Random(SEED)
    batches_index = names.batches_index(prefix)
    for kill in range(KILLS):
        log = tmp_path / f"run-{kill}.log"
        with log.open("w") as out:
            job = subprocess.Popen(
                [LOGIFLOW, "--config", str(config_file), "etl"],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                _kill_after_progress(job, es_client, batches_index, chance.uniform(0, 3), log)
            finally:
                if job.poll() is None:
                    os.killpg(job.pid, signal.SIGKILL)
                    job.wait(30)
    killed_at = time.monotonic()
    assert _count(es_client, names.index_pattern(prefix, names.EVENTS)) < LINES

    last = _run(["--config", str(catch_up_file), "etl", "--until-caught-up"])
    assert last.returncode == 0, last.stderr[-3000:]
    audit = _run(["--config", str(catch_up_file), "audit", "--json"], timeout=120)
    print(
        f"\n{KILLS} kills: {killed_at - started:.0f} s, catch-up and audit: "
        f"{time.monotonic() - killed_at:.0f} s"
    )
    assert audit.returncode == 0, audit.stdout[-3000:] + audit.stderr[-3000:]
    report = json.loads(audit.stdout)
    assert report["ok"] and report["discrepancies"] == []
    assert sum(p["produced"] for p in report["partitions"]) == LINES

    _assert_ground_truth(es_client, prefix, base)


def _assert_ground_truth(es: Elasticsearch, prefix: str, base: datetime) -> None:
    malformed = [n for n in range(LINES) if _is_malformed(n)]
    health = [n for n in range(LINES) if _is_health_check(n)]
    indexed = [n for n in range(LINES) if not _is_malformed(n) and not _is_health_check(n)]
    assert _count(es, names.index_pattern(prefix, names.EVENTS)) == len(indexed)
    assert _count(es, names.index_pattern(prefix, names.DEAD_LETTER)) == len(malformed)
    # One document per line: every path once (ids are the Kafka coordinates, so replays
    # overwrote).
    assert _path_counts(es, prefix) == Counter({f"/items/{n}": 1 for n in indexed})
    # The accounting documents of all runs add up to the input, once (a replayed batch
    # rewrote its own).
    batches = es.search(index=names.batches_index(prefix), size=10_000)["hits"]["hits"]
    assert sum(h["_source"][names.COUNT_INPUT] for h in batches) == LINES
    assert sum(h["_source"][names.COUNT_INDEXED] for h in batches) == len(indexed)
    assert sum(h["_source"][names.COUNT_FILTERED] for h in batches) == len(health)
    assert sum(h["_source"][names.COUNT_DEAD_LETTER] for h in batches) == len(malformed)
    # The aggregate partials too: every minute adds up to the lines of that minute.
    truth: dict[str, tuple[int, int]] = {}
    for n in indexed:
        key = _minute(base, n).strftime("%Y-%m-%dT%H:%M:00.000Z")
        events, size = truth.get(key, (0, 0))
        truth[key] = (events + 1, size + n)
    assert _aggregates_per_minute(es, prefix) == truth


def _path_counts(es: Elasticsearch, prefix: str) -> Counter[str]:
    """Documents per url.path, read exactly (composite pages, not an approximate cardinality)."""
    counts: Counter[str] = Counter()
    after = None
    while True:
        composite = {"size": 10_000, "sources": [{"path": {"terms": {"field": ecs.URL_PATH}}}]}
        if after:
            composite["after"] = after
        response = es.search(
            index=names.index_pattern(prefix, names.EVENTS),
            size=0,
            aggs={"paths": {"composite": composite}},
        )
        buckets = response["aggregations"]["paths"]["buckets"]
        counts.update({b["key"]["path"]: b["doc_count"] for b in buckets})
        after = response["aggregations"]["paths"].get("after_key")
        if not buckets or after is None:
            return counts


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
