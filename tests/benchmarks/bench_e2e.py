"""End to end: Elasticsearch's ceiling, the pipeline's sustained rate, latency and memory.

Run with ``make bench-e2e`` (``BENCH_ARGS='--hold 60 --memory-minutes 3'`` for a short run) or
``.venv/bin/python tests/benchmarks/bench_e2e.py --help``. Not collected by pytest: it prints
figures and asserts nothing. Everything runs on this machine: real local Kafka and
Elasticsearch on free ports (``logiflow.local``), ``logiflow etl`` as its own process, and the
load from this process. In order:

1. warm-up at ``--start-rate`` (JVM start, JIT), not counted;
2. the **sustained rate**: scout steps, then a ``--hold`` at the highest flat-lag rate (see
   ``e2e/phases.py`` for what "flat" means); events indexed per second at that rate;
3. **latency and memory** at 70% of the sustained rate for ``--memory-minutes``: a probe event
   per second, searched for until it is visible (produce -> searchable, p50/p95/p99), and the
   processes' memory every 10 s with a fitted slope per series;
   every step also prints the cores each part used (the ETL, Elasticsearch, Kafka, this
   process's load, the machine): on two shared cores, what holds the rate;
4. the job is stopped, and Elasticsearch's **ceiling** is measured with the job's own event
   documents (``e2e/ceiling.py``); the ratio sustained / ceiling closes the table.

Results (``results.json``, ``plot.png``, the job's output, profiles) go to
``build/bench-e2e/<UTC time>/``. ``--profile`` records JFR on the driver JVM and runs py-spy on
the Python workers, and prints the top frames of both.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

# The script's folder is first on sys.path when it runs, so its own package imports as `e2e`.
from e2e import profiling, results
from e2e.ceiling import measure_ceiling
from e2e.load import LinePool, Probes, RateProducer
from e2e.observe import (
    CpuMeter,
    LagSampler,
    as_dicts,
    format_cores,
    memory_sample,
    process_tree,
)
from e2e.phases import LatencyRun, Runner, percentiles
from e2e.stack import EtlProcess, etl_config_file, start_servers
from elasticsearch import Elasticsearch
from rich.console import Console

from logiflow.config import LogiflowConfig
from logiflow.local.servers import LocalServers

LATENCY_SHARE = 0.7
PY_SPY_SECONDS = 60
# Micro-batches per scout step (scout_seconds).
SCOUT_BATCHES = 20


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--hold", type=float, default=600.0, help="seconds the sustained rate is held"
    )
    parser.add_argument(
        "--memory-minutes", type=float, help="latency + memory run (default: 10x --hold)"
    )
    parser.add_argument(
        "--scout",
        type=float,
        help=f"seconds per scout step (default: {SCOUT_BATCHES} triggers, at least 60, at most "
        "--hold)",
    )
    parser.add_argument(
        "--start-rate", type=float, default=500.0, help="first scout rate, records/s"
    )
    parser.add_argument(
        "--factor", type=float, default=1.5, help="rate multiplier between scout steps"
    )
    parser.add_argument("--warmup", type=float, default=90.0, help="seconds of warm-up load")
    parser.add_argument(
        "--ceiling-docs", type=int, default=300_000, help="documents bulk-indexed for the ceiling"
    )
    parser.add_argument(
        "--profile", action="store_true", help="JFR on the driver JVM, py-spy on the workers"
    )
    parser.add_argument("--results", type=Path, default=Path("build/bench-e2e"))
    parser.add_argument("--keep-state", action="store_true", help="keep the servers' data")
    args = parser.parse_args(argv)
    args.memory_minutes = args.memory_minutes or args.hold * 10 / 60
    return args


def scout_seconds(hold: float, trigger: float) -> float:
    """A scout long enough to hold ``SCOUT_BATCHES`` micro-batches: the flatness allowance is one
    trigger's input, so a scout of a few long batches passes rates the job cannot keep."""
    return min(max(60.0, SCOUT_BATCHES * trigger), hold)


def trigger_seconds(config: LogiflowConfig) -> float:
    amount, unit = config.spark.trigger_interval.split()[:2]
    return float(amount) * (60 if unit.startswith("min") else 1)


