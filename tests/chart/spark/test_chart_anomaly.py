"""Anomaly detection in the chart: off by default; on, the minute-counts topic exists, the ETL's
Kafka user may write and read it (nothing else gains access), and the config file carries the
section with the detector's knobs (THE config model accepts it)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from chart_render import find, one, render, render_fails

from logiflow.config import load_config

NAME = "lf-logiflow"
TOPIC = "logiflow-minute-counts"
ON = ("--set", "anomaly.enabled=true")


def _topic_acls(docs: list[dict], user: str) -> set[str]:
    kafka_user = one(docs, "KafkaUser", f"{NAME}-{user}")
    return {
        op
        for acl in kafka_user["spec"]["authorization"]["acls"]
        if acl["resource"]["name"] == TOPIC
        for op in acl["operations"]
    }


def test_off_by_default_leaves_no_trace() -> None:
    docs = render()
    config = yaml.safe_load(one(docs, "ConfigMap", f"{NAME}-config")["data"]["config.yaml"])
    assert "anomaly" not in config
    assert not find(docs, "KafkaTopic", TOPIC)
    assert _topic_acls(docs, "etl") == set()


def test_on_the_topic_exists_and_only_the_etl_may_use_it() -> None:
    docs = render(*ON, "--set", "kafka.topics.minuteCounts.partitions=6")
    topic = one(docs, "KafkaTopic", TOPIC)
    assert topic["metadata"]["labels"]["strimzi.io/cluster"] == NAME
    assert topic["spec"]["partitions"] == 6
    assert topic["spec"]["config"]["retention.ms"] == 86_400_000
    assert _topic_acls(docs, "etl") == {"Read", "Write", "Describe"}
    assert _topic_acls(docs, "shipper") == set()


def test_on_the_config_model_reads_the_section_and_the_knobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = render(
        *ON,
        "--set-json", 'anomaly.detector={"z_threshold": 5.5, "state_ttl": "3 days"}',
        "--set", "kafka.topics.minuteCounts.name=team-minute-counts",
    )  # fmt: skip
    path = tmp_path / "config.yaml"
    path.write_text(one(docs, "ConfigMap", f"{NAME}-config")["data"]["config.yaml"])
    monkeypatch.setenv("LOGIFLOW_KAFKA__SASL_USERNAME", f"{NAME}-etl")
    monkeypatch.setenv("LOGIFLOW_KAFKA__SASL_PASSWORD", "from-kafkauser-secret")
    anomaly = load_config(path).anomaly
    assert anomaly.enabled
    assert anomaly.topic == "team-minute-counts"
    assert anomaly.z_threshold == 5.5
    assert anomaly.state_ttl == "3 days"
    assert anomaly.min_errors == 5  # untouched knobs keep the model's defaults


@pytest.mark.parametrize(
    "setting",
    ["anomaly.enable=true", "anomaly.detector.z_treshold=5", "anomaly.detector.z_threshold=0",
     "anomaly.detector.state_ttl=forever"],
)  # fmt: skip
def test_the_schema_catches_typos(setting: str) -> None:
    assert "anomaly" in render_fails("--set", setting)
