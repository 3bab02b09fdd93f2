"""Parse + enrich throughput benchmark: lines/s (total and per core) and UA cache hit rate.

Run with ``make bench`` (or ``.venv/bin/python tests/benchmarks/bench_parse_enrich.py``; options:
``--lines N``, ``--distinct N``, ``--cores N``, ``--runs N``, ``--headers``). Not collected by
pytest: it prints figures and asserts nothing about speed, which depends on the machine and its
load. It does abort when a timed stage writes other rows than expected (``parse_enrich.timing``).

The corpus is realistic and mixed: lines from the traffic generator (nginx combined and JSON API
logs, about 1% malformed) plus every line of the sample corpus under tests/data/corpus/ when it
exists, repeated up to ``--lines``. It is cached in memory as Kafka-shaped rows first, so the
timing covers exactly what the streaming job does per record: decode, parse, enrich (user agent,
endpoint, status, geo) and drop rules, with every output column materialized into Spark's
``noop`` sink. Stages are also timed cumulatively (decode+parse, + user agent, + everything) to
show where the time goes; the stages of one comparison run in turn, round after round, and each
row is the median of its runs with their spread. A stage measured faster than a stage it
contains, beyond the spread, is flagged as suspect. Besides wall-clock lines/s it prints lines
per CPU-second of the whole process tree (driver, Spark JVM, Python workers): on a shared, busy
machine that is the fairer estimate of what one dedicated core does.

More rows put these in context: all stages plus the aggregate partials the job computes from
the same parsed rows (it parses each record once; the aggregates' own cost is the difference to
"all stages"); the stages per format; on the access-log lines, the
"straightforward version" issue 2 quotes as its baseline (``parse_enrich.reference``); on the
JSON lines, the JSON extraction with ``from_json`` (today) against a prototype on Spark 4's
VARIANT type (``parse_enrich.variant_json``), whose outputs are also compared row by row.
``--headers`` instead times what reading record headers costs: decode, and decode + parse,
without headers and with the three ``logiflow ship`` writes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from parse_enrich.corpus import corpus_pool
from parse_enrich.figures import StageFigures, suspect_lines, table_header, table_row
from parse_enrich.reference import straightforward_reference
from parse_enrich.timing import Plan, time_rounds
from parse_enrich.variant_json import VariantComparison, time_against_from_json
from pyspark.accumulators import Accumulator
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from logiflow.config import DropRule, FilterSettings, LogiflowConfig, SparkSettings
from logiflow.contract import ecs
from logiflow.contract.kafka_records import HEADER_HOST, HEADER_PATH, HEADER_SERVICE
from logiflow.etl.columns import col
from logiflow.etl.decode_records import decode_kafka_records
from logiflow.etl.enrich_useragent import CacheStats, cache_stats_accumulator, enrich_user_agent
from logiflow.etl.filter_rules import apply_drop_rules
from logiflow.etl.parse import parse_lines
from logiflow.etl.pipeline import aggregate, enrich
from logiflow.spark_session import create_spark_session

PARSE_STAGE = "decode + parse"
USER_AGENT_STAGE = "  + user agent"
ALL_STAGES = "decode + parse + enrich + filter (all fields)"
REFERENCE = "issue 2's straightforward version (reference)"
AGGREGATES = "all stages + aggregate partials (one parse, as the job does)"
TARGET_PER_CORE = 100_000  # issue 2
Figures = dict[str, StageFigures]  # row label -> its runs


def build_corpus(path: Path, lines: int, distinct: int) -> tuple[int, int]:
    """Write ``lines`` lines to ``path``; returns (generated distinct, sample corpus lines)."""
    generated, sample = corpus_pool(distinct)
    pool = generated + sample
    with path.open("w", encoding="utf-8") as out:
        for i in range(lines):
            # The text source splits on \r and \n only; keep each record on one line.
            out.write(pool[i % len(pool)].replace("\r", " ") + "\n")
    return len(generated), len(sample)


def shipper_headers() -> Column:
    """The headers of a record from ``logiflow ship``, shaped as the Kafka source reads them."""
    values = {HEADER_HOST: "web-1", HEADER_SERVICE: "storefront", HEADER_PATH: "/var/log/a.log"}
    return F.array(
        *(
            F.struct(F.lit(key).alias("key"), F.lit(value).cast("binary").alias("value"))
            for key, value in values.items()
        )
    )


def kafka_frame(spark: SparkSession, path: Path, partitions: int, headers: bool) -> DataFrame:
    text = spark.read.text(str(path)).repartition(partitions)
    return text.select(
        F.lit("storefront").cast("binary").alias("key"),
        F.col("value").cast("binary").alias("value"),
        F.lit("logiflow-logs").alias("topic"),
        F.spark_partition_id().alias("partition"),
        F.monotonically_increasing_id().alias("offset"),
        F.lit(dt.datetime(2026, 1, 1)).cast("timestamp").alias("timestamp"),
        F.lit(0).alias("timestampType"),
        *([shipper_headers().alias("headers")] if headers else []),
    )


class Pipeline:
    """The benchmarked transforms, as cumulative stages over any Kafka-shaped frame."""

    def __init__(self, config: LogiflowConfig, stats: Accumulator[CacheStats]) -> None:
        self.config = config
        self.stats = stats

    def decoded(self, records: DataFrame) -> DataFrame:
        return records.transform(decode_kafka_records(self.config.parse.max_line_bytes))

    def parsed(self, records: DataFrame) -> DataFrame:
        return self.decoded(records).transform(parse_lines(self.config.parse))

    def everything(self, records: DataFrame) -> DataFrame:
        return (
            self.parsed(records)
            .transform(enrich(self.config, self.stats))
            .transform(apply_drop_rules(self.config.filter.drop))
        )

    def stages(self, records: DataFrame) -> list[tuple[str, DataFrame]]:
        parsed = self.parsed(records)
        cache_size = self.config.enrich.user_agent_cache_size
        return [
            (PARSE_STAGE, parsed),
            (USER_AGENT_STAGE, parsed.transform(enrich_user_agent(cache_size, self.stats))),
            (ALL_STAGES, self.everything(records)),
        ]


def stage_plans(
    pipeline: Pipeline,
    records: DataFrame,
    rows: int,
    outcomes: dict[str, int] | None = None,
    skip: tuple[str, ...] = (),
) -> list[Plan]:
    """The cumulative stages as plans; the full stage's outcomes must match ``outcomes``."""
    return [
        Plan(label, frame, rows, outcomes if label == ALL_STAGES else None)
        for label, frame in pipeline.stages(records)
        if label not in skip
    ]


