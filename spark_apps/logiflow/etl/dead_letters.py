"""Dead-letter documents: every line that could not be parsed, with why and where it came from.

A dead-letter document keeps the whole original line (``event.original``, as the decoder made it
valid UTF-8, plus ``event.original_base64`` with the exact bytes when they were not valid UTF-8,
so nothing the sender wrote is lost), the reason
(``error.message``), the Kafka coordinates, ``@timestamp`` = the Kafka record timestamp (a line
we could not parse has no trustworthy time of its own) and ``event.kind`` = ``pipeline_error``
(ECS's value for exactly this). The id is the one the event would have had (from the line's
source identity, else its Kafka coordinates: ``etl.decode_records``), so a replayed batch or a
line the shipper resent overwrites instead of duplicating.

The same rows also become Kafka records for the dead-letter topic (``to_dead_letter_records``), the
way Kafka Connect's dead-letter queues look: the value is the line's bytes as the sender wrote
them (trailing line breaks aside), so a fixed parser can replay the topic into the logs topic;
the key is the original key; headers carry the reason and the source coordinates. Events that
Elasticsearch refused become dead letters late, after the write (``mark_rejected``), and join
them there.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from logiflow.contract import ecs
from logiflow.contract.kafka_records import (
    HEADER_ERROR_MESSAGE,
    HEADER_SOURCE_OFFSET,
    HEADER_SOURCE_PARTITION,
    HEADER_SOURCE_TOPIC,
)
from logiflow.etl.columns import col

_KAFKA_COLUMNS = (
    ecs.KAFKA_TOPIC,
    ecs.KAFKA_PARTITION,
    ecs.KAFKA_OFFSET,
    ecs.KAFKA_KEY,
    ecs.KAFKA_TIMESTAMP,
)


def to_dead_letter_documents(df: DataFrame) -> DataFrame:
    """Dead-lettered rows of a processed frame, shaped as the documents to index."""
    columns = [
        col(ecs.DOC_ID).alias(ecs.DOC_ID),
        col(ecs.KAFKA_TIMESTAMP).alias(ecs.TIMESTAMP),
        F.lit(ecs.EVENT_KIND_PIPELINE_ERROR).alias(ecs.EVENT_KIND),
        col(ecs.EVENT_ORIGINAL).alias(ecs.EVENT_ORIGINAL),
        F.coalesce(col(ecs.ERROR_MESSAGE), F.lit("unknown reason")).alias(ecs.ERROR_MESSAGE),
    ]
    optional = (ecs.EVENT_ORIGINAL_BASE64, *_KAFKA_COLUMNS)
    columns += [col(name).alias(name) for name in optional if name in df.columns]
    return df.where(col(ecs.OUTCOME) == F.lit(ecs.OUTCOME_DEAD_LETTER)).select(*columns)


def _header(name: str, value: Column) -> Column:
    return F.struct(F.lit(name).alias("key"), F.encode(value, "UTF-8").alias("value"))


def to_dead_letter_records(df: DataFrame) -> DataFrame:
    """Dead-lettered rows as Kafka records: ``key``, ``value`` (binary), ``headers``."""
    # The exact bytes when they were not valid UTF-8, else the (identical) decoded line.
    value = F.coalesce(
        F.unbase64(col(ecs.EVENT_ORIGINAL_BASE64)),
        F.encode(col(ecs.EVENT_ORIGINAL), "UTF-8"),
    )
    headers = F.array(
        _header(
            HEADER_ERROR_MESSAGE,
            F.coalesce(col(ecs.ERROR_MESSAGE), F.lit("unknown reason")),
        ),
        _header(HEADER_SOURCE_TOPIC, col(ecs.KAFKA_TOPIC)),
        _header(HEADER_SOURCE_PARTITION, col(ecs.KAFKA_PARTITION).cast("string")),
        _header(HEADER_SOURCE_OFFSET, col(ecs.KAFKA_OFFSET).cast("string")),
    )
    return df.where(col(ecs.OUTCOME) == F.lit(ecs.OUTCOME_DEAD_LETTER)).select(
        F.encode(col(ecs.KAFKA_KEY), "UTF-8").alias("key"),
        value.alias("value"),
        headers.alias("headers"),
    )


_REJECTED_ID = "_logiflow_rejected_id"
_REJECTED_REASON = "_logiflow_rejected_reason"


def mark_rejected(df: DataFrame, rejected: DataFrame) -> DataFrame:
    """The rows of ``df`` whose ``_logiflow_id`` is in ``rejected`` (columns ``_logiflow_id``,
    ``error.message``), turned into dead letters with that reason."""
    reasons = rejected.select(
        col(ecs.DOC_ID).alias(_REJECTED_ID),
        col(ecs.ERROR_MESSAGE).alias(_REJECTED_REASON),
    )
    joined = df.join(F.broadcast(reasons), col(ecs.DOC_ID) == F.col(_REJECTED_ID))
    return joined.withColumns(
        {
            ecs.ERROR_MESSAGE: F.col(_REJECTED_REASON),
            ecs.OUTCOME: F.lit(ecs.OUTCOME_DEAD_LETTER),
        }
    ).drop(_REJECTED_ID, _REJECTED_REASON)
