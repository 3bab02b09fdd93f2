"""Done-when (issue 12): every line of a file reaches Elasticsearch exactly once, through
SIGKILLs of the shipper, rotations while it is down (one gzipped) and a Kafka broker restart.

Real ``logiflow ship`` processes, the session's real Kafka broker and Elasticsearch node, and the
real ETL (``logiflow etl --until-caught-up``). A killed shipper resends what it had not recorded
yet, so Kafka holds some lines twice; the documents named after each line's source identity must
still be exactly the file's lines, once each.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import yaml
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan
from kafka_records import read_topic

from logiflow.config import LogiflowConfig
from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.contract.kafka_records import HEADER_SOURCE_ID
from logiflow.ingest.producer import end_offsets
from logiflow.io.kafka_client import quiet_librdkafka_config
from logiflow.local.servers import LocalStack

LOGIFLOW = str(Path(sys.executable).with_name("logiflow"))
LINES = 100_000
KILLS = 10
SEED = 12


def access_lines(count: int) -> list[str]:
    """Combined-format lines dated a few minutes ago, each with its own path and size."""
    base = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=10)
    lines = []
    for n in range(count):
        stamp = (base + dt.timedelta(milliseconds=5 * n)).strftime("%d/%b/%Y:%H:%M:%S +0000")
        lines.append(
            f'198.51.100.{n % 250} - - [{stamp}] "GET /items/{n} HTTP/1.1" 200 {n} "-" "curl/8.5.0"'
        )
    return lines


def write_config(config: LogiflowConfig, tmp_path: Path) -> Path:
    data = config.model_dump(mode="json", exclude={"local"})
    data["ship"].update(
        {
            "host": "test-host",
            "state_file": str(tmp_path / "ship" / "positions.json"),
            "reject_file": str(tmp_path / "ship" / "rejected.log"),
            "poll_interval_seconds": 0.05,
        }
    )
    data["spark"]["master"] = "local[2]"
    data["spark"]["conf"] = {"spark.ui.enabled": "false", **data["spark"]["conf"]}
    # The state dir holds the ETL's Spark log: the test's own, away from the shipped logs.
    data["local"] = {"cache_dir": str(config.local.cache_dir), "state_dir": str(tmp_path / "state")}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def rotate(log: Path, *, gzip_previous: bool) -> None:
    """logrotate with ``delaycompress``: ``.1`` becomes ``.2`` (gzipped if asked), the log
    ``.1``, and a new empty log takes its place."""
    previous = log.with_name(log.name + ".1")
    if previous.exists():
        if gzip_previous:
            with previous.open("rb") as source, gzip.open(f"{log}.2.gz", "wb") as sink:
                shutil.copyfileobj(source, sink)
            previous.unlink()
        else:
            previous.rename(log.with_name(log.name + ".2"))
    log.rename(previous)
    log.touch()


class Writer:
    """Appends ``lines`` to ``log`` a chunk at a time, rotating at 1/3 and 2/3 of them (the second
    rotation gzips the file the first one rotated)."""

    def __init__(self, log: Path, lines: list[str], chunk: int) -> None:
        self.log, self.lines, self.chunk = log, lines, chunk
        third = len(lines) // 3 // chunk * chunk
        self.rotations = {third: False, 2 * third: True}
        self.written = 0

    def write_chunk(self) -> None:
        if self.written in self.rotations:
            rotate(self.log, gzip_previous=self.rotations[self.written])
        end = self.written + self.chunk
        with self.log.open("a", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in self.lines[self.written : end]))
        self.written = min(end, len(self.lines))


def start_following(config_file: Path, log: Path, output: Path) -> subprocess.Popen[bytes]:
    command = [LOGIFLOW, "--config", str(config_file), "ship", "--follow", str(log)]
    with output.open("a") as sink:
        return subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait_until_live(
    shipper: subprocess.Popen[bytes], config: LogiflowConfig, before: int, output: Path
) -> None:
    """Until the shipper has sent its first records (start-up takes seconds on a busy machine)."""
    deadline = time.monotonic() + 120
    while topic_size(config) == before:
        assert shipper.poll() is None, output.read_text()[-3000:]
        assert time.monotonic() < deadline, "the shipper sent nothing in 120 s"
        time.sleep(0.05)


def missing_ranges(lines: list[str], shipped: set[str]) -> str:
    """Which lines (by number) never reached Kafka, as ranges: where to look when it fails."""
    ranges: list[list[int]] = []
    for n, line in enumerate(lines):
        if line in shipped:
            continue
        if ranges and ranges[-1][1] == n - 1:
            ranges[-1][1] = n
        else:
            ranges.append([n, n])
    return "missing lines: " + ", ".join(f"{a}-{b}" for a, b in ranges[:50])


def run(command: list[str], timeout: float) -> str:
    """Run a CLI command to completion (its process group killed on timeout); its output."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
    assert process.returncode == 0, output[-3000:]
    return output


def run_etl(config_file: Path) -> None:
    run([LOGIFLOW, "--config", str(config_file), "etl", "--until-caught-up"], timeout=900)


def indexed(es: Elasticsearch, prefix: str, kind: str) -> Iterator[tuple[str, str]]:
    """(``_id``, ``event.original``) of every document of one kind."""
    pattern = names.index_pattern(prefix, kind)
    es.indices.refresh(index=pattern, allow_no_indices=True, ignore_unavailable=True)
    for hit in scan(
        es,
        index=pattern,
        query={"query": {"match_all": {}}, "_source": [ecs.EVENT_ORIGINAL]},
        size=5000,
        allow_no_indices=True,
        ignore_unavailable=True,
    ):
        yield hit["_id"], hit["_source"][ecs.EVENT_ORIGINAL]


