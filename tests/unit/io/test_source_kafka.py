"""Kafka source options built from KafkaSettings (pure function, no broker needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from logiflow.config import KafkaSettings
from logiflow.errors import ConfigError
from logiflow.io.kafka_client import librdkafka_config
from logiflow.io.source_kafka import kafka_source_options


def test_plaintext_defaults() -> None:
    options = kafka_source_options(KafkaSettings(bootstrap_servers="b1:9092,b2:9092"))
    assert options == {
        "kafka.bootstrap.servers": "b1:9092,b2:9092",
        "kafka.security.protocol": "PLAINTEXT",
        "subscribe": "logiflow-logs",
        "startingOffsets": "earliest",
        "maxOffsetsPerTrigger": "200000",
        "failOnDataLoss": "true",
        "groupIdPrefix": "logiflow-etl",
        "includeHeaders": "true",
    }


def test_back_pressure_offsets_and_group_come_from_settings() -> None:
    options = kafka_source_options(
        KafkaSettings(
            logs_topic="edge",
            starting_offsets="latest",
            max_offsets_per_trigger=5000,
            consumer_group_prefix="team-a",
            fail_on_data_loss=False,
        )
    )
    assert options["subscribe"] == "edge"
    assert options["startingOffsets"] == "latest"
    assert options["maxOffsetsPerTrigger"] == "5000"
    assert options["groupIdPrefix"] == "team-a"
    assert options["failOnDataLoss"] == "false"


def test_sasl_scram_over_tls_builds_jaas_and_pem_truststore(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    options = kafka_source_options(
        KafkaSettings(
            security_protocol="SASL_SSL",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_username="logiflow",
            sasl_password='pa"ss\\word',
            ssl_ca_location=ca,
        )
    )
    assert options["kafka.security.protocol"] == "SASL_SSL"
    assert options["kafka.sasl.mechanism"] == "SCRAM-SHA-512"
    assert options["kafka.sasl.jaas.config"] == (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="logiflow" password="pa\\"ss\\\\word";'
    )
    assert options["kafka.ssl.truststore.type"] == "PEM"
    assert options["kafka.ssl.truststore.location"] == str(ca)
    assert "kafka.ssl.keystore.type" not in options


def test_sasl_without_mechanism_defaults_to_scram_sha_512() -> None:
    options = kafka_source_options(
        KafkaSettings(security_protocol="SASL_PLAINTEXT", sasl_username="u", sasl_password="p")
    )
    assert options["kafka.sasl.mechanism"] == "SCRAM-SHA-512"
    assert options["kafka.sasl.jaas.config"].startswith(
        "org.apache.kafka.common.security.scram.ScramLoginModule required"
    )


def test_mtls_passes_pem_certificate_and_key_contents(tmp_path: Path) -> None:
    cert, key, ca = tmp_path / "user.crt", tmp_path / "user.key", tmp_path / "ca.crt"
    cert.write_text("-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n")
    key.write_text("-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n")
    ca.write_text("-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n")
    settings = KafkaSettings(
        security_protocol="SSL",
        ssl_ca_location=ca,
        ssl_certificate_location=cert,
        ssl_key_location=key,
    )
    options = kafka_source_options(settings)
    assert options["kafka.ssl.keystore.type"] == "PEM"
    assert options["kafka.ssl.keystore.certificate.chain"] == cert.read_text()
    assert options["kafka.ssl.keystore.key"] == key.read_text()
    assert "kafka.sasl.jaas.config" not in options
    assert librdkafka_config(settings) == {
        "bootstrap.servers": "127.0.0.1:9092",
        "security.protocol": "SSL",
        "ssl.ca.location": str(ca),
        "ssl.certificate.location": str(cert),
        "ssl.key.location": str(key),
    }


def test_unreadable_client_certificate_is_a_config_error(tmp_path: Path) -> None:
    settings = KafkaSettings(
        security_protocol="SSL",
        ssl_certificate_location=tmp_path / "missing.crt",
        ssl_key_location=tmp_path / "missing.key",
    )
    with pytest.raises(ConfigError, match=r"kafka\.ssl_certificate_location"):
        kafka_source_options(settings)