class Bench:
    """One run: the stack, the load, the observers, and what they measured."""

    def __init__(
        self,
        args: argparse.Namespace,
        config: LogiflowConfig,
        servers: LocalServers,
        out_dir: Path,
    ) -> None:
        self.args, self.config, self.out_dir = args, config, out_dir
        self.out = Console()
        self.prefix = config.elasticsearch.index_prefix
        self.url = config.elasticsearch.hosts[0]
        self.es = Elasticsearch(self.url, request_timeout=120)
        self.jfr = out_dir / "driver.jfr"
        # Start and end of the latency run, which the profiles cover.
        self.window: tuple[datetime, datetime] | None = None
        conf = {"spark.driver.extraJavaOptions": profiling.jfr_java_options(self.jfr)}
        config_file = etl_config_file(config, out_dir / "etl.yaml", conf if args.profile else {})
        self.etl = EtlProcess.start(config_file, out_dir / "etl-output.txt")
        self.pool = LinePool()
        self.producer = RateProducer(config.kafka, self.pool)
        self.began = time.monotonic()
        self.began_wall = time.time()  # probes record wall-clock times
        self.sampler = LagSampler(self.es, self.prefix, self.producer, self.began)
        cpu = CpuMeter(
            {
                "etl": lambda: process_tree(self.etl.process.pid),
                "elasticsearch": lambda: process_tree(servers.elasticsearch.running_pid()),
                "kafka": lambda: process_tree(servers.kafka.running_pid()),
                "load": lambda: [psutil.Process()],  # this process: producer, probes, sampler
            }
        )
        self.runner = Runner(
            self.sampler, trigger_seconds(config), self.etl.check_alive, self.out, cpu
        )
        self.probes = Probes(self.producer)
        self.found: dict[str, Any] = {}

    def pipeline(self) -> None:
        args = self.args
        self.out.print(f"warm-up at {args.start_rate:,.0f}/s for {args.warmup:.0f} s")
        self.runner.run_at(args.start_rate, args.warmup, "warm-up")
        self.out.print("sustained rate: scout steps, then the hold")
        scout = args.scout or scout_seconds(args.hold, self.runner.trigger_seconds)
        sustained, steps = self.runner.find_sustained(
            args.start_rate, args.factor, scout, args.hold
        )
        self.found["steps"] = [asdict(s) for s in steps]
        self.found["sustained"] = asdict(sustained) if sustained else None
        rate = LATENCY_SHARE * (sustained.rate if sustained else args.start_rate)
        self.latency_and_memory(rate)

    def latency_and_memory(self, rate: float) -> None:
        seconds = self.args.memory_minutes * 60
        self.out.print(f"latency + memory at {rate:,.0f}/s for {seconds:.0f} s")
        spies = self._start_py_spy(seconds)
        latency_started = datetime.now(UTC)
        run = LatencyRun(
            self.runner,
            self.es,
            self.prefix,
            self.probes,
            lambda: memory_sample(self.etl, Path(self.config.spark.checkpoint_dir), self.began),
        )
        memory = run.run(rate, seconds)
        self.window = (latency_started, datetime.now(UTC))
        self.out.print(f"    cores: {format_cores(run.cpu_cores)}", highlight=False)
        self.producer.set_rate(0)
        for spy in spies:
            spy.wait()
        latencies = [p.visible_at - p.sent_at for p in self.probes.sent if p.visible_at]
        self.found["latency"] = {
            "rate": round(rate),
            "probes": len(self.probes.sent),
            "visible": len(latencies),
            **percentiles(latencies),
            "cpu_cores": run.cpu_cores,
            "samples": [(p.sent_at, p.visible_at) for p in self.probes.sent],
        }
        self.found["memory"] = {
            "samples": as_dicts(memory),
            "slopes_mb_per_min": results.slopes_mb_per_minute(memory),
        }
        self.memory_samples = memory

    def _start_py_spy(self, seconds: float) -> list[Any]:
        if not self.args.profile:
            return []
        daemons = [p.pid for p in self.etl.python_workers(daemons_only=True)]
        duration = int(min(PY_SPY_SECONDS, seconds))
        return profiling.start_py_spy(daemons, duration, self.out_dir / "py-spy")

    def stop_pipeline(self) -> None:
        if self.args.profile and (jvm := self.etl.jvm()) is not None:
            profiling.dump_jfr(jvm.pid, self.jfr)
        self.producer.close()
        self.sampler.close()
        self.pool.close()
        self.etl.stop()

    def ceiling(self) -> None:
        self.out.print(f"Elasticsearch's ceiling: {self.args.ceiling_docs:,} documents")
        chunk = self.config.elasticsearch.bulk_chunk_size
        ceiling = measure_ceiling(
            self.es, self.url, self.prefix, self.args.ceiling_docs, chunk, self.runner.cpu
        )
        self.out.print(f"    cores: {format_cores(ceiling.cpu_cores)}", highlight=False)
        self.found["ceiling"] = asdict(ceiling)

    def profiles(self) -> None:
        """Top frames under the steady load of the latency run (JFR records from JVM start)."""
        if not self.args.profile or self.window is None:
            return
        jvm = profiling.jfr_frames(self.jfr, *self.window)
        python_top, python_samples = profiling.py_spy_top_frames(self.out_dir / "py-spy")
        views = {
            "driver JVM, top of stack (JFR)": (jvm.self_counts.most_common(15), jvm.samples),
            "driver JVM, anywhere on the stack, Spark/LogiFlow frames": (
                jvm.top_inclusive(25),
                jvm.samples,
            ),
            "Python workers, top of stack (py-spy)": (python_top, python_samples),
        }
        self.found["profile"] = {title: frames for title, (frames, _) in views.items()}
        for title, (frames, total) in views.items():
            self.out.print(f"\n{title}, share of {total:,} samples:")
            for frame, count in frames:
                share = count / max(total, 1)
                self.out.print(f"  {share:6.1%}  {frame}", highlight=False, markup=False)


