"""End-to-end check of a running pipeline: one marker line in, the same line searchable out.

``logiflow check`` (and with it the chart's ``helm test``) sends one access-log line that
carries a unique marker to the logs topic, as the shipper would (same key and headers), then
polls the events indices until a document with that marker appears. It proves the whole path
a user depends on (Kafka, the running ETL, Elasticsearch) with the credentials of the
configured user, and names the stage that failed otherwise.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from elasticsearch import ApiError, Elasticsearch

from logiflow.config import LogiflowConfig
from logiflow.contract import ecs
from logiflow.contract.index_names import EVENTS, index_pattern
from logiflow.contract.kafka_records import HEADER_HOST, HEADER_SERVICE, record_key
from logiflow.ingest.producer import LogProducer

CHECK_HOST = "logiflow-check"
CHECK_SERVICE = "logiflow-check"
POLL_INTERVAL_SECONDS = 2.0


@dataclass(frozen=True)
class Marker:
    """The unique line a check sends and the values its event document must carry."""

    token: str
    line: str
    path: str
    agent: str


def new_marker(now: datetime | None = None) -> Marker:
    """A combined-format line whose path and user agent both carry a fresh token."""
    token = uuid.uuid4().hex
    stamp = (now or datetime.now(UTC)).strftime("%d/%b/%Y:%H:%M:%S +0000")
    path = f"/logiflow-check/{token}"
    agent = f"logiflow-check/{token}"
    line = f'127.0.0.1 - - [{stamp}] "GET {path} HTTP/1.1" 200 2 "-" "{agent}"'
    return Marker(token=token, line=line, path=path, agent=agent)


def send_marker(config: LogiflowConfig, marker: Marker) -> None:
    """Write the marker to the logs topic and wait until Kafka acknowledged it."""
    producer = LogProducer(config.kafka, config.ship, config.kafka.logs_topic)
    producer.connect()
    try:
        headers = [(HEADER_HOST, CHECK_HOST.encode()), (HEADER_SERVICE, CHECK_SERVICE.encode())]
        producer.send(marker.line.encode(), record_key(CHECK_HOST, CHECK_SERVICE), headers)
        producer.finish()
    finally:
        producer.close()


def marker_query(marker: Marker) -> dict[str, object]:
    return {
        "bool": {
            "should": [
                {"term": {ecs.URL_PATH: marker.path}},
                {"term": {ecs.USER_AGENT_ORIGINAL: marker.agent}},
            ],
            "minimum_should_match": 1,
        }
    }


def find_marker(
    client: Elasticsearch,
    index_prefix: str,
    marker: Marker,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
) -> str | None:
    """The index holding the marker's event, or None when it did not appear within ``timeout``."""
    pattern = index_pattern(index_prefix, EVENTS)
    deadline = time.monotonic() + timeout
    while True:
        try:
            hits = client.search(
                index=pattern,
                query=marker_query(marker),
                size=1,
                ignore_unavailable=True,
                allow_no_indices=True,
            )["hits"]["hits"]
        except ApiError as exc:
            # 503: the day's events index was just created and its shard is not active yet
            # (all shards failed); not searchable yet, like no hit.
            if exc.status_code != 503:
                raise
            hits = []
        if hits:
            return str(hits[0]["_index"])
        if time.monotonic() >= deadline:
            return None
        sleep(POLL_INTERVAL_SECONDS)
