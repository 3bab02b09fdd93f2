"""Dead-letter documents: every line that could not be parsed, with why and where it came from.

A dead-letter document keeps the whole original line (``event.original``, as the decoder made it
valid UTF-8, plus ``event.original_base64`` with the exact bytes when they were not valid UTF-8,
so nothing the sender wrote is lost), the reason
(``error.message``), the Kafka coordinates, ``@timestamp`` = the Kafka record timestamp (a line
we could not parse has no trustworthy time of its own) and ``event.kind`` = ``pipeline_error``
(ECS's value for exactly this). The id is the event id derived from the Kafka coordinates, so a
replay overwrites instead of duplicating.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from logiflow.etl import fields

EVENT_KIND = "event.kind"
EVENT_KIND_PIPELINE_ERROR = "pipeline_error"

_KAFKA_COLUMNS = (
    fields.KAFKA_TOPIC, fields.KAFKA_PARTITION, fields.KAFKA_OFFSET, fields.KAFKA_KEY,
    fields.KAFKA_TIMESTAMP,
)


def to_dead_letter_documents(df: DataFrame) -> DataFrame:
    """Dead-lettered rows of a processed frame, shaped as the documents to index."""
    columns = [
        fields.col(fields.DOC_ID).alias(fields.DOC_ID),
        fields.col(fields.KAFKA_TIMESTAMP).alias(fields.TIMESTAMP),
        F.lit(EVENT_KIND_PIPELINE_ERROR).alias(EVENT_KIND),
        fields.col(fields.EVENT_ORIGINAL).alias(fields.EVENT_ORIGINAL),
        F.coalesce(fields.col(fields.ERROR_MESSAGE), F.lit("unknown reason")).alias(
            fields.ERROR_MESSAGE
        ),
    ]
    optional = (fields.EVENT_ORIGINAL_BASE64, *_KAFKA_COLUMNS)
    columns += [fields.col(name).alias(name) for name in optional if name in df.columns]
    return df.where(fields.col(fields.OUTCOME) == F.lit(fields.OUTCOME_DEAD_LETTER)).select(
        *columns
    )
