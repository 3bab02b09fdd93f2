"""The shipper against the real local Kafka: rotation without loss or duplicates, restarts from
the state file, stdin, over-long lines, delivery failures and an unreachable broker.

Records are read back from the topic and compared exactly (values, order and keys).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from kafka_records import read_topic, values

from logiflow.config import LogiflowConfig
from logiflow.contract.kafka_records import HEADER_TRUNCATED_FROM_BYTES
from logiflow.errors import ConfigError, DeliveryError
from logiflow.ingest.producer import LogProducer
from logiflow.ingest.shipper import Shipper
from logiflow.io.kafka_client import quiet_librdkafka_config
from logiflow.local.process import free_port

LOGIFLOW = str(Path(sys.executable).parent / "logiflow")


def numbered(start: int, stop: int) -> str:
    return "".join(f"line {i:05d} GET /items/{i} 200\n" for i in range(start, stop))


def expected(start: int, stop: int) -> list[str]:
    return numbered(start, stop).splitlines()


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def with_ship(config: LogiflowConfig, tmp_path: Path) -> LogiflowConfig:
    ship = config.ship.model_copy(
        update={
            "state_file": tmp_path / "state" / "positions.json",
            "reject_file": tmp_path / "state" / "rejected.log",
            "host": "test-host",
            "poll_interval_seconds": 0.05,
        }
    )
    return config.model_copy(update={"ship": ship})


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class FollowingShipper:
    """``Shipper.ship_files(follow=True)`` on a thread, stopped like Ctrl-C stops the command."""

    def __init__(self, config: LogiflowConfig, paths: list[Path]) -> None:
        self.producer = LogProducer(config.kafka, config.ship, config.kafka.logs_topic)
        self.producer.connect()
        self.stop = threading.Event()
        self.shipper = Shipper(config, self.producer, service="web", stop=self.stop)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(paths,), daemon=True)
        self.thread.start()

    def _run(self, paths: list[Path]) -> None:
        try:
            self.shipper.ship_files(paths, follow=True)
        except BaseException as exc:  # handed to the test thread
            self.error = exc

    def wait_acked(self, count: int) -> None:
        wait_for(lambda: self.producer.stats.acked >= count, f"{count} acknowledged lines")

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(60)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error


def test_follow_survives_rotation_truncation_and_restarts_exactly(
    pipeline_config: LogiflowConfig, tmp_path: Path
) -> None:
    config = with_ship(pipeline_config, tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "access.log"
    log.write_text(numbered(0, 100))

    shipper = FollowingShipper(config, [log])
    shipper.wait_acked(100)
    # Rotation by rename; the writer still appends to the old file for a moment.
    log.rename(logs / "access.log.1")
    append(logs / "access.log.1", numbered(100, 110))
    log.write_text(numbered(110, 200))
    shipper.wait_acked(200)
    # copytruncate: lines written after our last read survive only in the copy.
    append(log, numbered(200, 230))
    shutil.copyfile(log, logs / "access.log-20260102")
    with log.open("r+") as handle:
        handle.truncate(0)
    append(log, numbered(230, 260))
    shipper.wait_acked(260)
    # A partial line is not sent before its newline arrives.
    append(log, "line 00260 GET /items/260")
    time.sleep(0.5)
    assert shipper.producer.stats.sent == 260
    append(log, " 200\n")
    shipper.wait_acked(261)
    shipper.finish()

    # While the shipper is down: more lines, then a rotation by rename.
    append(log, numbered(261, 270))
    log.rename(logs / "access.log.2")
    log.write_text(numbered(270, 300))
    # Restarted from its state file, shipping once: it finishes access.log.2 first.
    producer = LogProducer(config.kafka, config.ship, config.kafka.logs_topic)
    producer.connect()
    notes: list[str] = []
    Shipper(config, producer, service="web", notify=notes.append).ship_files([log])
    assert producer.stats.acked == 30 + 9
    assert any("access.log.2" in note for note in notes)
    # And once more with nothing new: nothing is resent.
    producer = LogProducer(config.kafka, config.ship, config.kafka.logs_topic)
    producer.connect()
    Shipper(config, producer, service="web").ship_files([log])
    assert producer.stats.sent == 0

    records = read_topic(config.kafka.bootstrap_servers, config.kafka.logs_topic)
    assert values(records) == expected(0, 300)
    assert {r.key for r in records} == {b"test-host/web"}
    assert records[0].headers["log.file.path"] == str(log).encode()


def test_stdin_lines_go_through_the_cli_and_oversize_lines_are_kept_aside(
    pipeline_config: LogiflowConfig, tmp_path: Path
) -> None:
    config = with_ship(pipeline_config, tmp_path)
    big = "x" * 5000
    text = "first\n\n" + big + "\nsecond\r\nlast without newline"
    result = subprocess.run(
        [LOGIFLOW, "ship", "--service", "api", "--max-line-bytes", "1000"],
        input=text.encode(),
        capture_output=True,
        env=cli_env(config, tmp_path),
        timeout=120,
        check=False,
    )
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    records = read_topic(config.kafka.bootstrap_servers, config.kafka.logs_topic)
    # The over-long line is kept whole aside, and its start goes to Kafka flagged, for the ETL
    # to dead-letter: nothing is lost silently, and the pipeline counts every line.
    assert values(records) == ["first", big[:1000], "second", "last without newline"]
    assert records[1].headers[HEADER_TRUNCATED_FROM_BYTES] == b"5000"
    assert HEADER_TRUNCATED_FROM_BYTES not in records[0].headers
    assert {r.key for r in records} == {b"test-host/api"}
    assert (tmp_path / "state" / "rejected.log").read_text() == big + "\n"
    assert "1 lines longer than 1000 bytes were cut to that length" in stderr
    assert "shipped 4 lines" in stderr


def test_unreachable_kafka_is_a_one_line_error(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("one\n")
    started = time.monotonic()
    result = subprocess.run(
        [LOGIFLOW, "ship", "--bootstrap-servers", f"127.0.0.1:{free_port()}", str(log)],
        capture_output=True,
        text=True,
        env={**os.environ, "LOGIFLOW_LOCAL__STATE_DIR": str(tmp_path / "state")},
        timeout=60,
        check=False,
    )
    assert result.returncode == 3
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "Kafka is unreachable at 127.0.0.1:" in result.stderr
    assert time.monotonic() - started < 30


def test_missing_topic_is_a_clear_error(pipeline_config: LogiflowConfig, tmp_path: Path) -> None:
    kafka = pipeline_config.kafka.model_copy(update={"logs_topic": "no-such-topic-here"})
    config = with_ship(pipeline_config.model_copy(update={"kafka": kafka}), tmp_path)
    with pytest.raises(ConfigError, match="topic 'no-such-topic-here' does not exist"):
        LogProducer(config.kafka, config.ship, config.kafka.logs_topic).connect()


def test_records_refused_by_the_broker_fail_the_command_and_keep_the_position(
    pipeline_config: LogiflowConfig, tmp_path: Path, unique_name: str
) -> None:
    topic = f"{unique_name}-small"
    admin = AdminClient(quiet_librdkafka_config(pipeline_config.kafka))
    small = NewTopic(
        topic, num_partitions=1, replication_factor=1, config={"max.message.bytes": "2000"}
    )
    future = admin.create_topics([small])[topic]
    future.result(30)
    kafka = pipeline_config.kafka.model_copy(update={"logs_topic": topic})
    config = with_ship(pipeline_config.model_copy(update={"kafka": kafka}), tmp_path)
    log = tmp_path / "app.log"
    log.write_text("short one\n")
    env = cli_env(config, tmp_path)
    command = [LOGIFLOW, "ship", str(log)]
    first = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    # Random bytes: compression must not shrink the record under the topic's limit.
    append(log, os.urandom(10_000).hex() + "\n")

    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert second.returncode == DeliveryError.exit_code, second.stderr
    assert "1 of 1 records were not delivered" in second.stderr
    assert "Message size too large" in second.stderr
    # The refused line stays unshipped: its position was not saved past it.
    third = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert third.returncode == DeliveryError.exit_code, third.stderr
    assert "1 of 1 records were not delivered" in third.stderr
    assert values(read_topic(config.kafka.bootstrap_servers, topic)) == ["short one"]


def cli_env(config: LogiflowConfig, tmp_path: Path) -> dict[str, str]:
    """Environment pointing the CLI at the same servers, topic and state as ``config``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LOGIFLOW_")}
    env.update(
        {
            "LOGIFLOW_KAFKA__BOOTSTRAP_SERVERS": config.kafka.bootstrap_servers,
            "LOGIFLOW_KAFKA__LOGS_TOPIC": config.kafka.logs_topic,
            "LOGIFLOW_SHIP__HOST": "test-host",
            "LOGIFLOW_SHIP__STATE_FILE": str(config.ship.state_file),
            "LOGIFLOW_SHIP__REJECT_FILE": str(config.ship.reject_file),
            "LOGIFLOW_LOCAL__STATE_DIR": str(tmp_path / "local-state"),
        }
    )
    return env