def summary(found: dict[str, Any]) -> dict[str, Any]:
    sustained, ceiling, latency = found.get("sustained"), found["ceiling"], found["latency"]
    rows: dict[str, Any] = {
        "load average before (1/5/15 min)": found["load_before"],
        "ceiling: Elasticsearch bulk, docs/s": ceiling["docs_per_s"],
        "cores at the ceiling": format_cores(ceiling["cpu_cores"]),
        "sustained input rate, records/s": round(sustained["rate"]) if sustained else "none flat",
    }
    if sustained:
        rows["events indexed/s at that rate"] = sustained["indexed_per_s"]
        rows["ratio indexed/s / ceiling"] = (
            f"{sustained['indexed_per_s'] / ceiling['docs_per_s']:.2f}"
        )
        rows["cores at that rate"] = format_cores(sustained["cpu_cores"])
    rows[f"latency at {latency['rate']:,}/s: probes visible"] = (
        f"{latency['visible']}/{latency['probes']}"
    )
    for cut in ("p50", "p95", "p99"):
        rows[f"produce -> searchable {cut}, s"] = f"{latency.get(cut, float('nan')):.2f}"
    rows[f"cores at {latency['rate']:,}/s"] = format_cores(latency["cpu_cores"])
    for name, slope in found["memory"]["slopes_mb_per_min"].items():
        rows[f"slope {name}, MB/min"] = f"{slope:+.3f}"
    rows["load average after"] = found["load_after"]
    return rows


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def run(args: argparse.Namespace, out_dir: Path) -> dict[str, Any]:
    found: dict[str, Any] = {"args": vars(args), "load_before": load_average()}
    state = out_dir / "state"
    servers, config = start_servers(state)
    try:
        bench = Bench(args, config, servers, out_dir)
        try:
            bench.pipeline()
        finally:
            bench.stop_pipeline()
        bench.ceiling()
        bench.profiles()
        found.update(bench.found, load_after=load_average())
        found["lag_samples"] = as_dicts(bench.sampler.samples)
        latencies = [(t - bench.began_wall, v - t) for t, v in found["latency"]["samples"] if v]
        results.write_plot(
            out_dir / "plot.png", bench.sampler.samples, latencies, bench.memory_samples
        )
    finally:
        servers.stop()
        if not args.keep_state:
            shutil.rmtree(state, ignore_errors=True)
    return found


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    out_dir = args.results / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir.mkdir(parents=True)
    found = run(args, out_dir)
    results.write_json(out_dir / "results.json", found)
    results.print_table(summary(found), Console())
    Console().print(f"results: {out_dir}/results.json, {out_dir}/plot.png")


if __name__ == "__main__":
    main()
