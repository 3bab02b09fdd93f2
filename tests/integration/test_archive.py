"""Done-when of the raw-log archive and backfill, against real Kafka, Elasticsearch and s3proxy.

One module-scoped run feeds them all: 6,000 lines (a tenth in a format the config does not know
yet, so dead letters) reach the logs topic; a real ``logiflow etl`` with the archive on is
SIGKILLed right after the archive's first commit, then run again until caught up. Then:

- the archive holds every record exactly once (offsets per partition equal Kafka's);
- the Elasticsearch indices deleted, ``logiflow backfill --from-archive`` restores exactly the
  same documents (ids and sources); with the format added to the config, a second backfill turns
  the matching dead letters into events and says how many;
- a range with nothing archived says so and exits 0; a wrong key, a missing bucket and an
  unreachable endpoint are one-line errors naming the endpoint and the bucket;
- the store stopped under a running ETL (until the archive query has failed on it) delays
  archiving but loses nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from archive_store import archive_settings, archived_coordinates, committed_files, with_archive
from confluent_kafka import Consumer, Producer, TopicPartition
from continuous_etl import write_etl_config
from elasticsearch import Elasticsearch, helpers
from es_documents import count_documents
from integration_support import LOGIFLOW
from rich.console import Console

from logiflow.config import ArchiveSettings, LogiflowConfig, load_config
from logiflow.contract import archive_layout as layout
from logiflow.contract import index_names as names
from logiflow.errors import ServiceUnreachableError
from logiflow.io.archive_check import check_archive
from logiflow.io.topic_admin import create_topics
from logiflow.local.process import free_port
from logiflow.local.s3proxy_server import S3ProxyServer
from logiflow.local.servers import LocalStack

LINES = 6_000
PER_BATCH = 1_000
# What the job says each time the archive query fails and is started again.
ARCHIVE_FAILED = "the archive query failed"
TIMED = (
    'log_format timed \'$remote_addr $host [$time_iso8601] "$request" $status '
    '$body_bytes_sent rt=$request_time "$http_user_agent"\';'
)


def _line(n: int) -> str:
    if n % 10 == 0:  # a dead letter until the "timed" format is configured
        return (
            f'10.0.0.{n % 250} shop.example [2026-11-24T10:00:05+00:00] "GET /cart/{n} HTTP/1.1" '
            f'200 {n} rt=0.031 "curl/8.5"'
        )
    return (
        f'10.0.1.{n % 250} - - [24/Nov/2026:10:00:04 +0000] "GET /items/{n} HTTP/1.1" 200 {n} '
        '"-" "curl/8.5"'
    )


@dataclass(frozen=True)
class Archived:
    config: LogiflowConfig
    config_file: Path
    store: S3ProxyServer
    killed_with: int  # archived records when the first run was killed
    end_offsets: dict[int, int]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3ProxyServer]:
    state_dir = tmp_path_factory.mktemp("s3proxy")
    settings = load_config(
        overrides={"local": {"state_dir": str(state_dir), "s3proxy_port": free_port()}}
    ).local
    server = S3ProxyServer(settings, Console(stderr=True), "logiflow-archive")
    process = server.launch(foreground=True)
    try:
        deadline = time.monotonic() + 120
        while not server.healthy():
            assert process.poll() is None, server.console_file.read_text()[-2000:]
            assert time.monotonic() < deadline, "s3proxy did not answer in 120 s"
            time.sleep(0.3)
        yield server
    finally:
        server.stop()


def _run(args: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    process = subprocess.Popen(
        [LOGIFLOW, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def _module_config(stack: LocalStack, store: S3ProxyServer, workdir: Path) -> LogiflowConfig:
    name = f"t-archive-{uuid.uuid4().hex[:8]}"
    bucket = f"archive-{uuid.uuid4().hex[:8]}"
    (store.data_dir / bucket).mkdir(parents=True)
    config = stack.config
    kafka = config.kafka.model_copy(
        update={"logs_topic": f"{name}-logs", "dead_letter_topic": f"{name}-dlq"}
    )
    create_topics(config.kafka, [kafka.logs_topic, kafka.dead_letter_topic], partitions=2)
    return config.model_copy(
        update={
            "kafka": kafka,
            "parse": config.parse.model_copy(update={"event_time_max_behind": "36500 days"}),
            "elasticsearch": config.elasticsearch.model_copy(update={"index_prefix": name}),
            "spark": config.spark.model_copy(update={"checkpoint_dir": str(workdir / "ckpt")}),
            "archive": ArchiveSettings(**archive_settings(store, bucket)),
        }
    )


def _produce(config: LogiflowConfig, lines: int = LINES) -> dict[int, int]:
    """``lines`` more lines; the topic's end offsets after them."""
    producer = Producer({"bootstrap.servers": config.kafka.bootstrap_servers, "acks": "all"})
    keys = (b"web-1/shop", b"web-2/api")
    for n in range(lines):
        producer.produce(config.kafka.logs_topic, _line(n).encode(), key=keys[n % 2],
                         partition=n % 2)  # fmt: skip
        if n % 5_000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0
    consumer = Consumer({"bootstrap.servers": config.kafka.bootstrap_servers, "group.id": "x"})
    try:
        return {
            p: consumer.get_watermark_offsets(TopicPartition(config.kafka.logs_topic, p))[1]
            for p in (0, 1)
        }
    finally:
        consumer.close()


