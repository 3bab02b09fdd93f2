"""The whole streaming job's CPU per event: `logiflow etl --until-caught-up` over one corpus.

`make bench-job` (or ``.venv/bin/python tests/benchmarks/bench_job_cpu.py``) starts the local
Kafka and Elasticsearch on free ports, produces the benchmark corpus (generated nginx + JSON
lines, 1% malformed, plus the sample corpus) into a fresh topic once, then runs the real job,
``logiflow etl --until-caught-up``, as a subprocess over it, several times with a fresh index
prefix and checkpoint each time. The job's whole process tree (launcher, Spark JVM, Python
workers) runs in its own cpuacct cgroup, so its CPU time is exact whatever else the machine
runs; wall time is printed for reference only.

``--logiflow A --logiflow B`` compares two builds (e.g. the CLI of a worktree at an older
commit, with its own venv): runs alternate A B A B and each build's median is reported with its
spread. Every run is checked: the accounting documents must add up to the lines produced.

Needs root or a writable cgroup v1 ``cpuacct`` hierarchy (fails loudly otherwise).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# The script's folder is first on sys.path when it runs: its sibling packages import by name.
from e2e.stack import etl_config_file, start_servers
from elasticsearch import Elasticsearch
from parse_enrich.corpus import corpus_pool

from logiflow.config import LogiflowConfig
from logiflow.contract import index_names as names
from logiflow.contract.kafka_records import record_key
from logiflow.ingest.producer import LogProducer
from logiflow.io.es_client import create_es_client

CGROUP_ROOT = Path("/sys/fs/cgroup/cpuacct")
DEFAULT_LOGIFLOW = str(Path(sys.executable).with_name("logiflow"))


@dataclass(frozen=True)
class JobRun:
    build: str
    wall_seconds: float
    cpu_seconds: float
    input_records: int


def corpus_lines(count: int, distinct: int) -> list[bytes]:
    """The benchmark corpus of ``make bench``, repeated up to ``count`` records."""
    generated, sample = corpus_pool(distinct)
    pool = generated + sample
    return [pool[i % len(pool)].encode() for i in range(count)]


def produce(config: LogiflowConfig, lines: list[bytes]) -> None:
    """The corpus into the logs topic with the shipper's producer, which waits while its local
    queue is full and fails on any record Kafka did not acknowledge."""
    producer = LogProducer(config.kafka, config.ship, config.kafka.logs_topic)
    producer.connect()
    try:
        for i, line in enumerate(lines):
            # Keyed like `logiflow ship`: a few hosts and services, spread over partitions.
            producer.send(line, record_key(f"web-{i % 3}", f"shop-{i % 4}"))
        producer.finish(60)
    finally:
        producer.close()


@contextmanager
def cpu_cgroup(name: str) -> Iterator[Path]:
    """A fresh cpuacct cgroup; processes written to its ``tasks`` (and their children) count."""
    if not os.access(CGROUP_ROOT, os.W_OK):
        raise SystemExit(f"{CGROUP_ROOT} is not writable: run as root on a cgroup v1 host")
    group = CGROUP_ROOT / name
    group.mkdir()
    try:
        yield group
    finally:
        for pid in (group / "tasks").read_text().split():
            (CGROUP_ROOT / "tasks").write_text(pid)
        group.rmdir()


def run_job(
    logiflow: str, config_file: Path, log: Path, py_spy: Path | None = None
) -> tuple[float, float]:
    """Run ``logiflow etl --until-caught-up`` in its own cgroup: (wall s, CPU s of the tree).

    ``py_spy``: also sample the Python processes of the tree (driver and Spark's workers) with
    py-spy into this speedscope file (its own CPU is outside the cgroup)."""
    with cpu_cgroup(f"logiflow-bench-{os.getpid()}") as group:
        started = time.monotonic()
        with log.open("w") as out:
            job = subprocess.Popen(
                [logiflow, "--config", str(config_file), "etl", "--until-caught-up"],
                stdout=out,
                stderr=subprocess.STDOUT,
                # Joins the cgroup before exec, so every descendant is counted from its start.
                preexec_fn=lambda: (group / "tasks").write_text(str(os.getpid())),
            )
            spy = _start_py_spy(job.pid, py_spy) if py_spy else None
            code = job.wait()
            if spy is not None:
                spy.wait(60)
        wall = time.monotonic() - started
        cpu = int((group / "cpuacct.usage").read_text()) / 1e9
    if code != 0:
        raise SystemExit(f"{logiflow} etl failed ({code}); its output: {log}")
    return wall, cpu


def _start_py_spy(pid: int, output: Path) -> subprocess.Popen[bytes]:
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        raise SystemExit(f"--py-spy needs py-spy: {Path(sys.executable).parent}/pip install py-spy")
    command = [str(spy), "record", "--subprocesses", "--nonblocking", "--format", "speedscope"]
    return subprocess.Popen([*command, "-o", str(output), "-p", str(pid)])


def run_config(config: LogiflowConfig, directory: Path, prefix: str) -> LogiflowConfig:
    """``config`` with a prefix and checkpoint of its own: each run starts from scratch."""
    return config.model_copy(
        update={
            "elasticsearch": config.elasticsearch.model_copy(update={"index_prefix": prefix}),
            "spark": config.spark.model_copy(
                update={"checkpoint_dir": str(directory / prefix / "checkpoints")}
            ),
        }
    )


def accounted_input(es: Elasticsearch, prefix: str) -> int:
    index = names.batches_index(prefix)
    es.indices.refresh(index=index)
    response = es.search(
        index=index,
        size=0,
        query={"term": {names.BATCH_QUERY: names.EVENTS_QUERY}},
        aggs={"input": {"sum": {"field": names.COUNT_INPUT}}},
    )
    return int(response["aggregations"]["input"]["value"])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=300_000)
    parser.add_argument("--distinct", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="runs per build")
    parser.add_argument(
        "--logiflow",
        action="append",
        help="a logiflow CLI to time (repeat to compare builds; default: this venv's)",
    )
    parser.add_argument(
        "--spark-conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra Spark conf for the job, e.g. a JFR recording in spark.driver.extraJavaOptions",
    )
    parser.add_argument("--py-spy", type=Path, help="record the Python side into this file")
    return parser.parse_args()


def summarize(runs: list[JobRun], lines: int) -> None:
    print(f"\n{'build':<40} {'runs':>4} {'wall s':>16} {'CPU s':>16} {'µs CPU/record':>14}")
    for build in dict.fromkeys(run.build for run in runs):
        mine = [run for run in runs if run.build == build]
        walls = [run.wall_seconds for run in mine]
        cpus = [run.cpu_seconds for run in mine]
        median_cpu = statistics.median(cpus)
        print(
            f"{build[-40:]:<40} {len(mine):>4} "
            f"{statistics.median(walls):>7.1f} ({min(walls):.0f}-{max(walls):.0f}) "
            f"{median_cpu:>7.1f} ({min(cpus):.0f}-{max(cpus):.0f}) "
            f"{median_cpu / lines * 1e6:>14.1f}"
        )


def main() -> None:
    args = parse_args()
    builds = args.logiflow or [DEFAULT_LOGIFLOW]
    spark_conf = dict(item.split("=", 1) for item in args.spark_conf)
    with tempfile.TemporaryDirectory(prefix="logiflow-bench-job-") as tmp:
        directory = Path(tmp)
        servers, config = start_servers(directory / "servers")
        try:
            lines = corpus_lines(args.lines, args.distinct)
            produce(config, lines)
            print(f"{len(lines):,} records in {config.kafka.logs_topic}")
            es = create_es_client(config.elasticsearch)
            runs = []
            for round_number in range(args.runs):
                for number, build in enumerate(builds):
                    prefix = f"bench-{round_number}-{number}"
                    config_file = etl_config_file(
                        run_config(config, directory, prefix),
                        directory / f"{prefix}.yaml",
                        {"spark.ui.enabled": "false", **spark_conf},
                    )
                    log = directory / f"{prefix}.log"
                    wall, cpu = run_job(build, config_file, log, args.py_spy)
                    accounted = accounted_input(es, prefix)
                    if accounted != len(lines):
                        raise SystemExit(f"{build}: accounted {accounted} of {len(lines)} records")
                    runs.append(JobRun(build, wall, cpu, accounted))
                    print(f"  {build}: {wall:.1f} s wall, {cpu:.1f} CPU-s", flush=True)
            load = os.getloadavg()
        finally:
            servers.stop()
    summarize(runs, args.lines)
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__":
    main()
