"""Whole-request 4xx a retry cannot fix, from a real Elasticsearch node with security on.

Issue 12: "a whole-request 4xx that cannot succeed (bad credentials, no privilege, request too
large) is a clear error naming the cause, with the request split or the job stopped as fits".
One secured node (``secured_elasticsearch``) with a small ``http.max_content_length`` serves the
module; Kafka is the session's. The ETL writes as a user holding the role the chart gives it
(checked against ``io.es_privileges``), the index setup runs as the admin, as the chart's setup
Job does. Each test ends by checking that nothing was lost: every line produced is indexed or a
dead letter, exactly once.

- 413: the sink halves its requests until they pass; a document too large for any request
  becomes a dead letter; the run ends normally.
- 401 (the password changed on the cluster while the job runs) and 403 (the role narrowed while
  it runs): the job stops with exit code 2 and a message naming the cause, the address or the
  index; the batch it could not write stays uncommitted, and a restart with good credentials
  writes every line once.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from continuous_etl import LOGIFLOW, access_line, write_etl_config
from elasticsearch import Elasticsearch
from es_documents import count_documents
from kafka_records import read_topic, values
from secured_elasticsearch import SecuredNode, secured_node

from logiflow.config import LogiflowConfig
from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.io.es_privileges import COMPONENT_CALLS, unmet
from logiflow.io.es_setup import setup_elasticsearch
from logiflow.io.sink_elasticsearch import TOO_LARGE_KEPT_CHARS

# Small enough that the sink's default chunk (2,000 documents) is refused and must be split,
# large enough for an ordinary event (about 1.5 kB) and a dead letter of a 32 kB line.
MAX_CONTENT_LENGTH = "64kb"
WRITER_ROLE = "logiflow_writer"


def writer_role(prefix: str) -> dict[str, Any]:
    """The ETL's role as the chart defines it (charts/logiflow/templates/elasticsearch/
    secret-roles.yaml): monitor, and on ``<prefix>-*`` create_index, index, maintenance, read."""
    return {
        "cluster": ["monitor"],
        "indices": [
            {
                "names": [f"{prefix}-*"],
                "privileges": ["create_index", "index", "maintenance", "read"],
            }
        ],
    }


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredNode]:
    state_dir = tmp_path_factory.mktemp("secured-es")
    with secured_node(state_dir, {"http.max_content_length": MAX_CONTENT_LENGTH}) as started:
        yield started


@dataclass
class SecuredEtl:
    """The test's config pointed at the secured node as its own writer, and that writer."""

    config: LogiflowConfig
    config_file: Path
    user: str
    password: str

    @property
    def prefix(self) -> str:
        return self.config.elasticsearch.index_prefix


def _secured_etl(pipeline_config: LogiflowConfig, node: SecuredNode, tmp_path: Path) -> SecuredEtl:
    """A writer of the test's own holding the writer role on its prefix, the indices set up by
    the admin, and the config file for ``logiflow --config`` (the password goes by environment:
    the file would hold it masked)."""
    prefix = pipeline_config.elasticsearch.index_prefix
    role = f"{WRITER_ROLE}_{prefix}"
    node.put_role(role, writer_role(prefix))
    user = f"etl-{prefix}"
    password = node.add_user(user, [role])
    node.wait_until(lambda: node.authenticates(user, password), "the writer's password")
    es = pipeline_config.elasticsearch.model_copy(
        update={"hosts": [node.url], "username": user, "max_backoff_seconds": 2.0}
    )
    config = pipeline_config.model_copy(update={"elasticsearch": es})
    setup_elasticsearch(node.admin, es)
    return SecuredEtl(config, write_etl_config(config, tmp_path / "config.yaml"), user, password)


def _run_etl(etl: SecuredEtl, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOGIFLOW, "--config", str(etl.config_file), "etl", "--skip-es-setup", *args],
        env={**os.environ, "LOGIFLOW_ELASTICSEARCH__PASSWORD": etl.password},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def _produce(config: LogiflowConfig, lines: list[str]) -> None:
    producer = Producer({"bootstrap.servers": config.kafka.bootstrap_servers})
    for line in lines:
        producer.produce(config.kafka.logs_topic, line.encode())
    assert producer.flush(60) == 0


def _indexed(es: Elasticsearch, prefix: str, kind: names.Kind) -> int:
    pattern = names.index_pattern(prefix, kind)
    es.indices.refresh(index=pattern, allow_no_indices=True, ignore_unavailable=True)
    return count_documents(es, pattern)


def test_the_writer_role_covers_the_etl_calls() -> None:
    role = writer_role("logiflow")
    [indices] = role["indices"]
    assert unmet(COMPONENT_CALLS["etl"], role["cluster"], indices["privileges"]) == []


def test_requests_too_large_are_split_and_a_document_too_large_is_a_dead_letter(
    node: SecuredNode, pipeline_config: LogiflowConfig, tmp_path: Path
) -> None:
    etl = _secured_etl(pipeline_config, node, tmp_path)
    ordinary = [access_line(n) for n in range(3000)]
    # Under parse.max_line_bytes (32 kB), so parsed: its event (the URL twice, and the line)
    # is over 64 kB, too large for any request.
    long_url = access_line(3000).replace("/items/", "/" + "a" * 30_000)
    # Over parse.max_line_bytes: a dead letter from the start, itself too large for a request.
    long_line = access_line(3001).replace("/items/", "/" + "b" * 70_000)
    _produce(etl.config, [*ordinary, long_url, long_line])

    result = _run_etl(etl, "--until-caught-up")

    assert result.returncode == 0, result.stderr[-4000:]
    output = result.stdout + result.stderr
    assert f"Elasticsearch at {node.url} refused a request of" in output
    assert "as too large (413" in output
    assert _indexed(node.admin, etl.prefix, names.EVENTS) == len(ordinary)
    assert _indexed(node.admin, etl.prefix, names.DEAD_LETTER) == 2
    letters = node.admin.search(index=names.index_pattern(etl.prefix, names.DEAD_LETTER))
    kept = {hit["_source"][ecs.EVENT_ORIGINAL] for hit in letters["hits"]["hits"]}
    assert kept == {line[:TOO_LARGE_KEPT_CHARS] for line in (long_url, long_line)}
    for hit in letters["hits"]["hits"]:
        reason = hit["_source"][ecs.ERROR_MESSAGE]
        assert "413 (request entity too large)" in reason
        assert f"keeps its first {TOO_LARGE_KEPT_CHARS}" in reason
    # The dead-letter topic has both lines whole.
    dead_topic = read_topic(etl.config.kafka.bootstrap_servers, etl.config.kafka.dead_letter_topic)
    assert sorted(values(dead_topic)) == sorted([long_url, long_line])
