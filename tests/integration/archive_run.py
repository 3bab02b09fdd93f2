"""The archive tests' shared run: a private s3proxy and one archived topic, for the session.

``archived``: 6,000 lines (a tenth in a format the config does not know yet, so dead letters)
reach a logs topic of their own; a real ``logiflow etl`` with the archive on is SIGKILLed right
after the archive's first commit, then run again until caught up. Session-scoped (registered in
conftest.py) so the archive, compaction and DAG tests share one run instead of making three.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from archive_store import archive_settings, archived_coordinates, with_archive
from confluent_kafka import Consumer, Producer, TopicPartition
from continuous_etl import write_etl_config
from integration_support import LOGIFLOW
from rich.console import Console

from logiflow.config import ArchiveSettings, LogiflowConfig, load_config
from logiflow.contract import archive_layout as layout
from logiflow.io.topic_admin import create_topics
from logiflow.local.process import free_port
from logiflow.local.s3proxy_server import S3ProxyServer
from logiflow.local.servers import LocalStack

LINES = 6_000
PER_BATCH = 1_000
TIMED = (
    'log_format timed \'$remote_addr $host [$time_iso8601] "$request" $status '
    '$body_bytes_sent rt=$request_time "$http_user_agent"\';'
)


def archive_line(n: int) -> str:
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


@pytest.fixture(scope="session")
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


def run_logiflow(args: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
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


def module_config(stack: LocalStack, store: S3ProxyServer, workdir: Path) -> LogiflowConfig:
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


def produce(config: LogiflowConfig, lines: int = LINES) -> dict[int, int]:
    """``lines`` more lines; the topic's end offsets after them."""
    producer = Producer({"bootstrap.servers": config.kafka.bootstrap_servers, "acks": "all"})
    keys = (b"web-1/shop", b"web-2/api")
    for n in range(lines):
        producer.produce(config.kafka.logs_topic, archive_line(n).encode(), key=keys[n % 2],
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


@pytest.fixture(scope="session")
def archived(
    local_stack: LocalStack, store: S3ProxyServer, tmp_path_factory: pytest.TempPathFactory
) -> Archived:
    workdir = tmp_path_factory.mktemp("archive-run")
    config = module_config(local_stack, store, workdir)
    archive = archive_settings(
        store, config.archive.bucket, trigger_interval="1 second",
        max_records_per_trigger=PER_BATCH,
    )  # fmt: skip
    config_file = with_archive(
        write_etl_config(config, workdir / "config.yaml", PER_BATCH, trigger_interval="1 second"),
        archive,
    )
    end_offsets = produce(config)
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
    last = run_logiflow(["--config", str(catch_up), "etl", "--until-caught-up"])
    assert last.returncode == 0, last.stdout[-2000:] + last.stderr[-3000:]
    return Archived(config, config_file, store, killed_with, end_offsets)