def compare_headers(
    spark: SparkSession, corpus: Path, config: LogiflowConfig, cores: int, runs: int
) -> None:
    """Print decode and decode + parse without and with headers, all four in turn."""
    frames = {
        label: kafka_frame(spark, corpus, cores * 4, headers).cache()
        for label, headers in (("no headers", False), ("shipper's headers", True))
    }
    total = min(frame.count() for frame in frames.values())
    decode = decode_kafka_records(config.parse.max_line_bytes)
    stages = {
        "decode": lambda records: records.transform(decode),
        PARSE_STAGE: lambda records: records.transform(decode).transform(parse_lines(config.parse)),
    }
    plans = [
        Plan(f"{stage}, {label}", build(frame), total)
        for stage, build in stages.items()
        for label, frame in frames.items()
    ]
    figures = time_rounds(plans, runs)
    print(f"\n{total:,} lines; median of {runs} runs, plans in turn; local[{cores}]")
    print(table_header())
    for label, measured in figures.items():
        print(table_row(label, measured, cores))


@dataclass
class Measurements:
    """What one benchmark run measured, printed once Spark has stopped."""

    total: int  # lines in the corpus
    outcomes: dict[str, int]  # untimed reference count
    stages: Figures
    aggregates_query: StageFigures
    per_format: dict[str, Figures]  # "JSON lines" / "access-log lines" -> rows
    variant: VariantComparison  # the JSON extraction: from_json against VARIANT


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=500_000)
    parser.add_argument("--distinct", type=int, default=100_000)
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--headers", action="store_true", help="only compare decoding without and with headers"
    )
    parser.add_argument(
        "--json-extraction", action="store_true", help="only compare from_json with VARIANT"
    )
    return parser.parse_args()


