"""Fixtures for integration tests: a real Kafka broker and Elasticsearch node for the session.

The servers are started once per test session on free loopback ports with a temporary state
directory, so several test runs on one machine never collide; the artifact cache is the shared
user cache (``LocalSettings.cache_dir``), so only the first run ever downloads. Every test that
touches them gets its own topics, index prefix and checkpoint directory (``pipeline_config``),
so tests do not see each other's data.

Fixtures:
    local_stack      (session)  LocalStack: .kafka_bootstrap, .elasticsearch_url, .config
    es_client        (session)  elasticsearch.Elasticsearch connected to the local node
    unique_name      (function) a fresh lowercase name, valid as topic and index prefix
    kafka_topic      (function) a freshly created, empty topic (2 partitions)
    pipeline_config  (function) local_stack.config with fresh logs and dead-letter topics
                                (created), a fresh index prefix and checkpoint directory, and
                                event times accepted up to 100 years back
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from archive_run import archived, store  # noqa: F401  (shared session fixtures, see below)
from elasticsearch import Elasticsearch
from integration_support import local_settings, pipeline_config_named
from rich.console import Console

from logiflow.config import LogiflowConfig, load_config
from logiflow.io.topic_admin import create_topics
from logiflow.local.servers import LocalServers, LocalStack

# archived and store: the archive's one run (s3proxy, an archived topic), shared by the archive,
# compaction and DAG tests; session fixtures are made once only when registered here.
_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration is an integration test, marked or not."""
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    state_dir = tmp_path_factory.mktemp("local-stack")
    base = load_config(
        overrides={
            "local": local_settings(state_dir),
            "spark": {"checkpoint_dir": str(state_dir / "checkpoints")},
        }
    )
    servers = LocalServers(base.local, Console(stderr=True))
    servers.start(foreground=True)
    try:
        yield LocalStack(servers=servers, config=servers.apply_to(base))
    finally:
        servers.stop()


@pytest.fixture(scope="session")
def es_client(local_stack: LocalStack) -> Iterator[Elasticsearch]:
    client = Elasticsearch(local_stack.elasticsearch_url, request_timeout=30)
    yield client
    client.close()


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40]
    return f"t-{stem}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def kafka_topic(local_stack: LocalStack, unique_name: str) -> str:
    create_topics(local_stack.config.kafka, [unique_name], partitions=2)
    return unique_name


@pytest.fixture
def pipeline_config(local_stack: LocalStack, unique_name: str, tmp_path: Path) -> LogiflowConfig:
    return pipeline_config_named(local_stack, unique_name, tmp_path / "checkpoints")
