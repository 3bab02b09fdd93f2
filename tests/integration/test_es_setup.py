"""es-setup on the real local node: idempotent, typed ECS mappings, ILM by capability."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from elasticsearch import Elasticsearch

from logiflow.config import LogiflowConfig
from logiflow.contract import index_names as names
from logiflow.io.es_client import connect
from logiflow.io.es_setup import detect_capabilities, setup_elasticsearch


def test_setup_creates_then_leaves_everything_unchanged(
    pipeline_config: LogiflowConfig, es_client: Elasticsearch
) -> None:
    settings = pipeline_config.elasticsearch
    prefix = settings.index_prefix
    client = connect(settings)
    first = setup_elasticsearch(client, settings)
    second = setup_elasticsearch(client, settings)

    made = {(s.kind, s.name) for s in first if s.action == "created"}
    assert ("index template", f"{prefix}-events") in made
    assert ("index template", f"{prefix}-batches") in made
    assert all(s.action in ("unchanged", "skipped") for s in second)
    assert [s for s in second if s.action == "unchanged"] and len(second) == len(first)

    capabilities = detect_capabilities(client)
    skipped = [s for s in first if s.action == "skipped"]
    if capabilities.ilm:
        assert not skipped
        assert es_client.ilm.get_lifecycle(name=f"{prefix}-events")
    else:
        # The minimal local distribution: policies are skipped, and the report says why.
        assert {s.name for s in skipped} == {
            f"{prefix}-events",
            f"{prefix}-deadletter",
            f"{prefix}-aggregates",
            f"{prefix}-anomalies",
        }
        assert all("no ILM" in s.detail for s in skipped)


def test_templates_give_events_their_ecs_types(
    pipeline_config: LogiflowConfig, es_client: Elasticsearch
) -> None:
    settings = pipeline_config.elasticsearch
    setup_elasticsearch(connect(settings), settings)
    index = f"{settings.index_prefix}-events-2026.11.24"
    long_line = "x" * 40_000  # over Lucene's 32 KB term limit: must still be accepted
    es_client.index(
        index=index,
        id="t-0-1",
        document={
            "@timestamp": "2026-11-24T10:00:00.000Z",
            "source.ip": "2001:db8::1",
            "http.response.status_code": 503,
            "event.original": long_line,
            "logiflow.extra": {"tenant": "a", "nested": {"k": 1}},
        },
        refresh=True,
    )
    mapping = es_client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert mapping["source"]["properties"]["ip"]["type"] == "ip"
    assert mapping["http"]["properties"]["response"]["properties"]["status_code"]["type"] == "long"
    assert mapping["event"]["properties"]["original"]["index"] is False
    assert mapping["logiflow"]["properties"]["extra"]["type"] == "flattened"
    hits = es_client.search(index=index, query={"term": {"source.ip": "2001:db8::/32"}})
    assert hits["hits"]["total"]["value"] == 1
    batches = names.batches_index(settings.index_prefix)
    es_client.index(index=batches, document={names.BATCH_ID: 3, names.COUNT_INPUT: 10})
    props = es_client.indices.get_mapping(index=batches)[batches]["mappings"]["properties"]
    assert props["logiflow"]["properties"]["batch"]["properties"]["id"]["type"] == "long"


def test_cli_reports_what_it_did(pipeline_config: LogiflowConfig) -> None:
    settings = pipeline_config.elasticsearch
    args = [
        str(Path(sys.executable).with_name("logiflow")),
        "es-setup",
        "--es-host",
        settings.hosts[0],
        "--index-prefix",
        settings.index_prefix,
    ]
    first = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert f"created   index template {settings.index_prefix}-events" in first.stdout
    second = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert "0 object(s) created or updated" in second.stdout
