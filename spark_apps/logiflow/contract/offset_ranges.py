"""The Kafka records one micro-batch read, as its accounting document stores them.

The ETL writes one ``OffsetRange`` per topic-partition a batch read, under
``logiflow.batch.offset_ranges`` of the batch's accounting document (``contract.index_names``);
``logiflow audit`` reads them back and reconciles them with the broker's offsets and the
documents in Elasticsearch. The range is what the batch's rows held (first and last offset,
how many records), not what the pipeline meant to read, so a hole would show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TOPIC = "topic"
PARTITION = "partition"
FIRST_OFFSET = "first_offset"
LAST_OFFSET = "last_offset"
RECORDS = "records"
FILTERED = "filtered"


@dataclass(frozen=True, order=True)
class OffsetRange:
    """Offsets ``first_offset``..``last_offset`` (inclusive) of one topic-partition, of which
    the batch read ``records`` records and dropped ``filtered`` by drop rules (no document)."""

    topic: str
    partition: int
    first_offset: int
    last_offset: int
    records: int
    filtered: int = 0

    @property
    def span(self) -> int:
        """Offsets from first to last; equals ``records`` when the batch read every one."""
        return self.last_offset - self.first_offset + 1

    def as_document(self) -> dict[str, Any]:
        return {
            TOPIC: self.topic,
            PARTITION: self.partition,
            FIRST_OFFSET: self.first_offset,
            LAST_OFFSET: self.last_offset,
            RECORDS: self.records,
            FILTERED: self.filtered,
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> OffsetRange:
        return cls(
            topic=str(document[TOPIC]),
            partition=int(document[PARTITION]),
            first_offset=int(document[FIRST_OFFSET]),
            last_offset=int(document[LAST_OFFSET]),
            records=int(document[RECORDS]),
            filtered=int(document.get(FILTERED, 0)),
        )
