"""Builds the SparkSession every entry point uses (the job, the tests, the benchmark).

Settings that change results live here so tests and production agree: UTC session time zone,
ANSI mode on (bad values must be handled explicitly with ``try_*`` functions), Arrow for Python
UDFs.

With ``log_file`` (the local CLI: ``logiflow run`` and ``logiflow etl``) Spark's log and the JVM's
own console output go to that file instead of the terminal, which stays LogiFlow's (the sink's
reports of an outage it is waiting out are copied to the terminal too). Without it
(tests, the SparkApplication) Spark logs as usual: in the cluster, to the container's stdout.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pyspark import SparkConf, SparkContext
from pyspark.java_gateway import launch_gateway
from pyspark.sql import SparkSession

from logiflow.config import SparkSettings
from logiflow.io.bulk_retries import REPORT_PREFIX

REPORT_PREFIX_BYTES = REPORT_PREFIX.encode()

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


# Spark's PrometheusServlet on the driver's UI (/metrics/prometheus, and the executors' at
# /metrics/executors/prometheus), under a fixed namespace so series names do not carry the
# application id; the chart's SparkApplication sets the same.
PROMETHEUS_SERVLET_CONF = {
    "spark.ui.prometheus.enabled": "true",
    "spark.metrics.namespace": "logiflow",
    "spark.metrics.conf.*.sink.prometheusServlet.class":
        "org.apache.spark.metrics.sink.PrometheusServlet",
    "spark.metrics.conf.*.sink.prometheusServlet.path": "/metrics/prometheus",
}  # fmt: skip


# HotSpot leaves methods over 8,000 bytes of bytecode to the interpreter. Whole-stage code
# generation of the parse (one regex, ~40 column expressions, null handling) produces methods
# far larger than that, so without this flag the hottest code of the job never gets compiled
# (measured: 1.75x faster parse + enrich with it). Spark's own docs discuss the same limit
# under spark.sql.codegen.hugeMethodLimit.
JIT_JAVA_OPTIONS = "-XX:-DontCompileHugeMethods"
_JAVA_OPTIONS_KEYS = ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions")


def with_jit_options(user_options: str) -> str:
    """The user's extra Java options with ``JIT_JAVA_OPTIONS`` added (once)."""
    return with_java_options(user_options, JIT_JAVA_OPTIONS)


def with_java_options(user_options: str, *added: str) -> str:
    """``user_options`` followed by each of ``added`` that is not already among them."""
    present = user_options.split()
    missing = [option for option in added if option not in present]
    return " ".join([user_options.strip(), *missing]).strip()


LOG4J2_PROPERTIES = "spark-log4j2.properties"


def log_to_file_java_options(log_file: Path) -> tuple[str, ...]:
    """Driver JVM flags that send Spark's log4j2 logging to ``log_file`` (our properties file)."""
    config = resources.files("logiflow") / LOG4J2_PROPERTIES
    return (f"-Dlog4j2.configurationFile={config}", f"-Dlogiflow.spark.log={log_file}")


def launched_by_spark_submit() -> bool:
    """True inside ``spark-submit`` (the SparkApplication), which has already chosen the master."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def create_spark_session(
    settings: SparkSettings, jars: Iterable[str] = (), log_file: Path | None = None
) -> SparkSession:
    submitted = launched_by_spark_submit()
    if settings.master.startswith("local") and not submitted:
        # Local mode talks to itself only: keep the driver on loopback instead of whatever
        # address the host name resolves to.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # Python workers must run the interpreter that has logiflow installed (the venv's),
        # not whatever python3 is first on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    options: dict[str, str] = {}
    if not submitted:
        # Under spark-submit the master (k8s://...) and deploy mode come from the submission;
        # overriding them here would point the driver somewhere else.
        options["spark.master"] = settings.master
    options.update(
        {
            "spark.app.name": settings.app_name,
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.ansi.enabled": "true",
            "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
            "spark.sql.execution.arrow.pyspark.enabled": "true",
            # Each streaming query's rates, latency and offsets in Spark's metrics system (the
            # PrometheusServlet, where on).
            "spark.sql.streaming.metricsEnabled": "true",
            "spark.sql.streaming.stateStore.providerClass":
                "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider",
        }
    )  # fmt: skip
    jar_list = ",".join(jars)
    if jar_list:
        options["spark.jars"] = jar_list
    options.update(merged_conf(settings.conf, log_file))
    if log_file is not None and not submitted:
        _launch_jvm_logging_to(log_file, options)
    builder = SparkSession.builder
    for key, value in options.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def merged_conf(user_conf: Mapping[str, str], log_file: Path | None) -> dict[str, str]:
    """The user's conf, with our additions merged into the keys we also set."""
    conf = dict(user_conf)
    excluded = [_NO_FILTER_PUSHDOWN, conf.get(_EXCLUDED_RULES, "")]
    conf[_EXCLUDED_RULES] = ",".join(rule for rule in excluded if rule)
    for key in _JAVA_OPTIONS_KEYS:
        # Takes effect where this process starts the JVM (local mode, tests, benchmark); under
        # spark-submit the SparkApplication passes the same flag as driver/executor javaOptions.
        conf[key] = with_jit_options(conf.get(key, ""))
    if log_file is not None:
        # Local mode: the executors live in the driver's JVM, so the driver's flags cover both.
        driver = "spark.driver.extraJavaOptions"
        conf[driver] = with_java_options(conf[driver], *log_to_file_java_options(log_file))
    return conf


