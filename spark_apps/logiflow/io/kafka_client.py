"""The Kafka client settings of every LogiFlow client, built from one validated ``KafkaSettings``.

Two kinds of client connect to Kafka with the same address and security:

- librdkafka (confluent-kafka): the shipper's and generator's producer, the replay's consumer,
  the ETL's start-up check and other admin clients take ``librdkafka_config``;
- the Java client inside Spark: the ETL's Kafka source and the dead-letter writer take
  ``spark_kafka_options`` (``java_client_properties`` with Spark's ``kafka.`` prefix).

The rules about the config itself (the mechanism defaults to Strimzi's SCRAM-SHA-512, the mTLS
pair, TLS files only with a TLS protocol) are checked by the config model. This module checks
what only a pod that talks to Kafka has: SASL's username and password (from its Secret) and
readable PEM files (mounted), since the same config is also loaded where neither is given
(es-setup, the Kibana import, a chart's ConfigMap in tests).
It imports neither pyspark nor confluent-kafka, so the shipper and the replay stay light.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from logiflow.config import KafkaSettings
from logiflow.errors import ConfigError

# librdkafka logs every refused connection; our messages (from error_cb) say it once, clearly.
SILENT_LOGGER = logging.getLogger("logiflow.kafka.librdkafka")
SILENT_LOGGER.addHandler(logging.NullHandler())
SILENT_LOGGER.propagate = False

_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


def uses_sasl(settings: KafkaSettings) -> bool:
    return settings.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL")


def uses_tls(settings: KafkaSettings) -> bool:
    return settings.security_protocol in ("SSL", "SASL_SSL")


def _read_pem(path: Path, key: str) -> str:
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{key}: cannot read PEM file {path}: {exc}") from exc


def _pem_files(settings: KafkaSettings) -> dict[str, Path]:
    """The configured PEM files by config key, each checked to be a readable text file."""
    files = {
        "kafka.ssl_ca_location": settings.ssl_ca_location,
        "kafka.ssl_certificate_location": settings.ssl_certificate_location,
        "kafka.ssl_key_location": settings.ssl_key_location,
    }
    present = {key: path for key, path in files.items() if path is not None}
    for key, path in present.items():
        _read_pem(path, key)
    return present


def _credentials(settings: KafkaSettings) -> tuple[str, str]:
    """SASL username and password; ``ConfigError`` naming whichever is missing."""
    missing = [
        key
        for key, value in (
            ("kafka.sasl_username", settings.sasl_username),
            ("kafka.sasl_password", settings.sasl_password),
        )
        if not value
    ]
    if missing or settings.sasl_username is None or settings.sasl_password is None:
        raise ConfigError(
            f"kafka.security_protocol {settings.security_protocol} needs {' and '.join(missing)}"
        )
    return settings.sasl_username, settings.sasl_password.get_secret_value()


def librdkafka_config(settings: KafkaSettings) -> dict[str, str]:
    """Address and security for confluent-kafka (librdkafka property names)."""
    files = _pem_files(settings)
    config = {
        "bootstrap.servers": settings.bootstrap_servers,
        "security.protocol": settings.security_protocol,
    }
    if uses_sasl(settings):
        username, password = _credentials(settings)
        config["sasl.mechanism"] = settings.sasl_mechanism
        config["sasl.username"] = username
        config["sasl.password"] = password
    for key, librdkafka_key in (
        ("kafka.ssl_ca_location", "ssl.ca.location"),
        ("kafka.ssl_certificate_location", "ssl.certificate.location"),
        ("kafka.ssl_key_location", "ssl.key.location"),
    ):
        if key in files:
            config[librdkafka_key] = str(files[key])
    return config


def quiet_librdkafka_config(
    settings: KafkaSettings, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``librdkafka_config`` with librdkafka's own log silenced, plus the client's ``extra``."""
    return {**librdkafka_config(settings), "logger": SILENT_LOGGER, **(extra or {})}


def _jaas_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def java_client_properties(settings: KafkaSettings) -> dict[str, str]:
    """Address and security for the Java Kafka client (unprefixed property names)."""
    files = _pem_files(settings)
    props = {
        "bootstrap.servers": settings.bootstrap_servers,
        "security.protocol": settings.security_protocol,
    }
    if uses_sasl(settings):
        username, password = _credentials(settings)
        props["sasl.mechanism"] = settings.sasl_mechanism
        props["sasl.jaas.config"] = (
            f"{_LOGIN_MODULES[settings.sasl_mechanism]} required "
            f"username={_jaas_quote(username)} password={_jaas_quote(password)};"
        )
    if "kafka.ssl_ca_location" in files:
        props["ssl.truststore.type"] = "PEM"
        props["ssl.truststore.location"] = str(files["kafka.ssl_ca_location"])
    if "kafka.ssl_certificate_location" in files:
        # Separate certificate and key files (as Strimzi's user secret holds them) are passed as
        # PEM content, since a PEM keystore *file* must hold both in one.
        props["ssl.keystore.type"] = "PEM"
        props["ssl.keystore.certificate.chain"] = _read_pem(
            files["kafka.ssl_certificate_location"], "kafka.ssl_certificate_location"
        )
        props["ssl.keystore.key"] = _read_pem(
            files["kafka.ssl_key_location"], "kafka.ssl_key_location"
        )
    return props


def spark_kafka_options(settings: KafkaSettings) -> dict[str, str]:
    """``java_client_properties`` as options of Spark's Kafka source and writer (``kafka.*``)."""
    return {f"kafka.{key}": value for key, value in java_client_properties(settings).items()}
