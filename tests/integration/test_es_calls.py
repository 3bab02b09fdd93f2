"""The Elasticsearch requests each real component sends are the calls ``es_privileges`` lists.

The local node's HTTP tracer logs every request it receives (method and path), whichever process
sent it: the CLI, the driver, or Spark's Python workers writing bulk requests. Each component
runs as it does on a cluster (setup as ``logiflow es-setup``; the ETL without index setup, as the
SparkApplication runs it; ``logiflow check`` as helm test runs it), and every request it sent
must be one of the calls listed for it, the list the chart's roles are checked against
(tests/chart/elasticsearch/test_chart_es_roles.py). The local node has no ILM and no security,
so the lifecycle-policy calls are not made here, and the privilege check answers "no security".
Backfill runs over the archive tests' shared archive (``archive_run.archived``).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from archive_run import Archived
from elasticsearch import Elasticsearch
from kafka_records import write_topic
from pyspark.sql import SparkSession

from logiflow.config import LogiflowConfig
from logiflow.io.es_privileges import COMPONENT_CALLS, call_named
from logiflow.job import run_etl
from logiflow.local.servers import LocalStack

LOGIFLOW = str(Path(sys.executable).with_name("logiflow"))
_TRACED = re.compile(r"\]\[(GET|HEAD|POST|PUT|DELETE|PATCH)\]\[([^\]]*)\] received request")
_TRACER = {"http.tracer.include": "*", "logger.org.elasticsearch.http.HttpTracer": "TRACE"}
# Calls the local node gives no occasion for: it has no ILM, so setup skips the policies.
NOT_ON_THIS_NODE = {"get ilm policy", "put ilm policy"}


class RequestLog:
    """The requests the node logged since the last ``take``."""

    def __init__(self, log_file: Path) -> None:
        self.log_file = log_file
        self.offset = log_file.stat().st_size

    def take(self) -> list[tuple[str, str]]:
        with self.log_file.open("rb") as log:
            log.seek(self.offset)
            text = log.read().decode("utf-8", "replace")
            self.offset = log.tell()
        return [(m.group(1), m.group(2)) for m in _TRACED.finditer(text)]


@pytest.fixture
def requests_log(local_stack: LocalStack, es_client: Elasticsearch) -> Iterator[RequestLog]:
    es_client.cluster.put_settings(transient=_TRACER)
    try:
        yield RequestLog(local_stack.servers.elasticsearch.log_file)
    finally:
        es_client.cluster.put_settings(transient=dict.fromkeys(_TRACER))


def named(requests: list[tuple[str, str]]) -> set[str]:
    unlisted = [r for r in requests if call_named(*r) is None]
    assert unlisted == [], "requests no call in logiflow.io.es_privileges describes"
    return {name for r in requests if (name := call_named(*r)) is not None}


def config_file(config: LogiflowConfig, tmp_path: Path) -> Path:
    path = tmp_path / "logiflow.yaml"
    data = {
        "kafka": {
            "bootstrap_servers": config.kafka.bootstrap_servers,
            "logs_topic": config.kafka.logs_topic,
            "dead_letter_topic": config.kafka.dead_letter_topic,
        },
        "elasticsearch": {
            "hosts": config.elasticsearch.hosts,
            "index_prefix": config.elasticsearch.index_prefix,
        },
        "local": {"state_dir": str(tmp_path / "state")},
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_each_component_makes_only_its_listed_calls(
    spark: SparkSession,
    pipeline_config: LogiflowConfig,
    requests_log: RequestLog,
    tmp_path: Path,
) -> None:
    config = pipeline_config
    conf = str(config_file(config, tmp_path))

    subprocess.run([LOGIFLOW, "--config", conf, "es-setup"], check=True, timeout=120)
    setup_calls = named(requests_log.take())
    assert setup_calls == set(COMPONENT_CALLS["setup"]) - NOT_ON_THIS_NODE

    line = b'203.0.113.9 - - [30/Nov/2026:12:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl/8"'
    write_topic(config.kafka.bootstrap_servers, config.kafka.logs_topic, [(b"h/s", line, None)])
    run_etl(config, until_caught_up=True, spark=spark, setup_es=False)
    assert named(requests_log.take()) == set(COMPONENT_CALLS["etl"])

    # No ETL runs now, so the marker never shows: the check times out, having made its calls.
    checked = subprocess.run(
        [LOGIFLOW, "--config", conf, "check", "--timeout", "3"], timeout=120, check=False
    )
    assert checked.returncode != 0
    assert named(requests_log.take()) == set(COMPONENT_CALLS["check"])


def test_backfill_makes_only_its_listed_calls(archived: Archived, requests_log: RequestLog) -> None:
    # As the DAG runs it on a cluster: index setup left to the setup Job.
    today = datetime.now(UTC).date().isoformat()
    backfill = subprocess.run(
        [LOGIFLOW, "--config", str(archived.config_file), "backfill", "--from-archive",
         "--since", today, "--skip-es-setup"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert backfill.returncode == 0, backfill.stdout[-2000:] + backfill.stderr[-3000:]
    made = named(requests_log.take())
    # Which dead-letter scrolls and deletes happen depends on what the archive tests left;
    # every request must be listed, and the ones every backfill makes were made.
    assert made <= set(COMPONENT_CALLS["backfill"])
    assert {"cluster health", "has privileges", "bulk", "refresh", "search"} <= made
