"""The Kafka producer shared by ``logiflow ship`` and ``logiflow generate``.

Built from ``KafkaSettings`` (address and security, through ``io.kafka_client``) and
``ShipSettings`` (batching, bounded queue).
Durability is set explicitly rather than left to librdkafka's defaults: ``acks=all`` and
``enable.idempotence=true`` (so retries neither duplicate nor reorder records). When the local
queue is full, ``send`` serves delivery reports and waits instead of dropping anything, which
keeps memory bounded while Kafka is slow. Every record's delivery report is counted; the command
fails if any record was not acknowledged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from logiflow.config import KafkaSettings, ShipSettings
from logiflow.errors import ConfigError, DeliveryError
from logiflow.io.kafka_client import quiet_librdkafka_config
from logiflow.io.kafka_diagnosis import KafkaErrorLog, metadata_failure

Headers = Sequence[tuple[str, bytes]]


def producer_config(kafka: KafkaSettings, ship: ShipSettings) -> dict[str, Any]:
    return quiet_librdkafka_config(
        kafka,
        {
            "acks": "all",
            "enable.idempotence": True,
            "compression.type": ship.compression,
            "linger.ms": ship.linger_ms,
            "batch.size": ship.batch_bytes,
            "queue.buffering.max.messages": ship.queue_max_messages,
            "queue.buffering.max.kbytes": ship.queue_max_kbytes,
            "message.timeout.ms": int(ship.delivery_timeout_seconds * 1000),
            # Room for the key and headers on top of the longest line we let through.
            "message.max.bytes": ship.max_line_bytes + 64 * 1024,
        },
    )


def check_topics(
    client: Producer | AdminClient,
    kafka: KafkaSettings,
    topics: Iterable[str],
    timeout: float,
    log: KafkaErrorLog | None = None,
) -> dict[str, int]:
    """Partition counts of ``topics``; fails fast and clearly if Kafka or a topic is missing.

    Asks for the metadata of all topics rather than of the named ones, because naming a topic
    makes brokers with auto-creation on create it with whatever defaults they have.
    """
    try:
        metadata = client.list_topics(timeout=timeout)
    except KafkaException as exc:
        client.poll(0)  # serves error_cb, where librdkafka puts the reason
        raise metadata_failure(kafka, log or KafkaErrorLog(), exc, timeout) from exc
    counts = {}
    for topic in topics:
        found = metadata.topics.get(topic)
        if found is None or found.error is not None:
            raise ConfigError(
                f"Kafka topic {topic!r} does not exist at {kafka.bootstrap_servers}; create it "
                "(logiflow run and logiflow local up do; in a cluster the chart's KafkaTopic "
                "does) or set kafka.logs_topic"
            )
        counts[topic] = len(found.partitions)
    return counts


def end_offsets(
    admin: AdminClient, topic: str, partitions: int, timeout: float = 5.0
) -> dict[int, int]:
    """The next offset to be written in each partition of ``topic`` (the high watermark)."""
    request = {TopicPartition(topic, p): OffsetSpec.latest() for p in range(partitions)}
    futures = admin.list_offsets(request, request_timeout=timeout)
    return {tp.partition: future.result().offset for tp, future in futures.items()}


@dataclass
class DeliveryStats:
    sent: int = 0
    acked: int = 0
    failed: int = 0
    bytes_sent: int = 0
    queue_full_waits: int = 0
    first_failure: str | None = None

    @property
    def in_flight(self) -> int:
        return self.sent - self.acked - self.failed


@dataclass
class LogProducer:
    """A producer for one topic that counts every delivery report."""

    kafka: KafkaSettings
    ship: ShipSettings
    topic: str
    stats: DeliveryStats = field(default_factory=DeliveryStats)
    _producer: Producer | None = None
    _errors: KafkaErrorLog = field(default_factory=KafkaErrorLog)

    def connect(self) -> int:
        """Create the producer and check Kafka answers and the topic exists; its partitions."""
        conf = producer_config(self.kafka, self.ship)
        conf["error_cb"] = self._errors.record
        self._producer = Producer(conf)
        counts = check_topics(
            self._producer,
            self.kafka,
            [self.topic],
            self.ship.connect_timeout_seconds,
            self._errors,
        )
        return counts[self.topic]

    @property
    def producer(self) -> Producer:
        if self._producer is None:
            raise RuntimeError("connect() first")
        return self._producer

    def send(
        self,
        value: bytes,
        key: bytes | None,
        headers: Headers = (),
        on_ack: Callable[[], None] | None = None,
    ) -> None:
        """Queue one record; blocks (serving delivery reports) while the local queue is full."""
        producer = self.producer

        def report(error: KafkaError | None, _message: Message) -> None:
            if error is None:
                self.stats.acked += 1
                if on_ack is not None:
                    on_ack()
            else:
                self.stats.failed += 1
                if self.stats.first_failure is None:
                    self.stats.first_failure = error.str()

        while True:
            try:
                producer.produce(
                    self.topic, value=value, key=key, headers=list(headers), on_delivery=report
                )
                break
            except BufferError:
                # Queue full: Kafka is slower than our input. Wait for acknowledgements.
                self.stats.queue_full_waits += 1
                producer.poll(0.1)
            except KafkaException as exc:
                raise DeliveryError(f"Kafka refused a record: {exc.args[0]}") from exc
        self.stats.sent += 1
        self.stats.bytes_sent += len(value)
        producer.poll(0)

    def poll(self, timeout: float = 0.0) -> None:
        self.producer.poll(timeout)

    def finish(self, timeout: float | None = None) -> None:
        """Wait for every delivery report; ``DeliveryError`` if any record was not acknowledged."""
        producer = self.producer
        limit = self.ship.delivery_timeout_seconds + 5 if timeout is None else timeout
        deadline = time.monotonic() + limit
        while len(producer) > 0 and time.monotonic() < deadline:
            producer.flush(min(1.0, max(0.0, deadline - time.monotonic())))
        self.raise_for_failures()
        if len(producer) > 0:
            raise DeliveryError(
                f"{len(producer)} records still unacknowledged by Kafka at "
                f"{self.kafka.bootstrap_servers} after {limit:g}s"
                + (f" (last error: {self._errors.last})" if self._errors.last else "")
            )

    def raise_for_failures(self) -> None:
        if self.stats.failed:
            raise DeliveryError(
                f"{self.stats.failed} of {self.stats.sent} records were not delivered to Kafka "
                f"topic {self.topic!r} at {self.kafka.bootstrap_servers}: "
                f"{self.stats.first_failure}; positions were not advanced past them, so running "
                "the same command again resends them"
            )

    def close(self) -> None:
        """Give up on undelivered records (after an error or interrupt)."""
        if self._producer is not None:
            self._producer.purge(in_queue=True, in_flight=False)
            self._producer.poll(0)
            self._producer = None
