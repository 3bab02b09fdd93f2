"""A real ``logiflow etl`` running continuously as a subprocess, fed at a steady rate.

The outage tests (test_outages.py) share one such job: it is started once, lines flow through it
while a server is stopped, blocked or overloaded, and each test then checks that every line
produced so far is in Elasticsearch exactly once and that the job never exited. Lines are
numbered across the whole run (``/items/<n>``), so a missing or doubled line is named.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from confluent_kafka import Producer
from elasticsearch import Elasticsearch

from logiflow.config import LogiflowConfig
from logiflow.contract import index_names as names

LOGIFLOW = str(Path(sys.executable).with_name("logiflow"))


def access_line(n: int) -> str:
    """Line ``n``: unique by its path, dated today so no index lifecycle interferes."""
    now = time.gmtime()
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", now)
    return f'203.0.113.{n % 250} - - [{stamp}] "GET /items/{n} HTTP/1.1" 200 {n} "-" "curl/8.5.0"'


def write_etl_config(
    config: LogiflowConfig,
    path: Path,
    max_offsets: int = 10_000,
    drop: list[dict[str, str]] | None = None,
    **spark: str,
) -> Path:
    """``config`` as a file for ``logiflow --config``, with ``drop`` rules if any; Spark's log
    in ``path``'s folder (the test's own state dir, not the user's)."""
    data = config.model_dump(mode="json", exclude={"local"})
    data["kafka"]["max_offsets_per_trigger"] = max_offsets
    if drop is not None:
        data["filter"] = {"drop": drop}
    data["spark"].update(spark)
    data["spark"]["conf"] = {"spark.ui.enabled": "false", **data["spark"]["conf"]}
    data["spark"]["master"] = "local[2]"
    data["local"] = {"cache_dir": str(config.local.cache_dir), "state_dir": str(path.parent)}
    path.write_text(yaml.safe_dump(data))
    return path


@dataclass
class ContinuousEtl:
    """The job's process, its output file, and the lines produced to it so far."""

    config: LogiflowConfig
    process: subprocess.Popen[bytes]
    config_file: Path
    output_file: Path
    spark_log: Path
    produced: int = 0
    # Options after `etl` and the environment of both runs (credentials go there, not in the
    # config file, which would hold them masked).
    etl_args: tuple[str, ...] = ()
    env: dict[str, str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def prefix(self) -> str:
        return self.config.elasticsearch.index_prefix

    def output(self) -> str:
        return self.output_file.read_text(errors="replace")

    def assert_running(self) -> None:
        assert self.process.poll() is None, (
            f"logiflow etl exited with {self.process.returncode}:\n{self.output()[-4000:]}"
        )

    def produce(self, count: int, producer: Producer) -> None:
        with self._lock:
            first, self.produced = self.produced, self.produced + count
        for n in range(first, first + count):
            while True:
                try:
                    producer.produce(self.config.kafka.logs_topic, access_line(n).encode())
                    break
                except BufferError:  # the broker is away and the local queue is full
                    producer.poll(0.5)
            producer.poll(0)

    def produce_now(self, count: int) -> None:
        """``count`` more lines, acknowledged by Kafka before this returns."""
        producer = Producer({"bootstrap.servers": self.config.kafka.bootstrap_servers})
        self.produce(count, producer)
        assert producer.flush(60) == 0

    def catch_up(self) -> subprocess.CompletedProcess[str]:
        """A second run, until caught up, from the same checkpoint (the job must have stopped)."""
        return subprocess.run(
            [
                LOGIFLOW,
                "--config",
                str(self.config_file),
                "etl",
                *self.etl_args,
                "--until-caught-up",
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    @contextlib.contextmanager
    def traffic(self, lines_per_second: int = 200) -> Iterator[None]:
        """Produce at a steady rate in the background while the block runs; flushed at exit."""
        producer = Producer(
            {
                "bootstrap.servers": self.config.kafka.bootstrap_servers,
                "acks": "all",
                "enable.idempotence": True,
                # Ride out a broker restart: keep every line until it is acknowledged.
                "message.timeout.ms": 600_000,
                # A stopped broker is the point of some tests: no line per refused connection.
                "log_level": 0,
            }
        )
        stop = threading.Event()

        def run() -> None:
            tick = 0.1
            while not stop.wait(tick):
                self.produce(max(1, int(lines_per_second * tick)), producer)

        thread = threading.Thread(target=run, name="traffic", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(30)
            assert producer.flush(600) == 0, "lines were not acknowledged by Kafka"

    def indexed(self, es: Elasticsearch) -> int:
        pattern = names.index_pattern(self.prefix, names.EVENTS)
        es.indices.refresh(index=pattern, allow_no_indices=True, ignore_unavailable=True)
        return int(es.count(index=pattern, allow_no_indices=True)["count"])

    def wait_indexed(self, es: Elasticsearch, at_least: int, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while (seen := self.indexed(es)) < at_least:
            self.assert_running()
            assert time.monotonic() < deadline, f"{seen} of {at_least} lines indexed in time"
            time.sleep(1)

    def assert_every_line_once(self, es: Elasticsearch, timeout: float = 300) -> None:
        """Every line produced so far is indexed, once: the count and the distinct paths."""
        self.wait_indexed(es, self.produced, timeout)
        # Any duplicate written late would show here too.
        time.sleep(2)
        assert self.indexed(es) == self.produced
        assert self.indexed_paths(es) == {f"/items/{n}" for n in range(self.produced)}

    def indexed_paths(self, es: Elasticsearch) -> set[str]:
        pattern = names.index_pattern(self.prefix, names.EVENTS)
        paths: set[str] = set()
        after: dict[str, str] | None = None
        while True:
            composite: dict = {"size": 10_000, "sources": [{"p": {"terms": {"field": "url.path"}}}]}
            if after:
                composite["after"] = after
            page = es.search(index=pattern, size=0, aggs={"paths": {"composite": composite}})
            buckets = page["aggregations"]["paths"]["buckets"]
            for bucket in buckets:
                assert bucket["doc_count"] == 1, f"{bucket['key']['p']} indexed more than once"
                paths.add(bucket["key"]["p"])
            if not buckets:
                return paths
            after = page["aggregations"]["paths"]["after_key"]

    def stop(self) -> None:
        """SIGTERM to the job alone, as Kubernetes stops a pod (its JVM is the job's to stop)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(30)


def start_continuous_etl(
    config: LogiflowConfig,
    workdir: Path,
    etl_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> ContinuousEtl:
    config_file = write_etl_config(config, workdir / "config.yaml", trigger_interval="1 second")
    output_file = workdir / "etl-output.log"
    with output_file.open("wb") as out:
        process = subprocess.Popen(
            [LOGIFLOW, "--config", str(config_file), "etl", *etl_args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    spark_log = workdir / "logs" / "spark.log"
    return ContinuousEtl(
        config, process, config_file, output_file, spark_log, etl_args=etl_args, env=env
    )
