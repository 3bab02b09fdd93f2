"""Kafka topic administration: create the pipeline's topics if they are missing.

Used by ``logiflow local up`` and ``logiflow run`` against the local broker, and by anything
that prepares a broker for the pipeline (the chart creates them with KafkaTopic resources).
"""

from __future__ import annotations

from collections.abc import Iterable

from logiflow.config import KafkaSettings, LogiflowConfig
from logiflow.errors import LogiflowError, ServiceUnreachableError
from logiflow.io.kafka_client import quiet_librdkafka_config


def create_topics(
    kafka: KafkaSettings, topics: Iterable[str], partitions: int = 2, timeout: float = 30.0
) -> list[str]:
    """Create ``topics`` if missing (idempotent); returns the ones this call created."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    # The same connection (and security) as every other client; librdkafka kept quiet, since
    # the caller reports one clear error instead of a log line per refused connection.
    admin = AdminClient(quiet_librdkafka_config(kafka))
    wanted = list(dict.fromkeys(topics))
    try:
        existing = set(admin.list_topics(timeout=timeout).topics)
    except KafkaException as exc:
        raise ServiceUnreachableError("Kafka", kafka.bootstrap_servers, str(exc.args[0])) from exc
    missing = [t for t in wanted if t not in existing]
    if not missing:
        return []
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in missing],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    created = []
    for topic, future in futures.items():
        try:
            future.result()
            created.append(topic)
        except KafkaException as exc:
            error = exc.args[0]
            # Another process created it between our listing and our request.
            if error.code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise LogiflowError(f"cannot create Kafka topic {topic!r}: {error.str()}") from exc
    return created


def ensure_pipeline_topics(config: LogiflowConfig, partitions: int = 2) -> list[str]:
    """The logs and dead-letter topics of ``config`` (and the anomaly detector's minute counts
    when it is on), created if missing."""
    topics = [config.kafka.logs_topic]
    if config.kafka.dead_letter_topic:
        topics.append(config.kafka.dead_letter_topic)
    if config.anomaly.enabled:
        topics.append(config.anomaly.topic)
    return create_topics(config.kafka, topics, partitions=partitions)