def assert_exactly_once(es: Elasticsearch, prefix: str, lines: list[str]) -> None:
    events = list(indexed(es, prefix, names.EVENTS))
    assert list(indexed(es, prefix, names.DEAD_LETTER)) == []
    assert len(events) == len(lines)
    assert len({doc_id for doc_id, _ in events}) == len(lines)
    assert {line for _, line in events} == set(lines)


def test_ten_sigkills_through_two_rotations_index_every_line_exactly_once(
    pipeline_config: LogiflowConfig, es_client: Elasticsearch, tmp_path: Path
) -> None:
    config_file = write_config(pipeline_config, tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "access.log"
    log.touch()
    lines = access_lines(LINES)
    output = tmp_path / "ship.log"
    chance = random.Random(SEED)

    # Each of the 10 runs ships a tenth of the lines as they are written, in 20 chunks 50 ms
    # apart, and is killed after a random chunk (plus up to 0.3 s); the rest of its tenth is
    # written while it is down. Rotations fall wherever they fall, with the shipper up or down.
    writer = Writer(log, lines, chunk=LINES // KILLS // 20)
    for _ in range(KILLS):
        writer.write_chunk()
        before = topic_size(pipeline_config)
        shipper = start_following(config_file, log, output)
        try:
            wait_until_live(shipper, pipeline_config, before, output)
            kill_after = chance.randint(1, 19)
            for chunk in range(1, 20):
                if chunk == kill_after:
                    time.sleep(chance.uniform(0, 0.3))
                    os.killpg(shipper.pid, signal.SIGKILL)
                writer.write_chunk()
                time.sleep(0.05)
        finally:
            if shipper.poll() is None:
                os.killpg(shipper.pid, signal.SIGKILL)
            shipper.wait(30)
    assert writer.written == LINES
    assert sorted(p.name for p in logs.iterdir()) == [
        "access.log",
        "access.log.1",
        "access.log.2.gz",
    ]
    # The last run ships the rest, then exits.
    run([LOGIFLOW, "--config", str(config_file), "ship", str(log)], timeout=300)

    records = read_topic(pipeline_config.kafka.bootstrap_servers, pipeline_config.kafka.logs_topic)
    shipped = {r.value.decode() for r in records}
    assert shipped == set(lines), missing_ranges(lines, shipped)
    # The kills made the shipper resend lines: Kafka holds some twice, under one identity.
    print(f"{len(records)} records in Kafka for {LINES} lines after {KILLS} SIGKILLs")
    assert len(records) > LINES
    assert len({r.headers[HEADER_SOURCE_ID] for r in records}) == LINES

    run_etl(config_file)
    assert_exactly_once(es_client, pipeline_config.elasticsearch.index_prefix, lines)
    # The independent audit reconciles the resends too (exit 0): a resent line's first copy is
    # found under its later copy's offset, and said so in a note.
    audited = run([LOGIFLOW, "--config", str(config_file), "audit", "--json"], timeout=600)
    assert '"kind": "resent"' in audited, audited[-3000:]


def test_a_broker_restart_mid_ship_delivers_every_line_exactly_once(
    pipeline_config: LogiflowConfig,
    local_stack: LocalStack,
    es_client: Elasticsearch,
    tmp_path: Path,
) -> None:
    config_file = write_config(pipeline_config, tmp_path)
    log = tmp_path / "access.log"
    lines = access_lines(20_000)
    log.write_text("".join(line + "\n" for line in lines[:5000]))
    output = tmp_path / "ship.log"
    shipper = start_following(config_file, log, output)
    try:
        wait_until_live(shipper, pipeline_config, 0, output)
        kafka = local_stack.servers.kafka
        assert kafka.stop()
        stopped_at = time.monotonic()
        # Lines keep arriving while the broker is down; the shipper holds them.
        with log.open("a", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in lines[5000:15000]))
        time.sleep(5)
        local_stack.servers.start(foreground=True)  # the same ports and log directories
        print(f"the broker was down for {time.monotonic() - stopped_at:.0f}s")
        with log.open("a", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in lines[15000:]))
        deadline = time.monotonic() + 180
        while topic_size(pipeline_config) < len(lines):
            assert shipper.poll() is None, output.read_text()[-3000:]
            assert time.monotonic() < deadline, "the shipper did not deliver every line in time"
            time.sleep(1)
        shipper.send_signal(signal.SIGINT)
        assert shipper.wait(60) == 0, output.read_text()[-3000:]
    finally:
        if shipper.poll() is None:
            os.killpg(shipper.pid, signal.SIGKILL)
            shipper.wait(30)

    # The idempotent producer retried across the restart without writing anything twice.
    records = read_topic(pipeline_config.kafka.bootstrap_servers, pipeline_config.kafka.logs_topic)
    assert sorted(r.value.decode() for r in records) == sorted(lines)
    run_etl(config_file)
    assert_exactly_once(es_client, pipeline_config.elasticsearch.index_prefix, lines)


def topic_size(config: LogiflowConfig) -> int:
    """Records in the logs topic (the sum of its partitions' end offsets). Right after a broker
    restart the metadata may still be settling (UNKNOWN_LEADER_EPOCH, leader not available): the
    question is asked again for up to 30 s."""
    admin = AdminClient(quiet_librdkafka_config(config.kafka))
    topic = config.kafka.logs_topic
    deadline = time.monotonic() + 30
    while True:
        try:
            partitions = len(admin.list_topics(topic, timeout=10).topics[topic].partitions)
            return sum(end_offsets(admin, topic, partitions).values())
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