def bench_session(cores: int) -> SparkSession:
    # Python workers must run this interpreter (the venv with logiflow installed).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings = SparkSettings(
        master=f"local[{cores}]",
        app_name="logiflow-bench",
        shuffle_partitions=cores,
        conf={
            "spark.ui.enabled": "false",
            "spark.driver.memory": "3g",
            "spark.ui.showConsoleProgress": "false",
        },
    )
    spark = create_spark_session(settings)
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def bench_config() -> LogiflowConfig:
    """The default config with one drop rule, so the filter stage has work to do."""
    return LogiflowConfig(
        filter=FilterSettings(
            drop=[DropRule(name="health", field=ecs.URL_PATH, op="equals", value="/healthz")]
        )
    )


def outcome_counts(pipeline: Pipeline, records: DataFrame) -> dict[str, int]:
    return {
        row["o"]: row["count"]
        for row in pipeline.everything(records)
        .groupBy(col(ecs.OUTCOME).alias("o"))
        .count()
        .collect()
    }


def time_aggregates_query(pipeline: Pipeline, records: DataFrame, runs: int) -> StageFigures:
    # What each micro-batch computes besides the events: the aggregate partials, from the same
    # parsed rows (the optimizer prunes the columns they do not read, user agent and geo).
    aggregates = pipeline.everything(records).transform(aggregate(pipeline.config))
    # Its row count (windows) has no reference: every run must give the warm-up's count.
    (figures,) = time_rounds([Plan(AGGREGATES, aggregates, None)], runs).values()
    # Per line of input, like the other rows.
    return StageFigures(records.count(), figures.samples)


def split_by_format(records: DataFrame) -> dict[str, DataFrame]:
    is_json = F.ltrim(F.col("value").cast("string")).startswith("{")
    return {"JSON lines": records.where(is_json), "access-log lines": records.where(~is_json)}


def time_per_format(pipeline: Pipeline, records: DataFrame, runs: int) -> dict[str, Figures]:
    """The same stages over the JSON lines and the other (access-log) lines; on the latter,
    issue 2's straightforward version too, in the same rounds."""
    per_format: dict[str, Figures] = {}
    for name, subset in split_by_format(records).items():
        subset = subset.cache()
        lines = subset.count()
        plans = stage_plans(pipeline, subset, lines, skip=(USER_AGENT_STAGE,))
        if name == "access-log lines":
            plans.append(Plan(REFERENCE, straightforward_reference(subset), lines))
        per_format[name] = time_rounds(plans, runs)
        subset.unpersist()
    return per_format


def measure(pipeline: Pipeline, records: DataFrame, runs: int) -> Measurements:
    total = records.count()
    outcomes = outcome_counts(pipeline, records)
    json_lines = pipeline.decoded(split_by_format(records)["JSON lines"])
    variant = time_against_from_json(json_lines, runs)
    return Measurements(
        total=total,
        outcomes=outcomes,
        stages=time_rounds(stage_plans(pipeline, records, total, outcomes), runs),
        aggregates_query=time_aggregates_query(pipeline, records, runs),
        per_format=time_per_format(pipeline, records, runs),
        variant=variant,
    )


