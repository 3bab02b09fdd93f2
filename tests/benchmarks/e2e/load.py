"""The load: the traffic generator's lines sent to Kafka at a set rate, and latency probes.

Generating a line costs about 25 µs of Python, which at thousands of lines per second would take
CPU from the pipeline under test. So a pool of lines is generated with the current time and
sent round-robin, and a background thread regenerates it every ``POOL_REFRESH_SECONDS``: event
times stay within that many seconds of real time (well inside the aggregates' watermark), and
the generator's mix of formats, services, clients and user agents is kept.

Pacing is the project's token bucket (``logiflow.ingest.traffic.TokenBucket``). The producer is
confluent-kafka with the shipper's settings (acks=all, idempotent, zstd); a record counts as
produced when Kafka acknowledges it.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, Producer

from logiflow.config import KafkaSettings, ShipSettings
from logiflow.contract.kafka_records import HEADER_HOST, HEADER_SERVICE, record_key
from logiflow.ingest.generator import GeneratedLine, TrafficGenerator, TrafficProfile
from logiflow.ingest.producer import producer_config
from logiflow.ingest.traffic import TokenBucket

POOL_SIZE = 20_000
POOL_REFRESH_SECONDS = 30.0
# Typed as confluent-kafka's produce() takes them.
Headers = list[tuple[str, str | bytes | None]]
Record = tuple[bytes, bytes, Headers]  # value, key, headers


def _record(line: GeneratedLine, text: str | None = None) -> Record:
    headers: Headers = [
        (HEADER_HOST, line.host.encode()),
        (HEADER_SERVICE, line.service.encode()),
    ]
    return ((text or line.line).encode(), record_key(line.host, line.service), headers)


class LinePool:
    """Generated records, refreshed in the background so their times follow the clock."""

    def __init__(self, seed: int = 2026) -> None:
        self._generator = TrafficGenerator(seed, TrafficProfile())
        self.records = self._fresh()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._refresh, name="line-pool", daemon=True)
        self._thread.start()

    def _fresh(self) -> list[Record]:
        now = dt.datetime.now(dt.UTC)
        return [_record(self._generator.line_at(now)) for _ in range(POOL_SIZE)]

    def _refresh(self) -> None:
        while not self._stop.wait(POOL_REFRESH_SECONDS):
            self.records = self._fresh()

    def probe(self, marker: str) -> Record:
        """A JSON API line of the generator's whose trace id is ``marker``."""
        while (line := self._generator.line_at(dt.datetime.now(dt.UTC))).format != "json":
            pass
        record = json.loads(line.line)
        record["trace_id"] = marker
        return _record(line, json.dumps(record, separators=(",", ":")))

    def close(self) -> None:
        self._stop.set()


@dataclass
class Counts:
    sent: int = 0
    acked: int = 0
    failed: int = 0
    first_failure: str | None = None


class RateProducer:
    """Sends pool records at ``rate`` per second (0: paused) from its own thread."""

    def __init__(self, kafka: KafkaSettings, pool: LinePool) -> None:
        self.topic = kafka.logs_topic
        self.producer = Producer(producer_config(kafka, ShipSettings()))
        self.pool = pool
        self.counts = Counts()
        # Delivery reports are served by whichever thread polls (this one, or a probe's send).
        self._counts_lock = threading.Lock()
        self.rate = 0.0
        self._bucket: TokenBucket | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rate-producer", daemon=True)
        self._thread.start()

    def set_rate(self, rate: float) -> None:
        self.rate = rate
        self._bucket = TokenBucket(rate) if rate > 0 else None

    def _delivered(self, error: KafkaError | None, _message: object) -> None:
        with self._counts_lock:
            if error is None:
                self.counts.acked += 1
            else:
                self.counts.failed += 1
                self.counts.first_failure = self.counts.first_failure or error.str()

    def send(self, record: Record) -> None:
        value, key, headers = record
        while True:
            try:
                self.producer.produce(
                    self.topic, value, key, headers=headers, on_delivery=self._delivered
                )
                break
            except BufferError:  # the local queue is full: Kafka is behind, wait for acks
                self.producer.poll(0.05)
        with self._counts_lock:
            self.counts.sent += 1

    def _run(self) -> None:
        position = 0
        while not self._stop.is_set():
            bucket = self._bucket
            granted = bucket.take(2000) if bucket is not None else 0
            if granted == 0:
                self.producer.poll(min(bucket.wait_time(), 0.05) if bucket else 0.05)
                continue
            records = self.pool.records
            for _ in range(granted):
                self.send(records[position % len(records)])
                position += 1
            self.producer.poll(0)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.producer.flush(30)


@dataclass
class Probe:
    marker: str
    sent_at: float  # time.time() just before produce
    visible_at: float | None = None


@dataclass
class Probes:
    """Probe events, one every ``interval`` seconds, each searched for until it is visible."""

    producer: RateProducer
    sent: list[Probe] = field(default_factory=list)

    def send_one(self) -> Probe:
        marker = uuid.uuid4().hex
        record = self.producer.pool.probe(marker)
        probe = Probe(marker, time.time())
        self.producer.send(record)
        self.producer.producer.poll(0)
        self.sent.append(probe)
        return probe

    def pending(self) -> list[Probe]:
        return [p for p in self.sent if p.visible_at is None]
