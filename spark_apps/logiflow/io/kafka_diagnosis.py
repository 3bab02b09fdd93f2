"""Why a librdkafka client (the shipper's producer, the ETL's start-up check) got no metadata.

``check_kafka`` is the ETL's start-up check: Spark's Kafka source does not fail fast on an
unreachable broker (it retries offset lookups for minutes), so the job asks for metadata with
confluent-kafka first and turns silence into ``ServiceUnreachableError`` (rejected credentials
into ``ConfigError``).

librdkafka reports the reason through the client's ``error_cb`` (connection refused, TLS
handshake failed, SASL authentication failed), not in the exception ``list_topics`` raises,
which only says "Broker transport failure". ``KafkaErrorLog`` collects the callbacks;
``metadata_failure`` turns them into the error the user reads: rejected credentials are a
configuration problem (``ConfigError``), anything else means Kafka is unreachable.
``invisible_topic`` is the error for a configured topic the metadata does not show.
"""

from __future__ import annotations

from collections import deque

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from logiflow.config import KafkaSettings
from logiflow.errors import ConfigError, LogiflowError, ServiceUnreachableError
from logiflow.io.kafka_client import quiet_librdkafka_config, uses_sasl

CHECK_TIMEOUT_SECONDS = 8.0


class KafkaErrorLog:
    """The latest errors a client reported; pass ``record`` as its ``error_cb``."""

    def __init__(self, size: int = 50) -> None:
        self.errors: deque[KafkaError] = deque(maxlen=size)

    def record(self, error: KafkaError) -> None:
        self.errors.append(error)

    @property
    def last(self) -> str | None:
        return self.errors[-1].str() if self.errors else None


def metadata_failure(
    settings: KafkaSettings, log: KafkaErrorLog, exc: KafkaException, timeout: float
) -> LogiflowError:
    """The error to raise when a metadata request failed; serve the client's callbacks first."""
    refused = [e for e in log.errors if e.code() == KafkaError._AUTHENTICATION]
    if refused:
        return ConfigError(
            f"Kafka at {settings.bootstrap_servers} rejected the credentials of user "
            f"{settings.sasl_username!r} ({refused[-1].str()}); check kafka.sasl_username, "
            "kafka.sasl_password and kafka.sasl_mechanism"
        )
    # "1/1 brokers are down" follows the reason (connection refused, TLS handshake failed).
    reasons = [e for e in log.errors if e.code() != KafkaError._ALL_BROKERS_DOWN] or list(
        log.errors
    )
    error = exc.args[0] if exc.args else None
    if reasons:
        detail = reasons[-1].str()
    else:
        detail = error.str() if isinstance(error, KafkaError) else str(exc)
    return ServiceUnreachableError(
        "Kafka",
        settings.bootstrap_servers,
        f"no broker answered within {timeout:g}s ({detail}); is it running? "
        "(logiflow local up starts one)",
    )


def invisible_topic(settings: KafkaSettings, key: str, topic: str, hint: str = "") -> ConfigError:
    """A configured topic missing from the metadata: absent, or hidden from this user by ACLs
    (Kafka lists only the topics a user may describe)."""
    user = settings.sasl_username if uses_sasl(settings) else None
    return ConfigError(
        f"{key}: topic {topic!r} is not visible on Kafka at {settings.bootstrap_servers}"
        + (f" to user {user!r} (no Describe ACL?)" if user else "")
        + (f"; {hint}" if hint else "")
    )


def check_kafka(settings: KafkaSettings, timeout: float = CHECK_TIMEOUT_SECONDS) -> set[str]:
    """The topic names Kafka shows; ``ServiceUnreachableError`` if no broker answers,
    ``ConfigError`` if the broker rejects the credentials."""
    log = KafkaErrorLog()
    config = quiet_librdkafka_config(
        settings,
        {
            "error_cb": log.record,
            "socket.connection.setup.timeout.ms": int(timeout * 1000),
            # The reason arrives through error_cb; librdkafka's log would repeat it every 50 ms.
            "log_level": 0,
        },
    )
    admin = AdminClient(config)
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        admin.poll(0)  # error_cb runs only when callbacks are served
        raise metadata_failure(settings, log, exc, timeout) from exc
    return set(metadata.topics)
