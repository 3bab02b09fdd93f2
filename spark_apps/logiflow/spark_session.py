"""Builds the SparkSession every entry point uses (the job, the tests, the benchmark).

Settings that change results live here so tests and production agree: UTC session time zone,
ANSI mode on (bad values must be handled explicitly with ``try_*`` functions), Arrow for Python
UDFs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

from pyspark.sql import SparkSession

from logiflow.config import SparkSettings

_EXCLUDED_RULES = "spark.sql.optimizer.excludedRules"
# Our plans are long chains of deterministic projections (decode -> parse -> enrich) over a
# Kafka scan, which cannot take pushed filters anyway. Pushing a filter on a derived column
# (the outcome, the event time) down those projections rewrites it in terms of the raw line,
# copying the whole parse expression once per reference: a 35 KB plan became 2.3 MB, planning
# took 20 s per micro-batch, and code generation of the aggregates query's predicate ran the
# driver out of heap. Without the pushdown the filter runs on the parsed columns, once.
_NO_FILTER_PUSHDOWN = ",".join(
    f"org.apache.spark.sql.catalyst.optimizer.{rule}"
    for rule in ("PushDownPredicates", "PushPredicateThroughNonJoin")
)


# HotSpot leaves methods over 8,000 bytes of bytecode to the interpreter. Whole-stage code
# generation of the parse (one regex, ~40 column expressions, null handling) produces methods
# far larger than that, so without this flag the hottest code of the job never gets compiled
# (measured: 1.75x faster parse + enrich with it). Spark's own docs discuss the same limit
# under spark.sql.codegen.hugeMethodLimit.
JIT_JAVA_OPTIONS = "-XX:-DontCompileHugeMethods"
_JAVA_OPTIONS_KEYS = ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions")


def with_jit_options(user_options: str) -> str:
    """The user's extra Java options with ``JIT_JAVA_OPTIONS`` added (once)."""
    if JIT_JAVA_OPTIONS in user_options.split():
        return user_options
    return f"{user_options} {JIT_JAVA_OPTIONS}".strip()


def launched_by_spark_submit() -> bool:
    """True inside ``spark-submit`` (the SparkApplication), which has already chosen the master."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def create_spark_session(settings: SparkSettings, jars: Iterable[str] = ()) -> SparkSession:
    submitted = launched_by_spark_submit()
    if settings.master.startswith("local") and not submitted:
        # Local mode talks to itself only: keep the driver on loopback instead of whatever
        # address the host name resolves to.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # Python workers must run the interpreter that has logiflow installed (the venv's),
        # not whatever python3 is first on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder
    if not submitted:
        # Under spark-submit the master (k8s://...) and deploy mode come from the submission;
        # overriding them here would point the driver somewhere else.
        builder = builder.master(settings.master)
    builder = (
        builder.appName(settings.app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "true")
        .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config(
            "spark.sql.streaming.stateStore.providerClass",
            "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider",
        )
    )
    jar_list = ",".join(jars)
    if jar_list:
        builder = builder.config("spark.jars", jar_list)
    # The user's conf, with our additions merged into the keys we also set.
    conf = dict(settings.conf)
    excluded = [_NO_FILTER_PUSHDOWN, conf.get(_EXCLUDED_RULES, "")]
    conf[_EXCLUDED_RULES] = ",".join(rule for rule in excluded if rule)
    for key in _JAVA_OPTIONS_KEYS:
        # Takes effect where this process starts the JVM (local mode, tests, benchmark); under
        # spark-submit the SparkApplication passes the same flag as driver/executor javaOptions.
        conf[key] = with_jit_options(conf.get(key, ""))
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
