"""Elasticsearch's ceiling: the job's own event documents bulk-indexed by a lean client.

The documents are the ones the pipeline wrote during the run (read back with a scroll, so they
are exactly the final ECS documents: every field, the same sizes), repeated with new ids up to
``count``, and indexed into a fresh index of a second prefix that es-setup gave the same events
template. The bulk bodies are serialized before the clock starts, and two threads send them
over plain HTTP (``requests``), so the figure is Elasticsearch's, not the client's. Ids are
given, as the job gives them (an id costs Elasticsearch a lookup). The time runs until the last
bulk response; the index's refresh interval stays the template's. The cores Elasticsearch and
the senders used meanwhile are measured too: whether the ceiling is Elasticsearch's CPU.
"""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan

from logiflow.config import ElasticsearchSettings
from logiflow.contract import index_names as names
from logiflow.io.es_setup import setup_elasticsearch

from .observe import CpuMeter

STREAMS = 2


@dataclass(frozen=True)
class Ceiling:
    documents: int
    seconds: float
    docs_per_s: float
    distinct_documents: int
    chunk_size: int
    streams: int = STREAMS
    cpu_cores: dict[str, float] = field(default_factory=dict)


def read_documents(es: Elasticsearch, prefix: str, most: int) -> list[dict[str, Any]]:
    pattern = names.index_pattern(prefix, names.EVENTS)
    hits = scan(es, index=pattern, query={"query": {"match_all": {}}}, size=2000)
    docs = []
    for hit in hits:
        docs.append(hit["_source"])
        if len(docs) >= most:
            break
    return docs


def bulk_bodies(docs: list[dict[str, Any]], index: str, count: int, chunk: int) -> list[bytes]:
    lines = [json.dumps(doc, separators=(",", ":")) for doc in docs]
    bodies = []
    for start in range(0, count, chunk):
        parts = []
        for seq in range(start, min(count, start + chunk)):
            parts.append(f'{{"index":{{"_index":"{index}","_id":"{seq}"}}}}\n')
            parts.append(lines[seq % len(lines)] + "\n")
        bodies.append("".join(parts).encode())
    return bodies


def _send_all(url: str, work: queue.Queue[bytes], failures: list[str]) -> None:
    with requests.Session() as session:
        while True:
            try:
                body = work.get_nowait()
            except queue.Empty:
                return
            response = session.post(
                f"{url}/_bulk",
                data=body,
                headers={"Content-Type": "application/x-ndjson"},
                timeout=300,
            )
            if response.status_code != 200 or response.json().get("errors"):
                failures.append(response.text[:500])


def measure_ceiling(
    es: Elasticsearch, url: str, source_prefix: str, count: int, chunk: int, cpu: CpuMeter
) -> Ceiling:
    target_prefix = f"{source_prefix}-ceiling"
    setup_elasticsearch(es, ElasticsearchSettings(index_prefix=target_prefix))
    es.indices.delete(index=f"{target_prefix}-*", ignore_unavailable=True, allow_no_indices=True)
    docs = read_documents(es, source_prefix, most=min(count, 100_000))
    if not docs:
        raise SystemExit("no event documents to measure the ceiling with")
    index = names.daily_index(target_prefix, names.EVENTS, datetime.now(UTC))
    work: queue.Queue[bytes] = queue.Queue()
    for body in bulk_bodies(docs, index, count, chunk):
        work.put(body)
    failures: list[str] = []
    threads = [
        threading.Thread(target=_send_all, args=(url, work, failures)) for _ in range(STREAMS)
    ]
    cpu_start = cpu.read()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu_end = cpu.read()
    seconds = cpu_end.at - cpu_start.at
    if failures:
        raise SystemExit(f"bulk indexing failed: {failures[0]}")
    es.indices.refresh(index=index)
    indexed = es.count(index=index)["count"]
    if indexed != count:
        raise SystemExit(f"ceiling: {indexed} documents in {index}, expected {count}")
    cores = cpu.cores(cpu_start, cpu_end)
    return Ceiling(
        count, round(seconds, 2), round(count / seconds), len(docs), chunk, cpu_cores=cores
    )
