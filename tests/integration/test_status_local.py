"""``logiflow status --local`` against the real local servers of the session: their state and
address, and the ETL's last batch and consumer lag from accounting documents written the way
the ETL writes them (contract.index_names, contract.offset_ranges) against a real topic.

The lag is the records between each partition's end and the offset after the last one an
accounting document says the ETL committed.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from confluent_kafka import Producer
from elasticsearch import Elasticsearch
from integration_support import LOGIFLOW, local_settings

from logiflow.config import LogiflowConfig
from logiflow.contract import index_names as names
from logiflow.contract.offset_ranges import OffsetRange
from logiflow.io.es_setup import setup_elasticsearch
from logiflow.local.servers import LocalStack


def write_config(path: Path, local: dict[str, Any], config: LogiflowConfig) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "local": local,
                "kafka": {"logs_topic": config.kafka.logs_topic},
                "elasticsearch": {"index_prefix": config.elasticsearch.index_prefix},
            }
        )
    )
    return path


def stack_config(local_stack: LocalStack, config: LogiflowConfig, tmp_path: Path) -> Path:
    local = local_stack.servers.settings.model_dump(mode="json")
    return write_config(tmp_path / "config.yaml", local, config)


def status(config_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOGIFLOW_", "KUBE"))}
    return subprocess.run(
        [LOGIFLOW, "--config", str(config_file), "status", *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip


def rows(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    report = json.loads(result.stdout)
    return {f"{c['component']} {c['name']}": c for c in report["checks"]}


def produce(config: LogiflowConfig, per_partition: dict[int, int]) -> None:
    producer = Producer({"bootstrap.servers": config.kafka.bootstrap_servers})
    for partition, count in per_partition.items():
        for n in range(count):
            producer.produce(config.kafka.logs_topic, f"line {n}".encode(), partition=partition)
    assert producer.flush(30) == 0


def account(
    es: Elasticsearch, config: LogiflowConfig, batch: int, when: datetime, ranges: list[OffsetRange]
) -> None:
    prefix = config.elasticsearch.index_prefix
    source = {
        names.BATCH_TIMESTAMP: when.isoformat().replace("+00:00", "Z"),
        names.BATCH_QUERY: names.EVENTS_QUERY,
        names.BATCH_ID: batch,
        names.COUNT_INPUT: sum(r.records for r in ranges),
        names.BATCH_OFFSET_RANGES: [r.as_document() for r in ranges],
    }
    es.index(
        index=names.batches_index(prefix),
        id=names.batch_doc_id(names.EVENTS_QUERY, batch),
        document=source,
        refresh="wait_for",
    )


def test_local_status_reports_servers_last_batch_and_lag(
    local_stack: LocalStack,
    pipeline_config: LogiflowConfig,
    es_client: Elasticsearch,
    tmp_path: Path,
) -> None:
    config = pipeline_config
    setup_elasticsearch(es_client, config.elasticsearch)
    config_file = stack_config(local_stack, config, tmp_path)
    topic = config.kafka.logs_topic

    nothing_yet = status(config_file, "--local", "--json")
    assert nothing_yet.returncode == 0, nothing_yet.stderr
    assert rows(nothing_yet)["ETL last batch"]["level"] == "degraded"

    produce(config, {0: 6, 1: 4})
    now = datetime.now(UTC)
    account(es_client, config, 0, now - timedelta(seconds=30), [OffsetRange(topic, 0, 0, 3, 4)])
    account(
        es_client, config, 1, now, [OffsetRange(topic, 0, 4, 5, 2), OffsetRange(topic, 1, 0, 1, 2)]
    )

    result = status(config_file, "--local", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["healthy"] is True
    found = rows(result)
    kafka = found[f"kafka {local_stack.kafka_bootstrap}"]
    assert kafka["level"] == "ok"
    es = found[f"elasticsearch {local_stack.elasticsearch_url}"]
    assert es["state"] == es_client.cluster.health()["status"]
    assert found["ETL last batch"]["level"] == "ok"
    assert found["ETL last batch"]["state"].startswith(now.strftime("%Y-%m-%dT%H:%M"))
    # Partition 0: all 6 committed; partition 1: 2 of 4.
    assert found["ETL consumer lag"]["state"] == "2"

    stale = status(config_file, "--local", "--json", "--max-batch-age", "1")
    if (datetime.now(UTC) - now).total_seconds() > 1:
        assert rows(stale)["ETL last batch"]["level"] == "degraded"
    assert stale.returncode == 0

    # Without --local or a namespace, the existing state directory selects the local stack.
    table = status(config_file)
    assert table.returncode == 0, table.stderr
    assert local_stack.kafka_bootstrap in table.stdout


def test_local_status_with_servers_down_exits_1_naming_both(
    pipeline_config: LogiflowConfig, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    (state_dir / "kafka").mkdir(parents=True)
    config_file = write_config(tmp_path / "config.yaml", local_settings(state_dir), pipeline_config)
    result = status(config_file, "--local", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert [c["state"] for c in report["checks"]] == ["stopped", "stopped"]
    assert len(report["failed"]) == 2
    assert "unhealthy: kafka 127.0.0.1:" in result.stderr
    assert "unhealthy: elasticsearch http://127.0.0.1:" in result.stderr


def test_status_without_a_target_says_what_to_pass(
    pipeline_config: LogiflowConfig, tmp_path: Path
) -> None:
    config_file = write_config(
        tmp_path / "config.yaml", local_settings(tmp_path / "never-used"), pipeline_config
    )
    result = status(config_file)
    assert result.returncode == 2
    assert "pass --namespace/--release" in result.stderr
