"""What the benchmark watches while the pipeline runs: lag, throughput, memory.

Lag is **produced minus accounted**: records Kafka acknowledged to our producer, minus the
``input`` of every accounting document the job wrote to ``<prefix>-batches`` for its events
query (one per micro-batch: input = indexed + filtered + dead letters). It counts what the job
has finished with, whatever number of streaming queries it runs. It moves in steps of one
micro-batch, so it rises by up to a trigger's worth of input between batches.

Memory: the resident set (RSS) of the ``logiflow etl`` Python process, of its JVM (in local mode
the driver and the executor are one JVM) and of the JVM's Python workers; the JVM heap in use
and its old generation (from ``jstat -gc``); and the size on disk of the checkpoints' state
stores. The query progress holds the state store's memory too, but it lives inside the job's
process; the disk size of the RocksDB state is what an outside observer can read.

CPU: the cores each part used over a step (``CpuMeter``): the ETL's whole process tree, the
Elasticsearch and Kafka servers, the benchmark's own process (the load, the probes, the
sampler) and the machine as a whole. On two shared cores these say what holds the rate.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import psutil
from elasticsearch import Elasticsearch

from logiflow.contract import index_names as names

from .load import RateProducer
from .stack import EtlProcess


@dataclass(frozen=True)
class Accounted:
    input: int = 0
    indexed: int = 0


def accounted(es: Elasticsearch, prefix: str) -> Accounted:
    """Totals of the events query's accounting documents (refreshed first: read-your-writes)."""
    index = names.batches_index(prefix)
    es.indices.refresh(index=index, ignore_unavailable=True, allow_no_indices=True)
    response = es.search(
        index=index,
        size=0,
        ignore_unavailable=True,
        query={"term": {names.BATCH_QUERY: names.EVENTS_QUERY}},
        aggs={
            "input": {"sum": {"field": names.COUNT_INPUT}},
            "indexed": {"sum": {"field": names.COUNT_INDEXED}},
        },
    )
    aggs = response.get("aggregations")
    if not aggs:
        return Accounted()
    return Accounted(int(aggs["input"]["value"]), int(aggs["indexed"]["value"]))


@dataclass(frozen=True)
class LagSample:
    t: float  # seconds since the benchmark started
    target_rate: float
    acked: int
    accounted: int
    indexed: int

    @property
    def lag(self) -> int:
        return self.acked - self.accounted


@dataclass
class LagSampler:
    """Samples produced/accounted every ``interval`` seconds from its own thread."""

    es: Elasticsearch
    prefix: str
    producer: RateProducer
    began: float
    interval: float = 1.0
    samples: list[LagSample] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lag-sampler", daemon=True)
        self._thread.start()

    def sample(self) -> LagSample:
        acked = self.producer.counts.acked  # read first: lag is never understated
        totals = accounted(self.es, self.prefix)
        sample = LagSample(
            time.monotonic() - self.began, self.producer.rate, acked, totals.input, totals.indexed
        )
        self.samples.append(sample)
        return sample

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def since(self, t: float) -> list[LagSample]:
        return [s for s in self.samples if s.t >= t]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass(frozen=True)
class MemorySample:
    t: float
    driver_python_rss_mb: float
    jvm_rss_mb: float
    jvm_heap_used_mb: float
    jvm_old_gen_used_mb: float
    workers_rss_mb: float
    state_store_mb: float


def _mb(value: float) -> float:
    return round(value / 1024 / 1024, 1)


def jvm_heap_kb(pid: int) -> tuple[float, float]:
    """Heap in use and old generation in use, KB, from ``jstat -gc`` (ships with the JDK)."""
    out = subprocess.run(["jstat", "-gc", str(pid)], capture_output=True, text=True, check=True)
    header, values = out.stdout.split("\n")[:2]
    gc = dict(zip(header.split(), (float(v) for v in values.split()), strict=True))
    return gc["S0U"] + gc["S1U"] + gc["EU"] + gc["OU"], gc["OU"]


def state_store_bytes(checkpoint_dir: Path) -> int:
    return sum(f.stat().st_size for f in checkpoint_dir.glob("*/state/**/*") if f.is_file())


def rss(process: psutil.Process | None) -> float:
    try:
        return float(process.memory_info().rss) if process is not None else 0.0
    except psutil.NoSuchProcess:  # a worker that ended between listing and reading
        return 0.0


def memory_sample(etl: EtlProcess, checkpoint_dir: Path, began: float) -> MemorySample:
    jvm = etl.jvm()
    heap_kb, old_kb = jvm_heap_kb(jvm.pid) if jvm is not None else (0.0, 0.0)
    return MemorySample(
        t=time.monotonic() - began,
        driver_python_rss_mb=_mb(rss(psutil.Process(etl.process.pid))),
        jvm_rss_mb=_mb(rss(jvm)),
        jvm_heap_used_mb=round(heap_kb / 1024, 1),
        jvm_old_gen_used_mb=round(old_kb / 1024, 1),
        workers_rss_mb=_mb(sum(rss(p) for p in etl.python_workers())),
        state_store_mb=_mb(state_store_bytes(checkpoint_dir)),
    )


def cpu_seconds(processes: list[psutil.Process]) -> float:
    """User + system CPU of ``processes`` and of their children that have ended (reaped)."""
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:  # ended since it was listed: its parent has its time now
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def process_tree(pid: int | None) -> list[psutil.Process]:
    """The process and its live descendants ([] when it is not running)."""
    if pid is None:
        return []
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


class CpuReading(NamedTuple):
    at: float  # time.monotonic()
    used: dict[str, float]  # CPU-seconds so far, per part


@dataclass
class CpuMeter:
    """Cores used by each part between two readings: ``parts`` lists each part's processes
    when asked (the ETL's workers come and go)."""

    parts: dict[str, Callable[[], list[psutil.Process]]]

    def read(self) -> CpuReading:
        busy = psutil.cpu_times()
        readings = {name: cpu_seconds(processes()) for name, processes in self.parts.items()}
        readings["machine"] = busy.user + busy.nice + busy.system + busy.irq + busy.softirq
        return CpuReading(time.monotonic(), readings)

    @staticmethod
    def cores(start: CpuReading, end: CpuReading) -> dict[str, float]:
        seconds = end.at - start.at
        return {
            name: round((end.used[name] - used) / seconds, 2) for name, used in start.used.items()
        }


def format_cores(cores: dict[str, float]) -> str:
    return ", ".join(f"{name} {used:.2f}" for name, used in cores.items())


def as_dicts(samples: list[Any]) -> list[dict[str, Any]]:
    return [asdict(s) for s in samples]