@dataclass
class _LaunchedJvm:
    """The driver JVM this process started with its output on a log file."""

    process: subprocess.Popen[bytes]
    # Copies the JVM's console into the log; it ends when the JVM and every Python worker it
    # forked (they inherit the pipe) have exited.
    output_copier: threading.Thread


_launched: _LaunchedJvm | None = None


def _launch_jvm_logging_to(log_file: Path, options: Mapping[str, str]) -> None:
    """Start the driver JVM (PySpark's gateway) with its stdout and stderr on ``log_file``.

    The JVM launcher's own warnings ("Using incubator modules") and the Python workers' stderr
    never pass through log4j2; redirecting the gateway process is the only way to keep them off
    the terminal. ``getOrCreate`` then finds the gateway running and uses it. The file is started
    afresh: it holds the latest run.
    """
    global _launched
    if SparkContext._gateway is not None:  # a JVM already runs in this process: keep it
        return
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_bytes(b"")
    conf = SparkConf(loadDefaults=False).setAll(list(options.items()))
    read_end, write_end = os.pipe()
    try:
        gateway = launch_gateway(
            conf, popen_kwargs={"stdout": write_end, "stderr": subprocess.STDOUT}
        )
    finally:
        os.close(write_end)
    copier = threading.Thread(
        target=_copy_to_log, args=(read_end, log_file), name="spark-console", daemon=True
    )
    copier.start()
    _launched = _LaunchedJvm(gateway.proc, copier)
    SparkContext._ensure_initialized(gateway=gateway, conf=conf)


def _copy_to_log(read_end: int, log_file: Path) -> None:
    # Appending (O_APPEND) like log4j2's file appender, so the two writers never overwrite.
    partial = b""
    with os.fdopen(read_end, "rb", buffering=0) as source, log_file.open("ab") as out:
        while chunk := source.read(65536):
            out.write(chunk)
            out.flush()
            *lines, partial = (partial + chunk).split(b"\n")
            _echo_reports(lines)
    _echo_reports([partial])


def _echo_reports(lines: list[bytes]) -> None:
    """The sink's own reports (an outage it is waiting out) also belong on the terminal: they
    come from the Python workers, whose output the JVM writes to its console, this log."""
    for line in lines:
        if REPORT_PREFIX_BYTES in line:
            sys.stderr.write(line.decode("utf-8", "replace") + "\n")
            sys.stderr.flush()


def stop_session(spark: SparkSession, timeout: float = 120.0) -> None:
    """Stop Spark; if this process started the JVM (``log_file``), also wait until the JVM and
    its Python workers have exited, so a command that returns leaves no process behind."""
    global _launched
    spark.stop()
    launched, _launched = _launched, None
    if launched is None:
        return
    with contextlib.suppress(Exception):  # the JVM may be gone already
        SparkContext._gateway.shutdown()  # type: ignore[union-attr]
    SparkContext._gateway = None
    SparkContext._jvm = None
    # PySpark's gateway exits when its stdin closes.
    with contextlib.suppress(OSError):
        launched.process.stdin.close()  # type: ignore[union-attr]
    try:
        launched.process.wait(timeout)
    except subprocess.TimeoutExpired:
        launched.process.kill()
        launched.process.wait()
    launched.output_copier.join(timeout)
