"""One KafkaSettings -> librdkafka's settings and the Java client's properties (no broker needed).

The cross-field rules live in the config model; they are tested here through ``load_config``,
the way every command reads its configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from logiflow.config import KafkaSettings, load_config
from logiflow.errors import ConfigError
from logiflow.io.kafka_client import (
    SILENT_LOGGER,
    java_client_properties,
    librdkafka_config,
    quiet_librdkafka_config,
    spark_kafka_options,
)

CA = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"
CERT = "-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n"
SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule"
PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule"


@pytest.fixture
def pem(tmp_path: Path) -> Path:
    for name, text in (("ca.crt", CA), ("user.crt", CERT), ("user.key", KEY)):
        (tmp_path / name).write_text(text)
    return tmp_path


# Each case: the kafka settings, then librdkafka's and the Java client's settings beyond the
# address and protocol. "{pem}" stands for the directory holding ca.crt, user.crt and user.key.
CASES: dict[str, tuple[dict[str, Any], dict[str, str], dict[str, str]]] = {
    "plaintext": ({}, {}, {}),
    "plaintext ignores credentials": ({"sasl_username": "u", "sasl_password": "p"}, {}, {}),
    "sasl without mechanism is scram-sha-512": (
        {"security_protocol": "SASL_PLAINTEXT", "sasl_username": "u", "sasl_password": "p"},
        {"sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "u", "sasl.password": "p"},
        {
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.jaas.config": f'{SCRAM} required username="u" password="p";',
        },
    ),
    "sasl plain over tls": (
        {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "PLAIN",
            "sasl_username": "etl",
            "sasl_password": 'pa"ss\\word',
            "ssl_ca_location": "{pem}/ca.crt",
        },
        {
            "sasl.mechanism": "PLAIN",
            "sasl.username": "etl",
            "sasl.password": 'pa"ss\\word',
            "ssl.ca.location": "{pem}/ca.crt",
        },
        {
            "sasl.mechanism": "PLAIN",
            "sasl.jaas.config": f'{PLAIN} required username="etl" password="pa\\"ss\\\\word";',
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": "{pem}/ca.crt",
        },
    ),
    "mtls": (
        {
            "security_protocol": "SSL",
            "ssl_ca_location": "{pem}/ca.crt",
            "ssl_certificate_location": "{pem}/user.crt",
            "ssl_key_location": "{pem}/user.key",
        },
        {
            "ssl.ca.location": "{pem}/ca.crt",
            "ssl.certificate.location": "{pem}/user.crt",
            "ssl.key.location": "{pem}/user.key",
        },
        {
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": "{pem}/ca.crt",
            "ssl.keystore.type": "PEM",
            "ssl.keystore.certificate.chain": CERT,
            "ssl.keystore.key": KEY,
        },
    ),
}


def _fill(table: dict[str, Any], pem: Path) -> dict[str, Any]:
    return {k: v.replace("{pem}", str(pem)) if isinstance(v, str) else v for k, v in table.items()}


@pytest.mark.parametrize(("kafka", "librdkafka", "java"), CASES.values(), ids=CASES.keys())
def test_one_settings_make_both_clients(
    pem: Path, kafka: dict[str, Any], librdkafka: dict[str, str], java: dict[str, str]
) -> None:
    settings = load_config(overrides={"kafka": _fill(kafka, pem)}).kafka
    connection = {
        "bootstrap.servers": "127.0.0.1:9092",
        "security.protocol": kafka.get("security_protocol", "PLAINTEXT"),
    }
    assert librdkafka_config(settings) == connection | _fill(librdkafka, pem)
    assert java_client_properties(settings) == connection | _fill(java, pem)
    assert spark_kafka_options(settings) == {
        f"kafka.{key}": value for key, value in java_client_properties(settings).items()
    }


def test_quiet_config_silences_librdkafka_and_adds_the_clients_own() -> None:
    config = quiet_librdkafka_config(KafkaSettings(), {"group.id": "g"})
    assert config == {
        **librdkafka_config(KafkaSettings()),
        "logger": SILENT_LOGGER,
        "group.id": "g",
    }


@pytest.mark.parametrize(
    ("kafka", "message"),
    [
        ({"security_protocol": "SSL", "ssl_key_location": "k"}, "both"),
        ({"security_protocol": "SSL", "ssl_certificate_location": "c"}, "both"),
        ({"ssl_ca_location": "ca.crt"}, "use SSL or SASL_SSL"),
        (
            {
                "security_protocol": "SASL_PLAINTEXT",
                "sasl_username": "u",
                "sasl_password": "p",
                "ssl_ca_location": "ca.crt",
            },
            r"kafka\.ssl_ca_location set but kafka\.security_protocol is SASL_PLAINTEXT",
        ),
    ],
)
def test_inconsistent_security_is_a_config_error(kafka: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(overrides={"kafka": kafka})
    with pytest.raises(ValidationError, match=message.removesuffix("$")):
        KafkaSettings(**kafka)


@pytest.mark.parametrize("build", [librdkafka_config, java_client_properties])
@pytest.mark.parametrize(
    ("kafka", "message"),
    [
        (
            {"security_protocol": "SASL_SSL"},
            r"kafka\.security_protocol SASL_SSL needs "
            r"kafka\.sasl_username and kafka\.sasl_password$",
        ),
        (
            {"security_protocol": "SASL_PLAINTEXT", "sasl_username": "u"},
            r"kafka\.security_protocol SASL_PLAINTEXT needs kafka\.sasl_password$",
        ),
        ({"security_protocol": "SASL_SSL", "sasl_password": "p"}, r"needs kafka\.sasl_username$"),
    ],
)
def test_sasl_without_credentials_is_a_config_error_when_a_client_is_built(
    build: Any, kafka: dict[str, Any], message: str
) -> None:
    # The config itself loads: pods that never talk to Kafka read the same file without the
    # Kafka credentials (only the pods that do get them from their Secrets).
    settings = load_config(overrides={"kafka": kafka}).kafka
    with pytest.raises(ConfigError, match=message):
        build(settings)


@pytest.mark.parametrize("build", [librdkafka_config, java_client_properties])
def test_unreadable_pem_file_is_a_config_error(tmp_path: Path, build: Any) -> None:
    settings = KafkaSettings(
        security_protocol="SSL",
        ssl_certificate_location=tmp_path / "missing.crt",
        ssl_key_location=tmp_path / "missing.key",
    )
    with pytest.raises(ConfigError, match=r"kafka\.ssl_certificate_location"):
        build(settings)