def compare_json_extraction(
    records: DataFrame, config: LogiflowConfig, cores: int, runs: int
) -> None:
    """Print from_json against the VARIANT prototypes on the JSON lines, and their outputs."""
    decode = decode_kafka_records(config.parse.max_line_bytes)
    comparison = time_against_from_json(
        split_by_format(records)["JSON lines"].transform(decode), runs
    )
    print(f"\nmedian of {runs} runs, plans in turn; local[{cores}]")
    print(table_header())
    for label, figures in comparison.figures.items():
        print(table_row(label, figures, cores))
    print("\n".join(comparison.verdict()))


def print_timings(measured: Measurements, cores: int) -> None:
    print(table_header())
    for label, figures in measured.stages.items():
        print(table_row(label, figures, cores))
    print(table_row(AGGREGATES, measured.aggregates_query, cores))
    warnings = suspect_lines(measured.stages, [PARSE_STAGE, USER_AGENT_STAGE, ALL_STAGES])
    for name, rows in measured.per_format.items():
        print(f"{name} only ({next(iter(rows.values())).lines:,}):")
        for label, figures in rows.items():
            print(table_row(f"  {label}", figures, cores))
        warnings += suspect_lines(rows, [PARSE_STAGE, ALL_STAGES])
    print("JSON lines only, the JSON extraction alone (parse stage 3):")
    for label, figures in measured.variant.figures.items():
        print(table_row(f"  {label}", figures, cores))
    for warning in warnings:
        print(warning)


def print_verdicts(measured: Measurements, cores: int, cache: CacheStats) -> None:
    """Issue 2's target, the user agent's own cost, and the user-agent cache's hit rate."""
    total, stages = measured.total, measured.stages
    per_core = stages[ALL_STAGES].lines_per_second.median / cores
    verdict = "met" if per_core >= TARGET_PER_CORE else "not met"
    print(
        f"target: {TARGET_PER_CORE:,} lines/s per core for all stages -> {verdict} "
        f"({per_core:,.0f}, median)"
    )
    parse_cpu = stages[PARSE_STAGE].cpu.median
    user_agent_cpu = stages[USER_AGENT_STAGE].cpu.median
    if user_agent_cpu > parse_cpu:
        print(
            f"user agent alone (the two stages' difference of medians): "
            f"{total / (user_agent_cpu - parse_cpu):,.0f} lines/CPU-s, "
            f"{(user_agent_cpu - parse_cpu) / total * 1e6:.2f} µs per line"
        )
    print(
        f"user-agent cache: {cache.rows:,} lookups, {cache.distinct_in_batches:,} distinct "
        f"per batch, {cache.parsed:,} parsed -> hit rate {cache.hit_rate:.4%} "
        f"(in-batch dedupe + per-worker LRU, over all runs from a cold start)"
    )


def main() -> None:
    args = parse_args()
    spark = bench_session(args.cores)
    config = bench_config()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="logiflow-bench-") as tmp:
        corpus = Path(tmp) / "corpus.txt"
        generated, sample = build_corpus(corpus, args.lines, args.distinct)
        if args.headers:
            compare_headers(spark, corpus, config, args.cores, args.runs)
            spark.stop()
            return
        records = kafka_frame(spark, corpus, args.cores * 4, headers=False).cache()
        if args.json_extraction:
            compare_json_extraction(records, config, args.cores, args.runs)
            spark.stop()
            return
        stats = cache_stats_accumulator(spark)
        measured = measure(Pipeline(config, stats), records, args.runs)
        records.unpersist()
    load_after = os.getloadavg()
    spark.stop()

    print()
    print(
        f"corpus: {measured.total:,} lines ({generated:,} distinct generated + {sample:,} "
        f"sample-corpus lines, repeated); outcomes {measured.outcomes}"
    )
    print(
        f"cores: {args.cores} (local[{args.cores}]); each row: median of {args.runs} runs "
        f"(min-max), the plans of each group timed in turn after a warm-up round; "
        f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f} "
        f"(on {os.cpu_count()} CPUs)"
    )
    print_timings(measured, args.cores)
    print_verdicts(measured, args.cores, stats.value)
    print("\n".join(measured.variant.verdict()))


if __name__ == "__main__":
    main()