def test_a_followed_glob_ships_files_that_appear_later(
    pipeline_config: LogiflowConfig, tmp_path: Path
) -> None:
    config = with_ship(pipeline_config, tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.log").write_text(numbered(0, 5))
    (logs / "notes.txt").write_text("not a log\n")
    command = [LOGIFLOW, "ship", "--follow", f"{logs}/*.log"]
    shipper = subprocess.Popen(
        command, env=cli_env(config, tmp_path), stderr=subprocess.PIPE, start_new_session=True
    )
    bootstrap, topic = config.kafka.bootstrap_servers, config.kafka.logs_topic
    try:
        wait_for(lambda: len(read_topic(bootstrap, topic)) == 5, "a.log's lines", timeout=120)
        (logs / "b.log").write_text(numbered(5, 8))  # found at the next scan, within 5 s
        wait_for(lambda: len(read_topic(bootstrap, topic)) == 8, "b.log's lines", timeout=60)
        shipper.send_signal(signal.SIGINT)
        assert shipper.wait(60) == 0
    finally:
        if shipper.poll() is None:
            os.killpg(shipper.pid, signal.SIGKILL)
            shipper.wait(30)
    records = read_topic(bootstrap, topic)
    assert sorted(values(records)) == expected(0, 8)
    assert {r.key for r in records} == {b"test-host/a", b"test-host/b"}
    # Each line names its source: the file's head digest and the line's offset.
    line_size = len(numbered(0, 1))
    b_ids = [r.headers["logiflow.source.id"] for r in records if r.key == b"test-host/b"]
    offsets = sorted(int(i.decode().rsplit(":", 1)[1]) for i in b_ids)
    assert offsets == [n * line_size for n in range(3)]
    assert all(i.startswith(b"file:") for i in b_ids)
