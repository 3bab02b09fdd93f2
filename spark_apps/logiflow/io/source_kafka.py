"""Kafka source of the streaming job, and the start-up check that Kafka is there at all.

``kafka_source_options`` turns ``KafkaSettings`` into the Spark Kafka source's options (a pure
function, unit-tested): the logs topic, starting offsets, ``maxOffsetsPerTrigger`` as
back-pressure, ``failOnDataLoss`` (on by default: records deleted by retention before we read
them must fail the query loudly), the consumer group prefix, and security — SASL/SCRAM (or PLAIN)
with the JAAS line built from username and password, TLS with a PEM truststore (Strimzi's
cluster CA) and mTLS with a PEM client certificate and key.

Spark's source does not fail fast on an unreachable broker (it retries offset lookups for
minutes), so ``check_kafka`` asks the broker for metadata with confluent-kafka first and turns
silence into ``ServiceUnreachableError`` (rejected credentials into ``ConfigError``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from logiflow.config import KafkaSettings
from logiflow.errors import ConfigError
from logiflow.io.kafka_diagnosis import KafkaErrorLog, metadata_failure

CHECK_TIMEOUT_SECONDS = 8.0

_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}
# Strimzi's KafkaUser with SCRAM authentication uses SHA-512.
DEFAULT_SASL_MECHANISM = "SCRAM-SHA-512"


def _jaas_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _read_pem(path: Path, key: str) -> str:
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{key}: cannot read PEM file {path}: {exc}") from exc


def _uses_sasl(settings: KafkaSettings) -> bool:
    return settings.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL")


def _uses_tls(settings: KafkaSettings) -> bool:
    return settings.security_protocol in ("SSL", "SASL_SSL")


def _check_security(settings: KafkaSettings) -> None:
    if _uses_sasl(settings) and (not settings.sasl_username or settings.sasl_password is None):
        raise ConfigError(
            f"kafka.security_protocol is {settings.security_protocol}: set kafka.sasl_username "
            "and kafka.sasl_password"
        )
    has_cert = settings.ssl_certificate_location is not None
    if has_cert != (settings.ssl_key_location is not None):
        raise ConfigError(
            "mTLS needs both kafka.ssl_certificate_location and kafka.ssl_key_location"
        )
    if (has_cert or settings.ssl_ca_location) and not _uses_tls(settings):
        raise ConfigError(
            "kafka.ssl_* files are set but kafka.security_protocol is "
            f"{settings.security_protocol}; use SSL or SASL_SSL"
        )


def kafka_client_properties(settings: KafkaSettings) -> dict[str, str]:
    """Java Kafka client properties (unprefixed) for the configured security."""
    _check_security(settings)
    props = {
        "bootstrap.servers": settings.bootstrap_servers,
        "security.protocol": settings.security_protocol,
    }
    if _uses_sasl(settings):
        mechanism = settings.sasl_mechanism or DEFAULT_SASL_MECHANISM
        assert settings.sasl_username is not None and settings.sasl_password is not None
        props["sasl.mechanism"] = mechanism
        props["sasl.jaas.config"] = (
            f"{_LOGIN_MODULES[mechanism]} required "
            f"username={_jaas_quote(settings.sasl_username)} "
            f"password={_jaas_quote(settings.sasl_password.get_secret_value())};"
        )
    if _uses_tls(settings):
        if settings.ssl_ca_location is not None:
            props["ssl.truststore.type"] = "PEM"
            props["ssl.truststore.location"] = str(settings.ssl_ca_location)
        if settings.ssl_certificate_location and settings.ssl_key_location:
            # Separate certificate and key files (as Strimzi's user secret holds them): passed
            # as PEM content, since a PEM keystore *file* must hold both in one.
            props["ssl.keystore.type"] = "PEM"
            props["ssl.keystore.certificate.chain"] = _read_pem(
                settings.ssl_certificate_location, "kafka.ssl_certificate_location"
            )
            props["ssl.keystore.key"] = _read_pem(
                settings.ssl_key_location, "kafka.ssl_key_location"
            )
    return props


def kafka_source_options(settings: KafkaSettings) -> dict[str, str]:
    """Options for ``spark.readStream.format("kafka")``."""
    options = {f"kafka.{key}": value for key, value in kafka_client_properties(settings).items()}
    options.update(
        {
            "subscribe": settings.logs_topic,
            "startingOffsets": settings.starting_offsets,
            "maxOffsetsPerTrigger": str(settings.max_offsets_per_trigger),
            "failOnDataLoss": "true" if settings.fail_on_data_loss else "false",
            "groupIdPrefix": settings.consumer_group_prefix,
            "includeHeaders": "false",
        }
    )
    return options


def read_kafka(spark: SparkSession, settings: KafkaSettings) -> DataFrame:
    """The streaming DataFrame of raw Kafka records (key, value, topic, partition, offset, ...)."""
    return spark.readStream.format("kafka").options(**kafka_source_options(settings)).load()


def librdkafka_config(settings: KafkaSettings) -> dict[str, Any]:
    """The same connection for confluent-kafka (librdkafka property names)."""
    _check_security(settings)
    config: dict[str, Any] = {
        "bootstrap.servers": settings.bootstrap_servers,
        "security.protocol": settings.security_protocol,
    }
    if _uses_sasl(settings):
        assert settings.sasl_username is not None and settings.sasl_password is not None
        config["sasl.mechanism"] = settings.sasl_mechanism or DEFAULT_SASL_MECHANISM
        config["sasl.username"] = settings.sasl_username
        config["sasl.password"] = settings.sasl_password.get_secret_value()
    if _uses_tls(settings):
        if settings.ssl_ca_location is not None:
            config["ssl.ca.location"] = str(settings.ssl_ca_location)
        if settings.ssl_certificate_location and settings.ssl_key_location:
            config["ssl.certificate.location"] = str(settings.ssl_certificate_location)
            config["ssl.key.location"] = str(settings.ssl_key_location)
    return config


def check_kafka(settings: KafkaSettings, timeout: float = CHECK_TIMEOUT_SECONDS) -> set[str]:
    """The topic names Kafka shows; ``ServiceUnreachableError`` if no broker answers,
    ``ConfigError`` if the broker rejects the credentials."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    log = KafkaErrorLog()
    config = librdkafka_config(settings)
    config["error_cb"] = log.record
    config["socket.connection.setup.timeout.ms"] = int(timeout * 1000)
    # The reason arrives through error_cb; librdkafka's own log would repeat it every 50 ms.
    config["log_level"] = 0
    admin = AdminClient(config)
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        admin.poll(0)  # error_cb runs only when callbacks are served
        raise metadata_failure(settings, log, exc, timeout) from exc
    return set(metadata.topics)
