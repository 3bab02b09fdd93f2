"""CPU per line of hostile input through decode, parse, enrich and filter, per fuzz category.

Run with ``make bench-fuzz`` (or ``.venv/bin/python tests/benchmarks/bench_fuzz.py``; options:
``--cores N``, ``--candidates N``). Not collected by pytest: it prints figures and asserts
nothing about speed. The lines are the integration test's (``tests/fuzz_lines.py``, fixed seed),
with its config (the custom ``log_format``, every built-in format tried on every line, the
256 KiB parse limit). Spark runs in local mode, and CPU is that of the whole process tree.

Per category: the mean CPU per line over all of its lines, and its worst line: each of the
category's longest and some random lines is timed alone, repeated ``REPEAT`` times in one job
(fewer for lines over 100 KB), and the cost of the same job over a short valid line is
subtracted, so the figure is what that line costs beyond an ordinary one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from dataclasses import dataclass
from pathlib import Path

# The script's folder is first on sys.path when it runs; tests/ holds the shared fuzz corpus.
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from bench_parse_enrich import Pipeline, bench_session
from parse_enrich.timing import Plan, run_once
from pyspark.sql import DataFrame, SparkSession

from fuzz_lines import fuzz_config, fuzz_lines
from logiflow.config import load_config
from logiflow.etl.enrich_useragent import cache_stats_accumulator

REPEAT = 200
REPEAT_LONG = 10  # lines over 100 KB
SCHEMA = (
    "key binary, value binary, topic string, partition int, offset long, timestamp timestamp, "
    "timestampType int"
)
BASELINE_LINE = b'203.0.113.9 - - [30/Nov/2026:12:00:00 +0000] "GET /b HTTP/1.1" 200 5 "-" "x"'


@dataclass(frozen=True)
class Worst:
    line: bytes
    ms_per_line: float

    def describe(self) -> str:
        return f"{len(self.line):>9,} B  {self.line[:32]!r}"


def records(spark: SparkSession, lines: list[bytes]) -> DataFrame:
    when = dt.datetime(2026, 11, 30)
    rows = [(b"h/s", line, "fuzz", 0, i, when, 0) for i, line in enumerate(lines)]
    return spark.createDataFrame(rows, SCHEMA).repartition(2)


def cpu_ms(spark: SparkSession, pipeline: Pipeline, lines: list[bytes], label: str) -> float:
    """CPU milliseconds of one job over ``lines`` (row count checked)."""
    frame = pipeline.everything(records(spark, lines))
    return run_once(Plan(label, frame, rows=len(lines))).cpu * 1000


def worst_line(spark: SparkSession, pipeline: Pipeline, candidates: list[bytes]) -> Worst:
    worst = Worst(b"", float("-inf"))
    baselines: dict[int, float] = {}
    for line in candidates:
        repeat = REPEAT_LONG if len(line) > 100_000 else REPEAT
        if repeat not in baselines:
            baselines[repeat] = cpu_ms(spark, pipeline, [BASELINE_LINE] * repeat, "baseline")
        cost = (cpu_ms(spark, pipeline, [line] * repeat, "one line") - baselines[repeat]) / repeat
        if cost > worst.ms_per_line:
            worst = Worst(line, cost)
    return worst


def pick_candidates(lines: list[bytes], count: int, rng: random.Random) -> list[bytes]:
    distinct = sorted(set(lines), key=len, reverse=True)
    longest = distinct[: max(1, count // 2)]
    rest = distinct[len(longest) :]
    return longest + rng.sample(rest, min(len(rest), count - len(longest)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--candidates", type=int, default=8, help="lines timed alone per category")
    args = parser.parse_args(argv)
    spark = bench_session(args.cores)
    config = fuzz_config(load_config())
    pipeline = Pipeline(config, cache_stats_accumulator(spark))
    categories = fuzz_lines()
    rng = random.Random(7)
    cpu_ms(spark, pipeline, [line for lines in categories.values() for line in lines], "warm-up")
    print(
        f"{'category':<20} {'lines':>6} {'MB':>6} {'mean ms/line':>13} {'worst ms/line':>14}  worst"
    )
    for name, lines in categories.items():
        print(f"timing {name}", file=sys.stderr, flush=True)
        mean = cpu_ms(spark, pipeline, lines, name) / len(lines)
        worst = worst_line(spark, pipeline, pick_candidates(lines, args.candidates, rng))
        size = sum(map(len, lines)) / 1e6
        print(
            f"{name:<20} {len(lines):>6} {size:>6.1f} {mean:>13.3f} {worst.ms_per_line:>14.3f}"
            f"  {worst.describe()}",
            flush=True,
        )
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
