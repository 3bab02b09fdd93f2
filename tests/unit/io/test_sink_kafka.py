"""Kafka sink options for the dead-letter topic (pure function, no broker needed)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from logiflow.config import KafkaSettings, LogiflowConfig, load_config
from logiflow.io.sink_kafka import kafka_sink_options, root_cause


def test_sink_writes_to_the_topic_with_full_acknowledgement() -> None:
    options = kafka_sink_options(KafkaSettings(bootstrap_servers="b1:9092"), "dlq")
    assert options == {
        "kafka.bootstrap.servers": "b1:9092",
        "kafka.security.protocol": "PLAINTEXT",
        "kafka.acks": "all",
        "topic": "dlq",
    }


def test_sink_uses_the_sources_security() -> None:
    settings = KafkaSettings(
        security_protocol="SASL_PLAINTEXT", sasl_username="etl", sasl_password=SecretStr("s")
    )
    options = kafka_sink_options(settings, "dlq")
    assert options["kafka.sasl.mechanism"] == "SCRAM-SHA-512"
    assert 'username="etl"' in options["kafka.sasl.jaas.config"]


def test_empty_dead_letter_topic_switches_the_topic_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert LogiflowConfig().kafka.dead_letter_topic == "logiflow-deadletter"
    monkeypatch.setenv("LOGIFLOW_KAFKA__DEAD_LETTER_TOPIC", "")
    assert load_config().kafka.dead_letter_topic is None


def test_root_cause_is_the_innermost_java_cause() -> None:
    trace = (
        "An error occurred while calling o69.save.\n"
        ": org.apache.spark.SparkException: Job aborted due to stage failure: ...\n"
        "\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages\n"
        "Caused by: org.apache.kafka.common.KafkaException: send failed\n"
        "Caused by: org.apache.kafka.common.errors.TimeoutException: Topic dlq not present in "
        "metadata after 60000 ms.\n"
        "\t... 23 more\n"
    )
    assert root_cause(RuntimeError(trace)) == (
        "org.apache.kafka.common.errors.TimeoutException: Topic dlq not present in metadata "
        "after 60000 ms."
    )
    assert root_cause(RuntimeError("plain message\nsecond line")) == "plain message"
