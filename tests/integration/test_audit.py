"""``logiflow audit`` against the real pipeline: passes on what the ETL wrote, and fails naming
the exact discrepancy (partition, offsets, batch, counts) when documents or a batch's
accounting go missing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from confluent_kafka import Producer
from elasticsearch import Elasticsearch
from kafka_records import expire_all_records
from pyspark.sql import SparkSession

from logiflow.config import LogiflowConfig
from logiflow.contract import index_names as names
from logiflow.contract.offset_ranges import OffsetRange
from logiflow.job import run_etl

LOGIFLOW = str(Path(sys.executable).with_name("logiflow"))
LINES = 3_000


def _line(n: int) -> str:
    if n % 37 == 0:
        return f"not a log line {n}"
    minute, second = divmod(n % 3600, 60)
    return (
        f"198.51.100.{n % 250} - - [24/Nov/2026:10:{minute % 60:02d}:{second:02d} +0000] "
        f'"GET /items/{n} HTTP/1.1" 200 {n} "-" "curl/8.5.0"'
    )


def _produce(config: LogiflowConfig) -> None:
    producer = Producer({"bootstrap.servers": config.kafka.bootstrap_servers, "acks": "all"})
    for n in range(LINES):
        producer.produce(config.kafka.logs_topic, _line(n).encode(), partition=n % 2)
    assert producer.flush(30) == 0


def audit(config_file: Path) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [LOGIFLOW, "--config", str(config_file), "audit", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    return done.returncode, json.loads(done.stdout)


def _accounting(es: Elasticsearch, prefix: str) -> list[dict[str, Any]]:
    index = names.batches_index(prefix)
    es.indices.refresh(index=index)
    hits = es.search(index=index, size=1000)["hits"]["hits"]
    return sorted(hits, key=lambda h: h["_source"][names.BATCH_ID])


def test_audit_names_missing_documents_and_a_missing_batch(
    spark: SparkSession, pipeline_config: LogiflowConfig, es_client: Elasticsearch, tmp_path: Path
) -> None:
    config = pipeline_config.model_copy(
        update={"kafka": pipeline_config.kafka.model_copy(update={"max_offsets_per_trigger": 500})}
    )
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    _produce(config)
    run_etl(config, until_caught_up=True, spark=spark)
    prefix, topic = config.elasticsearch.index_prefix, config.kafka.logs_topic

    code, result = audit(config_file)
    assert (code, result["discrepancies"]) == (0, [])
    assert [(p["produced"], p["read"], p["documents"]) for p in result["partitions"]] == [
        (LINES // 2, LINES // 2, LINES // 2)
    ] * 2
    batches = _accounting(es_client, prefix)
    assert len(batches) >= 6
    dead_letters = sum(1 for n in range(LINES) if n % 37 == 0)
    assert [p["replayed_up_to"] for p in result["dead_letters"]] == [None, None]
    assert sum(p["pending_replay"] for p in result["dead_letters"]) == dead_letters
    assert not [n for n in result["notes"] if n["kind"] == "dead_letters_expired"]

    # Retention deletes the dead letters before any replay: named per partition, not a failure.
    dead_topic = config.kafka.dead_letter_topic or ""
    assert expire_all_records(config.kafka.bootstrap_servers, dead_topic) == dead_letters
    code, result = audit(config_file)
    assert (code, result["discrepancies"]) == (0, [])
    expired = [n for n in result["notes"] if n["kind"] == "dead_letters_expired"]
    assert sorted((n["offsets"]["partition"], n["offsets"]["last"] + 1) for n in expired) == [
        (p["partition"], p["log_end"]) for p in result["dead_letters"] if p["log_end"]
    ]
    assert sum(p["expired_before_replay"] for p in result["dead_letters"]) == dead_letters

    # Three events of one batch deleted: that batch's range is named, three missing.
    doc = batches[1]["_source"]
    [span] = [
        OffsetRange.from_document(r) for r in doc[names.BATCH_OFFSET_RANGES] if r["partition"] == 0
    ]
    doomed = [f"{topic}-0-{o}" for o in range(span.first_offset, span.last_offset + 1)
              if o * 2 % 37][:3]  # fmt: skip
    # One by one: the minimal local node has no _delete_by_query (the reindex module).
    found = es_client.search(
        index=names.index_pattern(prefix, names.EVENTS), query={"ids": {"values": doomed}}
    )["hits"]["hits"]
    assert len(found) == 3
    for hit in found:
        es_client.delete(index=hit["_index"], id=hit["_id"], refresh=True)
    missing = {
        "kind": "documents",
        "message": (
            f"{topic}[0] offsets {span.first_offset}..{span.last_offset} (batch "
            f"{doc[names.BATCH_ID]} of checkpoint {doc[names.BATCH_CHECKPOINT]}): {span.records} "
            f"records read, 0 filtered, so {span.records} documents expected, "
            f"{span.records - 3} found in the events and dead-letter indices (3 missing)"
        ),
        "offsets": {
            "topic": topic,
            "partition": 0,
            "first": span.first_offset,
            "last": span.last_offset,
        },
    }
    code, result = audit(config_file)
    assert (code, result["discrepancies"]) == (1, [missing])

    # One batch's accounting deleted: its offsets are a gap in each partition it read.
    victim = batches[3]
    es_client.delete(index=names.batches_index(prefix), id=victim["_id"], refresh=True)
    gaps = [
        {
            "kind": "gap",
            "message": (
                f"{topic}[{r.partition}] offsets {r.first_offset}..{r.last_offset} were produced "
                f"but no committed batch read them; Elasticsearch holds {r.records} document(s) "
                "for them, so the accounting of the batch that wrote them is missing"
            ),
            "offsets": {
                "topic": topic,
                "partition": r.partition,
                "first": r.first_offset,
                "last": r.last_offset,
            },
        }
        for r in map(OffsetRange.from_document, victim["_source"][names.BATCH_OFFSET_RANGES])
    ]
    code, result = audit(config_file)
    assert code == 1
    assert sorted(result["discrepancies"], key=json.dumps) == sorted(
        [missing, *gaps], key=json.dumps
    )
