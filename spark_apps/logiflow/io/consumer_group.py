"""The ETL's Kafka consumer group: how far the job got, where Kafka's own tools look.

Spark keeps its Kafka offsets in the query's checkpoint only, so ``kafka-consumer-groups.sh``,
Strimzi's Kafka Exporter or Burrow would see no LogiFlow consumer. After each finished batch
the job commits the batch's end offsets (the next offset to read, per partition, as the
checkpoint has them) to ``kafka.consumer_group``. Nothing ever reads them back: the checkpoint
stays the source of truth, and a group that lags a batch behind after a crash catches up at the
next batch. The same consumer measures the lag behind each partition's end, in records and in
seconds (the age of the oldest record not yet committed).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from logiflow.config import KafkaSettings
from logiflow.io.kafka_client import quiet_librdkafka_config

TIMEOUT_SECONDS = 5.0
# The Spark source's end offsets: (topic, partition) -> next offset to read.
Offsets = Mapping[tuple[str, int], int]


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    records: int
    seconds: float


class ConsumerGroupOffsets:
    """Commits offsets to one consumer group and measures the lag behind them."""

    def __init__(self, settings: KafkaSettings, group: str) -> None:
        self.group = group
        # Never subscribes: offsets are committed explicitly, records fetched by assignment.
        self._consumer = Consumer(
            quiet_librdkafka_config(
                settings,
                {"group.id": group, "enable.auto.commit": False, "log_level": 0},
            )
        )

    def commit(self, offsets: Offsets) -> None:
        """Commit ``offsets`` to the group (synchronously: the caller then reports lag)."""
        if offsets:
            self._consumer.commit(
                offsets=[TopicPartition(t, p, o) for (t, p), o in sorted(offsets.items())],
                asynchronous=False,
            )

    def lag(self, offsets: Offsets, now: float | None = None) -> list[PartitionLag]:
        """Per partition: records between the end and ``offsets``, and the age of the first."""
        now = time.time() if now is None else now
        lags = []
        for (topic, partition), offset in sorted(offsets.items()):
            tp = TopicPartition(topic, partition)
            _low, high = self._consumer.get_watermark_offsets(
                tp, timeout=TIMEOUT_SECONDS, cached=False
            )
            behind = max(0, high - offset)
            seconds = self._age(topic, partition, offset, now) if behind else 0.0
            lags.append(PartitionLag(topic, partition, behind, seconds))
        return lags

    def _age(self, topic: str, partition: int, offset: int, now: float) -> float:
        """Seconds since the record at ``offset`` reached Kafka (0 if it cannot be read now)."""
        self._consumer.assign([TopicPartition(topic, partition, offset)])
        try:
            message = self._consumer.poll(TIMEOUT_SECONDS)
        finally:
            self._consumer.unassign()
        if message is None or message.error() is not None:
            return 0.0
        _kind, millis = message.timestamp()
        return max(0.0, now - millis / 1000) if millis > 0 else 0.0

    def close(self) -> None:
        with contextlib.suppress(KafkaException):
            self._consumer.close()


def source_end_offsets(progress: Mapping[str, Any]) -> dict[tuple[str, int], int]:
    """The Kafka source's end offsets in one StreamingQueryProgress (read as a dict)."""
    offsets: dict[tuple[str, int], int] = {}
    for source in progress.get("sources") or ():
        end = source.get("endOffset")
        end = json.loads(end) if isinstance(end, str) else end
        for topic, partitions in (end or {}).items():
            for partition, offset in partitions.items():
                offsets[(topic, int(partition))] = int(offset)
    return offsets
