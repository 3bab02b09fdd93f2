"""Done-when of the raw-log archive and backfill, against real Kafka, Elasticsearch and s3proxy.

One run feeds them all (``archive_run.archived``, shared with the compaction and DAG tests):
6,000 lines (a tenth in a format the config does not know yet, so dead letters) reach the logs
topic; a real ``logiflow etl`` with the archive on is SIGKILLed right after the archive's first
commit, then run again until caught up. Then:

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
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from archive_run import (
    LINES,
    PER_BATCH,
    TIMED,
    Archived,
    module_config,
    produce,
    run_logiflow,
)
from archive_store import archive_settings, archived_coordinates, committed_files, with_archive
from continuous_etl import write_etl_config
from elasticsearch import Elasticsearch
from es_documents import all_documents, count_documents
from integration_support import LOGIFLOW
from rich.console import Console

from logiflow.config import ArchiveSettings, LogiflowConfig
from logiflow.contract import archive_layout as layout
from logiflow.contract import index_names as names
from logiflow.errors import ServiceUnreachableError
from logiflow.io.archive_check import check_archive
from logiflow.local.process import free_port
from logiflow.local.s3proxy_server import S3ProxyServer
from logiflow.local.servers import LocalStack

# What the job says each time the archive query fails and is started again.
ARCHIVE_FAILED = "the archive query failed"


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


def test_backfill_restores_the_same_documents_then_a_new_format_turns_dead_letters_into_events(
    archived: Archived, es_client: Elasticsearch, tmp_path: Path
) -> None:
    prefix = archived.config.elasticsearch.index_prefix
    events = names.index_pattern(prefix, names.EVENTS)
    dead = names.index_pattern(prefix, names.DEAD_LETTER)
    before_events, before_dead = all_documents(es_client, events), all_documents(es_client, dead)
    assert len(before_events) == LINES * 9 // 10 and len(before_dead) == LINES // 10

    es_client.indices.delete(index=f"{prefix}-*", expand_wildcards="all")
    assert count_documents(es_client, events) == 0
    restored = run_logiflow(["--config", str(archived.config_file), "backfill", "--from-archive"])
    assert restored.returncode == 0, restored.stdout[-2000:] + restored.stderr[-3000:]
    assert f"{LINES} lines in" in restored.stdout
    assert "0 former dead letters are events now" in restored.stdout
    assert all_documents(es_client, events) == before_events
    assert all_documents(es_client, dead) == before_dead

    fixed_file = tmp_path / "fixed.yaml"
    data = yaml.safe_load(archived.config_file.read_text())
    data["parse"]["custom_formats"] = {"timed": {"nginx_log_format": TIMED}}
    fixed_file.write_text(yaml.safe_dump(data))
    today = datetime.now(UTC).date().isoformat()
    fixed = run_logiflow(
        ["--config", str(fixed_file), "backfill", "--from-archive", "--since", today]
    )
    assert fixed.returncode == 0, fixed.stdout[-2000:] + fixed.stderr[-3000:]
    assert f"{LINES // 10} former dead letters are events now" in fixed.stdout
    assert count_documents(es_client, events) == LINES
    assert count_documents(es_client, dead) == 0
    accounted = count_documents(
        es_client, names.batches_index(prefix), {"term": {names.BATCH_QUERY: names.BACKFILL_QUERY}}
    )
    assert accounted >= 2  # one document per archived hour and run


def test_a_range_with_nothing_archived_says_so_and_exits_0(archived: Archived) -> None:
    empty = run_logiflow(["--config", str(archived.config_file), "backfill", "--from-archive",
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
    config = module_config(local_stack, store, tmp_path)
    archive = archive_settings(store, config.archive.bucket, trigger_interval="1 second")
    config_file = with_archive(
        write_etl_config(config, tmp_path / "config.yaml", PER_BATCH, trigger_interval="1 second"),
        archive,
    )
    first = produce(config, lines=200)
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
                ends = produce(config, lines=200)
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
    assert ARCHIVE_FAILED in log.read_text()


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
