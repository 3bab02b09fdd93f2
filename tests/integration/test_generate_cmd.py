"""``logiflow generate`` against the real local Kafka: the expected number of records, keyed
by host and service, in the formats asked for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kafka_records import read_topic

from logiflow.anomaly.evaluation import LATENCY_REGRESSION, TRAFFIC_DROP
from logiflow.anomaly.labels import read_labels
from logiflow.config import LogiflowConfig

LOGIFLOW = str(Path(sys.executable).parent / "logiflow")


def run_generate(config: LogiflowConfig, tmp_path: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGIFLOW_")}
    env["LOGIFLOW_LOCAL__STATE_DIR"] = str(tmp_path / "state")
    result = subprocess.run(
        [
            LOGIFLOW, "generate",
            "--bootstrap-servers", config.kafka.bootstrap_servers,
            "--topic", config.kafka.logs_topic,
            *args,
        ],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_generate_sends_rate_times_duration_records(
    pipeline_config: LogiflowConfig, tmp_path: Path
) -> None:
    output = run_generate(
        pipeline_config, tmp_path,
        "--rate", "200", "--duration", "3", "--seed", "7", "--malformed", "0.05",
        "--error-burst", "0+60:orders-api:1.0",
    )  # fmt: skip
    records = read_topic(pipeline_config.kafka.bootstrap_servers, pipeline_config.kafka.logs_topic)
    assert len(records) == 600
    assert "generated 600 lines" in output
    documents = [_json_or_none(r.value) for r in records]
    access = [r for r in records if b'"GET ' in r.value or b'"POST ' in r.value]
    assert access and any(documents)
    assert sum(d is None for d in documents) > len(access)  # access lines plus malformed ones
    services = {r.key.split(b"/", 1)[1] for r in records if r.key}
    assert services == {b"storefront", b"orders-api", b"catalog-api"}
    assert all(r.key and r.key.endswith(b"/" + r.headers["logiflow.service"]) for r in records)
    # The burst made every orders-api request fail.
    orders = [d for d in documents if d is not None and d["service"] == "orders-api"]
    assert orders
    assert all(d["status"] >= 500 for d in orders)


def test_incidents_break_the_traffic_and_are_labelled(
    pipeline_config: LogiflowConfig, tmp_path: Path
) -> None:
    labels = tmp_path / "incidents.jsonl"
    output = run_generate(
        pipeline_config, tmp_path,
        "--rate", "300", "--count", "600", "--seed", "3", "--format", "json",
        "--traffic-drop", "0+600:catalog-api:0",
        "--latency-spike", "0+600:orders-api:40",
        "--labels", str(labels),
    )  # fmt: skip
    records = read_topic(pipeline_config.kafka.bootstrap_servers, pipeline_config.kafka.logs_topic)
    documents = [json.loads(r.value) for r in records]
    # JSON logs come from orders-api and catalog-api; every catalog-api arrival was thinned away.
    assert {d["service"] for d in documents} == {"orders-api"}
    assert len(records) < 600
    orders = sorted(d["latency_ms"] for d in documents if d["service"] == "orders-api")
    assert orders[len(orders) // 2] > 500  # medians are 18-35 ms without the spike
    truth = read_labels(labels)
    assert [(i.kind, i.service, i.end - i.start) for i in truth] == [
        (LATENCY_REGRESSION, "orders-api", 600), (TRAFFIC_DROP, "catalog-api", 600),
    ]  # fmt: skip
    assert "wrote 2 incident labels" in output


def test_generate_json_only_and_count(pipeline_config: LogiflowConfig, tmp_path: Path) -> None:
    run_generate(pipeline_config, tmp_path, "--rate", "500", "--count", "250", "--format", "json")
    records = read_topic(pipeline_config.kafka.bootstrap_servers, pipeline_config.kafka.logs_topic)
    assert len(records) == 250
    assert all(isinstance(json.loads(r.value), dict) for r in records)


def _json_or_none(value: bytes) -> dict | None:
    try:
        document = json.loads(value)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None
