"""Replay the dead-letter topic into the logs topic, once the cause is fixed.

The ETL writes every line it could not parse (and every event Elasticsearch refused) to
``kafka.dead_letter_topic`` with its exact bytes, its key and headers naming the reason and the
source record (``etl.dead_letters``). After a fix (a ``log_format`` added to the config, a
mapping corrected), ``replay_dead_letters`` sends those lines through the pipeline again:

- It reads from where the last replay of the same consumer group stopped (the beginning the
  first time) up to the end the topic had when it started. Lines that fail again are dead
  letters again, after that end, so a replay never chases its own output.
- The dead-letter topic is written at least once; a source record seen twice (same
  ``logiflow.source.*`` headers) is sent once.
- Offsets are committed only after Kafka acknowledged every replayed line; an interrupted
  replay sends the rest next time (the ETL indexes by the new records' coordinates, so a line
  sent twice by an interrupted replay is indexed twice: rare, and counted in the result).
- ``dry_run`` reads and counts by reason, and sends and commits nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from confluent_kafka import (
    OFFSET_INVALID,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)
from tenacity import retry, retry_if_exception, stop_after_delay, wait_exponential

from logiflow.config import KafkaSettings, ShipSettings
from logiflow.contract.kafka_records import (
    HEADER_ERROR_MESSAGE,
    HEADER_SOURCE_OFFSET,
    HEADER_SOURCE_PARTITION,
    HEADER_SOURCE_TOPIC,
)
from logiflow.errors import ConfigError
from logiflow.ingest.producer import LogProducer
from logiflow.io.kafka_client import quiet_librdkafka_config
from logiflow.io.kafka_diagnosis import KafkaErrorLog, invisible_topic, metadata_failure

DEFAULT_GROUP = "logiflow-replay"
# How long to wait for the group's coordinator: a broker creates the offsets topic on a group's
# first request and answers NOT_COORDINATOR until it has loaded it.
COORDINATOR_WAIT_SECONDS = 60.0
_REASON_WIDTH = 100
T = TypeVar("T")


# librdkafka does not flag these as retriable, but they pass once the coordinator is ready.
_COORDINATOR_ERRORS = (
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
)


def _retriable(exc: BaseException) -> bool:
    error = exc.args[0] if isinstance(exc, KafkaException) and exc.args else None
    if not isinstance(error, KafkaError):
        return False
    return error.retriable() or error.code() in _COORDINATOR_ERRORS


def _with_retries(call: Callable[[], T], timeout: float) -> T:
    """``call``, retried for up to ``timeout`` seconds while Kafka answers a retriable error."""
    retrying = retry(
        retry=retry_if_exception(_retriable),
        stop=stop_after_delay(timeout),
        wait=wait_exponential(multiplier=0.1, max=2.0),
        reraise=True,
    )
    return retrying(call)()


@dataclass
class ReplayResult:
    """Dead letters read, distinct source lines among them (sent, unless a dry run), and the
    duplicates skipped; the distinct ones counted by reason; and the dead letters Kafka's
    retention deleted after the group's last replay and before this one (lost to replays)."""

    read: int = 0
    unique: int = 0
    duplicates: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    expired: int = 0


def _header_text(value: str | bytes | None) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value or ""


def _headers(message: Message) -> dict[str, str]:
    # A consumed message's headers are a list of pairs; the client's types also allow a dict.
    raw = message.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return {key: _header_text(value) for key, value in pairs}


def _unreplayed(
    consumer: Consumer, topic: str, partitions: list[int], timeout: float
) -> tuple[dict[int, tuple[int, int]], int]:
    """Per partition with unread records: (first offset to read, the end it has now); and how
    many dead letters retention deleted past the group's committed offsets."""
    asked = [TopicPartition(topic, p) for p in partitions]
    committed = _with_retries(
        lambda: consumer.committed(asked, timeout=timeout), COORDINATOR_WAIT_SECONDS
    )
    ranges = {}
    expired = 0
    for tp in committed:
        low, high = consumer.get_watermark_offsets(tp, timeout=timeout)
        replayed = 0 if tp.offset == OFFSET_INVALID else tp.offset
        expired += max(0, low - replayed)
        start = max(low, replayed)
        if start < high:
            ranges[tp.partition] = (start, high)
    return ranges, expired


