"""templates/config: the rendered config file is accepted by THE config model (config.py), and
with the chart's environment it points at what Strimzi and ECK publish."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from chart_render import Doc, one

from logiflow.config import load_config

NAME = "lf-logiflow"


def test_config_model_accepts_the_rendered_file(
    docs: list[Doc], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = one(docs, "ConfigMap", f"{NAME}-config")["data"]["config.yaml"]
    path = tmp_path / "config.yaml"
    path.write_text(text)
    # What the chart's env sets from the operators' Secrets (values stand in for the Secrets).
    monkeypatch.setenv("LOGIFLOW_KAFKA__SASL_USERNAME", f"{NAME}-etl")
    monkeypatch.setenv("LOGIFLOW_KAFKA__SASL_PASSWORD", "from-kafkauser-secret")
    monkeypatch.setenv("LOGIFLOW_ELASTICSEARCH__USERNAME", "logiflow-etl")
    monkeypatch.setenv("LOGIFLOW_ELASTICSEARCH__PASSWORD", "from-basic-auth-secret")
    config = load_config(path)
    kafka, es = config.kafka, config.elasticsearch
    assert kafka.bootstrap_servers == f"{NAME}-kafka-bootstrap.logiflow.svc:9093"
    assert kafka.security_protocol == "SASL_SSL"
    assert kafka.sasl_mechanism == "SCRAM-SHA-512"
    assert str(kafka.ssl_ca_location) == "/etc/logiflow/kafka-ca/ca.crt"
    assert kafka.sasl_password is not None
    assert kafka.consumer_group_prefix == "logiflow-etl"
    # Under the prefix: the ETL user's group ACL (prefix-typed) covers its commits.
    assert kafka.consumer_group == "logiflow-etl"
    assert (config.metrics.host, config.metrics.port) == ("0.0.0.0", 9108)
    assert kafka.logs_topic == "logiflow-logs" and kafka.dead_letter_topic == "logiflow-deadletter"
    assert es.hosts == [f"https://{NAME}-es-http.logiflow.svc:9200"]
    assert str(es.ca_certs) == "/etc/logiflow/es-ca/ca.crt"
    assert es.username == "logiflow-etl"
    assert config.spark.checkpoint_dir == "/var/lib/logiflow/checkpoints"
    assert config.spark.master.startswith("k8s://")
    # No credential is written into the file itself.
    assert "password" not in text


def test_pipeline_sections_pass_through(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from chart_render import render

    # SASL_SSL needs the credentials the chart's env passes from the KafkaUser's Secret.
    monkeypatch.setenv("LOGIFLOW_KAFKA__SASL_USERNAME", f"{NAME}-etl")
    monkeypatch.setenv("LOGIFLOW_KAFKA__SASL_PASSWORD", "from-kafkauser-secret")

    docs = render("--set-json", 'config.aggregate={"window":"30 seconds"}')
    text = one(docs, "ConfigMap", f"{NAME}-config")["data"]["config.yaml"]
    assert yaml.safe_load(text)["aggregate"] == {"window": "30 seconds"}
    path = tmp_path / "config.yaml"
    path.write_text(text)
    assert load_config(path).aggregate.window == "30 seconds"


def test_event_time_bounds_are_rendered(docs: list[Doc], tmp_path: Path) -> None:
    text = one(docs, "ConfigMap", f"{NAME}-config")["data"]["config.yaml"]
    parse = yaml.safe_load(text)["parse"]
    assert parse == {"event_time_max_ahead": "1 day", "event_time_max_behind": "30 days"}
