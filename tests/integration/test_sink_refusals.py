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
  writes every line once. One job goes through both (403, role restored, restart, 401, password
  taken, restart): a Spark start fewer than a test each.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from continuous_etl import (
    LOGIFLOW,
    ContinuousEtl,
    access_line,
    start_continuous_etl,
    write_etl_config,
)
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
# The ETL's own user cannot set up indices; the admin did (as the chart's setup Job does).
SKIP_SETUP = ("--skip-es-setup",)
# SinkRefusedError's: the job stops for a reason retrying cannot fix.
REFUSED_EXIT_CODE = 2


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


def _env(password: str) -> dict[str, str]:
    return {**os.environ, "LOGIFLOW_ELASTICSEARCH__PASSWORD": password}


def _run_etl(etl: SecuredEtl, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOGIFLOW, "--config", str(etl.config_file), "etl", *SKIP_SETUP, *args],
        env=_env(etl.password),
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


def test_a_wrong_password_at_start_up_stops_the_job_naming_the_node(
    node: SecuredNode, pipeline_config: LogiflowConfig, tmp_path: Path
) -> None:
    etl = _secured_etl(pipeline_config, node, tmp_path)
    etl.password = "not-" + etl.password
    result = _run_etl(etl, "--until-caught-up")
    assert result.returncode != 0
    error = " ".join(result.stderr.split())
    print(f"the job refused to start with: {error}")
    assert "401" in error, error
    assert node.url in error
    assert "elasticsearch.username/password" in error


def test_a_role_without_write_at_start_up_stops_the_job_naming_the_privilege(
    node: SecuredNode, pipeline_config: LogiflowConfig, tmp_path: Path
) -> None:
    etl = _secured_etl(pipeline_config, node, tmp_path)
    read_only = writer_role(etl.prefix)
    read_only["indices"][0]["privileges"] = ["read"]
    node.put_role(f"{WRITER_ROLE}_{etl.prefix}", read_only)
    as_writer = Elasticsearch(node.url, basic_auth=(etl.user, etl.password))
    asked = [{"names": [f"{etl.prefix}-*"], "privileges": ["index"]}]
    node.wait_until(
        lambda: not as_writer.security.has_privileges(index=asked)["has_all_requested"],
        "the read-only role",
    )
    as_writer.close()
    result = _run_etl(etl, "--until-caught-up")
    assert result.returncode != 0
    error = " ".join(result.stderr.split())
    assert f"user {etl.user!r} lacks" in error, error
    assert f" index on {etl.prefix}-*" in error
    assert _indexed(node.admin, etl.prefix, names.EVENTS) == 0


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


@contextmanager
def _running_job(etl: SecuredEtl, tmp_path: Path, es: Elasticsearch) -> Iterator[ContinuousEtl]:
    """A continuous ``logiflow etl`` as the test's writer, its first lines indexed."""
    job = start_continuous_etl(etl.config, tmp_path, SKIP_SETUP, _env(etl.password))
    try:
        job.produce_now(50)
        job.wait_indexed(es, 50, timeout=600)
        yield job
    finally:
        job.stop()


def _stopped_refused(job: ContinuousEtl) -> str:
    """Lines keep coming; the job stops by itself, once, with SinkRefusedError's code."""
    changed = time.monotonic()
    job.produce_now(50)
    try:
        code = job.process.wait(300)
        print(f"the job stopped {time.monotonic() - changed:.0f}s after the change")
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the job did not stop:\n{job.output()[-4000:]}") from None
    assert code == REFUSED_EXIT_CODE, job.output()[-4000:]
    return job.output()


def _restarted_writes_every_line_once(job: ContinuousEtl, password: str, es: Elasticsearch) -> None:
    """The refused batch stayed uncommitted: a restart with good credentials writes it."""
    job.env = _env(password)
    started = time.monotonic()
    caught_up = job.catch_up()
    print(f"the restart caught up in {time.monotonic() - started:.0f}s")
    assert caught_up.returncode == 0, caught_up.stderr[-4000:]
    job.assert_every_line_once(es)


@contextmanager
def _running_again(
    job: ContinuousEtl, password: str, workdir: Path, es: Elasticsearch
) -> Iterator[ContinuousEtl]:
    """The stopped ``job`` started again, continuously, from its checkpoint with ``password``:
    the lines produced so far (the refused batch among them) are indexed, each once."""
    workdir.mkdir()
    again = start_continuous_etl(job.config, workdir, SKIP_SETUP, _env(password))
    again.produced = job.produced  # the same numbering: a line written twice would show
    try:
        started = time.monotonic()
        again.assert_every_line_once(es, timeout=600)
        print(f"the continuous restart wrote every line in {time.monotonic() - started:.0f}s")
        yield again
    finally:
        again.stop()


def test_a_role_narrowed_then_a_password_changed_while_the_job_runs_stop_it_naming_the_cause(
    node: SecuredNode, pipeline_config: LogiflowConfig, tmp_path: Path
) -> None:
    """One sequence, so the job starts three times instead of four: the role narrowed stops it
    (403, naming the index); the role restored, a restart writes every line once and runs on;
    the password changed stops it (401, naming the node); a restart with the new password writes
    every line once."""
    etl = _secured_etl(pipeline_config, node, tmp_path)
    role = f"{WRITER_ROLE}_{etl.prefix}"
    as_writer = Elasticsearch(node.url, basic_auth=(etl.user, etl.password))
    events = names.index_pattern(etl.prefix, names.EVENTS)

    def may_write_events() -> bool:
        asked = [{"names": [events], "privileges": ["index"]}]
        return bool(as_writer.security.has_privileges(index=asked)["has_all_requested"])

    with _running_job(etl, tmp_path, node.admin) as job:
        # Everything as before, except writing into the events indices.
        others = [
            names.index_pattern(etl.prefix, kind) for kind in names.KINDS if kind != names.EVENTS
        ]
        narrowed = writer_role(etl.prefix)
        narrowed["indices"] = [
            {"names": [f"{etl.prefix}-*"], "privileges": ["create_index", "maintenance", "read"]},
            {"names": others, "privileges": ["index"]},
        ]
        node.put_role(role, narrowed)
        node.wait_until(lambda: not may_write_events(), "the narrowed role")
        output = _stopped_refused(job)
    refusal = next(line for line in output.splitlines() if "refused" in line)
    print(f"the job stopped with: {refusal}")
    assert "(403: security_exception" in refusal
    assert f"on indices [{etl.prefix}-events-" in refusal
    assert "lacks privileges" in refusal
    node.put_role(role, writer_role(etl.prefix))
    node.wait_until(may_write_events, "the role restored")
    as_writer.close()

    with _running_again(job, etl.password, tmp_path / "role-restored", node.admin) as again:
        new_password = node.set_password(etl.user)
        node.wait_until(lambda: not node.authenticates(etl.user, etl.password), "the password")
        output = _stopped_refused(again)
    refusal = next(line for line in output.splitlines() if "refused" in line)
    print(f"the job stopped with: {refusal}")
    assert "(401: security_exception" in refusal
    assert f"at {node.url}" in refusal
    assert "check elasticsearch.username/password" in refusal
    _restarted_writes_every_line_once(again, new_password, node.admin)
