"""Topics in tests: reading one back (every record from the beginning up to the current end)
and writing records straight into one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import Consumer, Producer, TopicPartition


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
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=timeout
            )
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
