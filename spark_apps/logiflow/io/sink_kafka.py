"""Kafka sink for dead letters: lines that did not parse or that Elasticsearch refused, back
into Kafka for replay.

Elasticsearch holds the dead letters for people (searchable, next to the events); the
dead-letter topic holds them for programs: fix the format in the config, then replay the topic
into the logs topic. Records are shaped by ``etl.dead_letters.to_dead_letter_records`` and
written with Spark's own Kafka writer (the connector the source already loads), with the same
connection and security settings as the source.

Delivery is at least once: a micro-batch that fails after this write is replayed and writes its
dead letters again. The ``logiflow.source.*`` headers identify the original record, so a
consumer that needs each line once keeps the first record per source coordinates.
"""

from __future__ import annotations

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame

from logiflow.config import KafkaSettings
from logiflow.errors import DeliveryError
from logiflow.io.kafka_client import spark_kafka_options


def kafka_sink_options(settings: KafkaSettings, topic: str) -> dict[str, str]:
    """Options for ``DataFrame.write.format("kafka")`` into ``topic``."""
    options = spark_kafka_options(settings)
    # Every in-sync replica acknowledges before the batch counts as written.
    options["kafka.acks"] = "all"
    options["topic"] = topic
    return options


def write_records(
    records: DataFrame, settings: KafkaSettings, topic: str, what: str = "the dead letters"
) -> None:
    """Write ``records`` (key, value, headers) to ``topic``; ``DeliveryError`` if Kafka refuses."""
    try:
        records.write.format("kafka").options(**kafka_sink_options(settings, topic)).save()
    except AnalysisException:
        raise  # a bug in the records' shape, not Kafka's answer
    except Exception as exc:
        raise DeliveryError(
            f"Kafka at {settings.bootstrap_servers} did not take {what} for topic "
            f"{topic!r}: {root_cause(exc)}"
        ) from exc


def root_cause(exc: BaseException) -> str:
    """The innermost "Caused by" of a Java error Spark passed on (e.g. the producer's timeout).

    Its first line is only "An error occurred while calling o69.save".
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    causes = [line.removeprefix("Caused by: ") for line in lines if line.startswith("Caused by: ")]
    if causes:
        return causes[-1]
    return lines[0] if lines else type(exc).__name__
