"""Topics in tests: reading one back (every record from the beginning up to the current end)
and writing records straight into one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from tenacity import retry, retry_if_exception, stop_after_delay, wait_fixed


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]


def read_topic(bootstrap: str, topic: str, timeout: float = 30.0) -> list[Record]:
    """All records of ``topic``, per partition in offset order, partitions in turn.

    Stops at the high watermarks taken at the start, so it never waits for records that will
    not come; no consumer group is joined or committed.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "logiflow-tests-reader",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=timeout)
        partitions = sorted(metadata.topics[topic].partitions)
        records: list[Record] = []
        for partition in partitions:
            low, high = watermarks(consumer, TopicPartition(topic, partition), timeout)
            if high <= low:
                continue
            consumer.assign([TopicPartition(topic, partition, low)])
            next_offset = low
            while next_offset < high:
                message = consumer.poll(timeout)
                assert message is not None, f"no record at {topic}[{partition}]@{next_offset}"
                assert message.error() is None, message.error()
                records.append(
                    Record(
                        partition,
                        message.offset(),
                        message.key(),
                        message.value(),
                        dict(message.headers() or []),
                    )
                )
                next_offset = message.offset() + 1
        return records
    finally:
        consumer.close()


def _leader_not_settled(error: BaseException) -> bool:
    return isinstance(error, KafkaException) and error.args[0].code() in (
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
    )


@retry(
    retry=retry_if_exception(_leader_not_settled),
    stop=stop_after_delay(30),
    wait=wait_fixed(0.5),
    reraise=True,
)
def watermarks(consumer: Consumer, partition: TopicPartition, timeout: float) -> tuple[int, int]:
    """A partition's (low, high) offsets. Retried while its leader is not settled: a topic that
    a producer has just auto-created answers NOT_LEADER_FOR_PARTITION for a moment."""
    low, high = consumer.get_watermark_offsets(partition, timeout=timeout)
    return low, high


def values(records: list[Record]) -> list[str]:
    return [r.value.decode() for r in records]


Headers = list[tuple[str, bytes]]


def write_topic(
    bootstrap: str, topic: str, records: Iterable[tuple[bytes | None, bytes, Headers | None]]
) -> None:
    """Produce ``records`` (key, value, headers) to ``topic`` and wait until all are acked."""
    producer = Producer({"bootstrap.servers": bootstrap})
    for key, value, headers in records:
        producer.produce(topic, key=key, value=value, headers=headers)
    assert producer.flush(30) == 0


def expire_all_records(bootstrap: str, topic: str) -> int:
    """Delete every record of ``topic`` as retention would (Kafka's DeleteRecords); returns how
    many were held. The log start offsets move to the ends; offsets are never reused."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "test-expire"})
    try:
        partitions = sorted(consumer.list_topics(topic, timeout=30).topics[topic].partitions)
        marks = [
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30, cached=False)
            for p in partitions
        ]
    finally:
        consumer.close()
    admin = AdminClient({"bootstrap.servers": bootstrap})
    ends = [TopicPartition(topic, p, end) for p, (_, end) in zip(partitions, marks, strict=True)]
    for future in admin.delete_records(ends, operation_timeout=30).values():
        future.result(timeout=60)
    return sum(end - start for start, end in marks)
