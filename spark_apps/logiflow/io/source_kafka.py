"""Kafka source of the streaming job.

``kafka_source_options`` turns ``KafkaSettings`` into the Spark Kafka source's options (a pure
function, unit-tested): the logs topic, starting offsets, ``maxOffsetsPerTrigger`` as
back-pressure, ``failOnDataLoss`` (on by default: records deleted by retention before we read
them must fail the query loudly), the consumer group prefix, the record headers (for
``log.file.path``), and the connection and security
options shared with every Kafka client (``io.kafka_client``).

Spark's source does not fail fast on an unreachable broker (it retries offset lookups for
minutes): the job calls ``io.kafka_diagnosis.check_kafka`` first.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from logiflow.config import KafkaSettings
from logiflow.io.kafka_client import spark_kafka_options


def kafka_source_options(settings: KafkaSettings) -> dict[str, str]:
    """Options for ``spark.readStream.format("kafka")``."""
    options = spark_kafka_options(settings)
    options.update(
        {
            "subscribe": settings.logs_topic,
            "startingOffsets": settings.starting_offsets,
            "maxOffsetsPerTrigger": str(settings.max_offsets_per_trigger),
            "failOnDataLoss": "true" if settings.fail_on_data_loss else "false",
            "groupIdPrefix": settings.consumer_group_prefix,
            # For log.file.path (etl.decode_records).
            "includeHeaders": "true",
        }
    )
    return options


def read_kafka(spark: SparkSession, settings: KafkaSettings) -> DataFrame:
    """The streaming DataFrame of raw Kafka records (key, value, topic, partition, offset, ...)."""
    return spark.readStream.format("kafka").options(**kafka_source_options(settings)).load()