def _read(
    consumer: Consumer, topic: str, ranges: dict[int, tuple[int, int]], timeout: float
) -> Iterator[Message]:
    """Every record in ``ranges``, and nothing written after they were taken."""
    consumer.assign([TopicPartition(topic, p, start) for p, (start, _) in ranges.items()])
    remaining = {p: end for p, (_, end) in ranges.items()}
    while remaining:
        message = consumer.poll(timeout)
        if message is None:
            raise ConfigError(
                f"no dead letter arrived from {topic!r} within {timeout:g}s, though the topic "
                "had unread records; is this user allowed to read it?"
            )
        error = message.error()
        if error is not None:
            raise ConfigError(f"reading {topic!r} failed: {error.str()}")
        partition, offset = message.partition(), message.offset()
        assert partition is not None and offset is not None  # set on every consumed record
        if partition not in remaining or offset >= remaining[partition]:
            continue
        if offset + 1 >= remaining[partition]:
            del remaining[partition]
        yield message


def _replay_consumer(kafka: KafkaSettings, group: str, log: KafkaErrorLog) -> Consumer:
    """A consumer of ``group`` that commits only when told (after every line is acknowledged)."""
    return Consumer(
        quiet_librdkafka_config(
            kafka,
            {
                "group.id": group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "error_cb": log.record,
                "log_level": 0,
            },
        )
    )


def _dead_letter_partitions(
    consumer: Consumer, kafka: KafkaSettings, topic: str, log: KafkaErrorLog, timeout: float
) -> list[int]:
    """The dead-letter topic's partitions; a typed error if Kafka or the topic is out of reach."""
    try:
        metadata = consumer.list_topics(timeout=timeout)
    except KafkaException as exc:
        # Serve the error callback so the diagnosis sees what librdkafka reported.
        consumer.poll(0)
        raise metadata_failure(kafka, log, exc, timeout) from exc
    found = metadata.topics.get(topic)
    if found is None or found.error is not None:
        raise invisible_topic(kafka, "kafka.dead_letter_topic", topic)
    return sorted(found.partitions)


def _source_record(message: Message, headers: dict[str, str]) -> tuple[str, str, str]:
    """The record the dead letter came from; a dead letter written twice names the same one."""
    return (
        headers.get(HEADER_SOURCE_TOPIC, ""),
        headers.get(HEADER_SOURCE_PARTITION, ""),
        headers.get(HEADER_SOURCE_OFFSET, f"{message.partition()}@{message.offset()}"),
    )


def _resend_once(messages: Iterable[Message], producer: LogProducer | None) -> ReplayResult:
    """Count the dead letters by reason and send each source line once (none on a dry run)."""
    result = ReplayResult()
    seen: set[tuple[str, str, str]] = set()
    for message in messages:
        result.read += 1
        headers = _headers(message)
        source = _source_record(message, headers)
        if source in seen:
            result.duplicates += 1
            continue
        seen.add(source)
        result.unique += 1
        result.reasons[headers.get(HEADER_ERROR_MESSAGE, "")[:_REASON_WIDTH]] += 1
        if producer is not None:
            producer.send(message.value() or b"", message.key())
    return result


def _commit_replayed(consumer: Consumer, topic: str, ranges: dict[int, tuple[int, int]]) -> None:
    offsets = [TopicPartition(topic, p, end) for p, (_, end) in ranges.items()]
    _with_retries(
        lambda: consumer.commit(offsets=offsets, asynchronous=False), COORDINATOR_WAIT_SECONDS
    )


def replay_dead_letters(
    kafka: KafkaSettings,
    ship: ShipSettings,
    *,
    group: str = DEFAULT_GROUP,
    dry_run: bool = False,
    timeout: float = 10.0,
) -> ReplayResult:
    """Send the dead letters not yet replayed by ``group`` back to ``kafka.logs_topic``."""
    topic = kafka.dead_letter_topic
    if not topic:
        raise ConfigError("kafka.dead_letter_topic is not set: there is no topic to replay")
    log = KafkaErrorLog()
    consumer = _replay_consumer(kafka, group, log)
    producer = None if dry_run else LogProducer(kafka, ship, kafka.logs_topic)
    try:
        partitions = _dead_letter_partitions(consumer, kafka, topic, log, timeout)
        if producer is not None:
            producer.connect()
        ranges, expired = _unreplayed(consumer, topic, partitions, timeout)
        result = _resend_once(_read(consumer, topic, ranges, timeout) if ranges else (), producer)
        result.expired = expired
        if producer is not None:
            # Commit only once Kafka has every replayed line: an interruption sends the rest.
            producer.finish()
            if ranges:
                _commit_replayed(consumer, topic, ranges)
        return result
    finally:
        if producer is not None:
            producer.close()
        consumer.close()