@pytest.fixture(scope="module")
def archived(
    local_stack: LocalStack, store: S3ProxyServer, tmp_path_factory: pytest.TempPathFactory
) -> Archived:
    workdir = tmp_path_factory.mktemp("archive-run")
    config = _module_config(local_stack, store, workdir)
    archive = archive_settings(
        store, config.archive.bucket, trigger_interval="1 second",
        max_records_per_trigger=PER_BATCH,
    )  # fmt: skip
    config_file = with_archive(
        write_etl_config(config, workdir / "config.yaml", PER_BATCH, trigger_interval="1 second"),
        archive,
    )
    end_offsets = _produce(config)
    log = workdir / "killed-run.log"
    with log.open("w") as out:
        job = subprocess.Popen([LOGIFLOW, "--config", str(config_file), "etl"], stdout=out,
                               stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        try:
            commit_log = store.data_dir / config.archive.bucket / "raw" / layout.METADATA_DIR
            deadline = time.monotonic() + 600
            while not (commit_log / "0").exists():
                assert job.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, "the archive committed nothing in 600 s"
                time.sleep(0.2)
        finally:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait(30)
    killed_with = len(archived_coordinates(store, config))
    # The catch-up reads the rest in one batch per query (the offsets come from the checkpoints).
    catch_up = with_archive(
        write_etl_config(config, workdir / "catch-up.yaml", LINES),
        {**archive, "max_records_per_trigger": LINES},
    )
    last = _run(["--config", str(catch_up), "etl", "--until-caught-up"])
    assert last.returncode == 0, last.stdout[-2000:] + last.stderr[-3000:]
    return Archived(config, config_file, store, killed_with, end_offsets)


def test_the_archive_holds_every_record_exactly_once_through_a_sigkill(archived: Archived) -> None:
    assert 0 < archived.killed_with < LINES, "the kill did not come mid-archive"
    coordinates = sorted(archived_coordinates(archived.store, archived.config))
    expected = [(p, o) for p, end in sorted(archived.end_offsets.items()) for o in range(end)]
    assert len(coordinates) == LINES
    assert coordinates == expected
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    topic = archived.config.kafka.logs_topic
    for path in committed_files(archived.store, archived.config):
        assert f"{layout.TOPIC}={topic}/{layout.DATE}=" in str(path)
        assert path.suffixes[-2:] == [".zstd", ".parquet"]
    assert any(f"{layout.DATE}={today}" in str(p) for p in committed_files(
        archived.store, archived.config))  # fmt: skip


def _documents(es: Elasticsearch, pattern: str) -> dict[str, Any]:
    es.indices.refresh(index=pattern, allow_no_indices=True, ignore_unavailable=True)
    hits = helpers.scan(
        es, index=pattern, query={"query": {"match_all": {}}}, ignore_unavailable=True
    )
    return {hit["_id"]: hit["_source"] for hit in hits}


def test_backfill_restores_the_same_documents_then_a_new_format_turns_dead_letters_into_events(
    archived: Archived, es_client: Elasticsearch, tmp_path: Path
) -> None:
    prefix = archived.config.elasticsearch.index_prefix
    events = names.index_pattern(prefix, names.EVENTS)
    dead = names.index_pattern(prefix, names.DEAD_LETTER)
    before_events, before_dead = _documents(es_client, events), _documents(es_client, dead)
    assert len(before_events) == LINES * 9 // 10 and len(before_dead) == LINES // 10

    es_client.indices.delete(index=f"{prefix}-*", expand_wildcards="all")
    assert count_documents(es_client, events) == 0
    restored = _run(["--config", str(archived.config_file), "backfill", "--from-archive"])
    assert restored.returncode == 0, restored.stdout[-2000:] + restored.stderr[-3000:]
    assert f"{LINES} lines in" in restored.stdout
    assert "0 former dead letters are events now" in restored.stdout
    assert _documents(es_client, events) == before_events
    assert _documents(es_client, dead) == before_dead

    fixed_file = tmp_path / "fixed.yaml"
    data = yaml.safe_load(archived.config_file.read_text())
    data["parse"]["custom_formats"] = {"timed": {"nginx_log_format": TIMED}}
    fixed_file.write_text(yaml.safe_dump(data))
    today = datetime.now(UTC).date().isoformat()
    fixed = _run(["--config", str(fixed_file), "backfill", "--from-archive", "--since", today])
    assert fixed.returncode == 0, fixed.stdout[-2000:] + fixed.stderr[-3000:]
    assert f"{LINES // 10} former dead letters are events now" in fixed.stdout
    assert count_documents(es_client, events) == LINES
    assert count_documents(es_client, dead) == 0
    accounted = count_documents(
        es_client, names.batches_index(prefix), {"term": {names.BATCH_QUERY: names.BACKFILL_QUERY}}
    )
    assert accounted >= 2  # one document per archived hour and run


def test_a_range_with_nothing_archived_says_so_and_exits_0(archived: Archived) -> None:
    empty = _run(["--config", str(archived.config_file), "backfill", "--from-archive",
                  "--since", "2001-01-01", "--until", "2001-01-02"])  # fmt: skip
    assert empty.returncode == 0, empty.stderr[-3000:]
    assert "nothing archived in that range" in empty.stdout


def test_store_problems_are_one_line_errors_naming_endpoint_and_bucket(
    archived: Archived,
) -> None:
    good = archived.config.archive
    endpoint = good.endpoint or ""
    cases = {
        "credentials were refused": good.model_copy(update={"access_key_id": "wrong"}),
        "bucket does not exist": good.model_copy(update={"bucket": "no-such-bucket"}),
        "no answer (Connection refused)": good.model_copy(
            update={"endpoint": f"http://127.0.0.1:{free_port()}"}
        ),
    }
    for reason, archive in cases.items():
        with pytest.raises(ServiceUnreachableError) as caught:
            check_archive(archive)
        message = str(caught.value)
        assert "\n" not in message and reason in message, message
        assert (archive.endpoint or "") in message and f"bucket {archive.bucket}" in message
    assert endpoint

    # The same through the CLI: one line on stderr, before Spark starts.
    env = {**os.environ, "LOGIFLOW_ARCHIVE__BUCKET": "no-such-bucket"}
    result = subprocess.run(
        [LOGIFLOW, "--config", str(archived.config_file), "backfill", "--from-archive"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and endpoint in lines[0] and "bucket no-such-bucket" in lines[0], lines


def test_the_store_down_delays_archiving_but_loses_nothing(
    local_stack: LocalStack, store: S3ProxyServer, tmp_path: Path
) -> None:
    config = _module_config(local_stack, store, tmp_path)
    archive = archive_settings(store, config.archive.bucket, trigger_interval="1 second")
    config_file = with_archive(
        write_etl_config(config, tmp_path / "config.yaml", PER_BATCH, trigger_interval="1 second"),
        archive,
    )
    first = _produce(config, lines=200)
    log = tmp_path / "etl.log"
    with log.open("w") as out:
        job = subprocess.Popen([LOGIFLOW, "--config", str(config_file), "etl"], stdout=out,
                               stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        try:
            _wait_archived(store, config, sum(first.values()), job, log)
            failures = log.read_text(errors="replace").count(ARCHIVE_FAILED)
            store.stop()
            stopped = time.monotonic()
            try:
                ends = _produce(config, lines=200)
                # Down until the archive query has failed on it (it was a fixed 60 s: the
                # failure came sooner, and each extra failure doubled the pause before the
                # restart that would find the store back).
                _wait_archive_failed(job, log, failures)
                print(f"\nthe archive query failed {time.monotonic() - stopped:.0f}s after stop")
                assert job.poll() is None, log.read_text()[-3000:]
                assert len(archived_coordinates(store, config)) == sum(first.values())
            finally:
                store.launch(foreground=True)
            back = time.monotonic()
            _wait_archived(store, config, sum(ends.values()), job, log)
            print(f"archived again {time.monotonic() - back:.0f}s after the store was back")
        finally:
            os.killpg(job.pid, signal.SIGTERM)
            job.wait(120)
    coordinates = sorted(archived_coordinates(store, config))
    assert coordinates == [(p, o) for p, end in sorted(ends.items()) for o in range(end)]
    assert "the archive query failed" in log.read_text()


def _wait_archive_failed(job: subprocess.Popen[bytes], log: Path, failures_before: int) -> None:
    """Until the job says once more that the archive query failed (and is started again)."""
    deadline = time.monotonic() + 300
    while log.read_text(errors="replace").count(ARCHIVE_FAILED) <= failures_before:
        assert job.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "the archive query did not fail in 300 s"
        time.sleep(0.5)


def _wait_archived(
    store: S3ProxyServer, config: LogiflowConfig, records: int, job: subprocess.Popen[bytes],
    log: Path,
) -> None:  # fmt: skip
    deadline = time.monotonic() + 300
    while len(archived_coordinates(store, config)) < records:
        assert job.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"{records} records not archived in 300 s"
        time.sleep(0.5)


def test_local_up_with_the_archive_adds_s3proxy_with_its_bucket(local_stack: LocalStack) -> None:
    settings = local_stack.servers.settings
    port = free_port()
    env = {
        **os.environ,
        "LOGIFLOW_LOCAL__STATE_DIR": str(settings.state_dir),
        "LOGIFLOW_LOCAL__KAFKA_PORT": str(settings.kafka_port),
        "LOGIFLOW_LOCAL__KAFKA_CONTROLLER_PORT": str(settings.kafka_controller_port),
        "LOGIFLOW_LOCAL__ELASTICSEARCH_PORT": str(settings.elasticsearch_port),
        "LOGIFLOW_LOCAL__S3PROXY_PORT": str(port),
        "LOGIFLOW_ARCHIVE__ENABLED": "true",
    }
    s3proxy = S3ProxyServer(settings.model_copy(update={"s3proxy_port": port}),
                            Console(stderr=True), "logiflow-archive")  # fmt: skip
    try:
        up = subprocess.run([LOGIFLOW, "local", "up"], env=env, capture_output=True, text=True,
                            timeout=180)  # fmt: skip
        assert up.returncode == 0, up.stderr
        assert "kafka was already running" in up.stderr
        status = subprocess.run([LOGIFLOW, "local", "status", "--json"], env=env,
                                capture_output=True, text=True, timeout=60)  # fmt: skip
        document = yaml.safe_load(status.stdout)
        assert document["s3proxy"]["state"] == "running"
        assert document["s3proxy"]["endpoint"] == f"http://127.0.0.1:{port}"
        archive = ArchiveSettings(**archive_settings(s3proxy, "logiflow-archive"))
        check_archive(archive)  # the generated key pair works and the bucket exists
    finally:
        s3proxy.stop()
