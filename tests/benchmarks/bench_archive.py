"""Archive throughput, backfill lines/s and the archive's files per hour, on this machine.

Run with ``make bench-archive`` (or ``.venv/bin/python tests/benchmarks/bench_archive.py``;
options: ``--lines N``, ``--rate R``). Not collected by pytest: it prints figures and asserts
nothing about speed. It starts its own Kafka, Elasticsearch and s3proxy (free ports, a temporary
state dir), produces ``--lines`` access lines to a 2-partition topic, then times, in one local
Spark session (``local[2]``):

- the archive query alone (``availableNow``: everything in Kafka to Parquet on s3proxy);
- ``logiflow backfill``'s ``run_backfill`` over all of it into Elasticsearch.

Files per hour follow from the trigger (one file per hour directory and trigger): at the
default 5-minute trigger, 12 an hour whatever the rate, each ``rate x 300 s x`` the measured
Parquet bytes per record, until ``max_records_per_trigger`` caps a file.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

from confluent_kafka import Producer
from rich.console import Console

from logiflow.archive_query import start_archive_query
from logiflow.backfill import BackfillRange, run_backfill
from logiflow.config import interval_seconds, load_config
from logiflow.io.topic_admin import create_topics
from logiflow.job import prepare, session_for
from logiflow.local import artifacts
from logiflow.local.process import free_port
from logiflow.local.servers import LocalServers
from logiflow.spark_session import stop_session


def _line(n: int) -> bytes:
    return (
        f"203.0.113.{n % 250} - - [24/Nov/2026:10:{n // 60 % 60:02d}:{n % 60:02d} +0000] "
        f'"GET /items/{n % 5000}?page={n % 7} HTTP/1.1" {200 if n % 20 else 404} {n % 9000} '
        '"https://shop.example/" "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"'
    ).encode()


def _produce(bootstrap: str, topic: str, lines: int) -> int:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50,
                         "compression.type": "zstd"})  # fmt: skip
    raw = 0
    for n in range(lines):
        value = _line(n)
        raw += len(value)
        producer.produce(topic, value, key=b"bench/shop", partition=n % 2)
        if n % 10_000 == 0:
            producer.poll(0)
    assert producer.flush(120) == 0
    return raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=1_000.0,
                        help="lines/s for the files-per-hour figure")  # fmt: skip
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="bench-archive-"))
    name = f"bench-{uuid.uuid4().hex[:6]}"
    base = load_config(overrides={
        "local": {"state_dir": str(state), "kafka_port": free_port(),
                  "kafka_controller_port": free_port(), "elasticsearch_port": free_port(),
                  "s3proxy_port": free_port()},
        "archive": {"enabled": True},
        "kafka": {"logs_topic": f"{name}-logs", "dead_letter_topic": f"{name}-dlq"},
        "elasticsearch": {"index_prefix": name},
        "parse": {"event_time_max_behind": "36500 days"},
        "spark": {"master": "local[2]", "checkpoint_dir": str(state / "checkpoints"),
                  "conf": {"spark.ui.enabled": "false"}},
    })  # fmt: skip
    console = Console(stderr=True)
    servers = LocalServers(base.local, console, archive=base.archive)
    with servers.running():
        config = servers.apply_to(base)
        create_topics(config.kafka, [config.kafka.logs_topic, config.kafka.dead_letter_topic],
                      partitions=2)  # fmt: skip
        raw_bytes = _produce(config.kafka.bootstrap_servers, config.kafka.logs_topic, args.lines)
        prepare(config)
        jars = artifacts.connector_jars(config.local) + artifacts.s3a_jars(config.local)
        spark = session_for(config, jars)
        try:
            started = time.monotonic()
            query = start_archive_query(spark, config, True, str(state / "checkpoints/archive"))
            query.awaitTermination()
            archive_seconds = time.monotonic() - started
            bucket = servers.s3proxy.data_dir / config.archive.bucket
            files = [p for p in bucket.rglob("*.parquet")]
            parquet_bytes = sum(p.stat().st_size for p in files)
            started = time.monotonic()
            summary = run_backfill(spark, config, BackfillRange())
            backfill_seconds = time.monotonic() - started
        finally:
            stop_session(spark)
    per_record = parquet_bytes / args.lines
    trigger = interval_seconds(config.archive.trigger_interval)
    per_file = args.rate * trigger * per_record
    print(
        f"archive: {args.lines} records in {archive_seconds:.1f} s = "
        f"{args.lines / archive_seconds:,.0f} records/s ({raw_bytes / archive_seconds / 1e6:.1f}"
        f" MB/s of lines); {len(files)} Parquet files, {parquet_bytes / 1e6:.1f} MB "
        f"({per_record:.1f} B/record, {raw_bytes / parquet_bytes:.1f}x smaller than the lines)"
    )
    print(
        f"backfill: {summary.result.totals['input']} lines in {backfill_seconds:.1f} s = "
        f"{summary.result.totals['input'] / backfill_seconds:,.0f} lines/s "
        f"({summary.result.totals['indexed']} indexed)"
    )
    print(f"files per hour at {args.rate:,.0f} lines/s, trigger {config.archive.trigger_interval}:"
          f" {3600 / trigger:.0f} files of {per_file / 1e6:.1f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
