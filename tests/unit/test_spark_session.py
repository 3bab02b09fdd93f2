"""The shared SparkSession: JVM flags that the parse's speed depends on, and the local CLI's
Spark log file."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession

from logiflow.spark_session import JIT_JAVA_OPTIONS, merged_conf, with_jit_options


def test_driver_jvm_runs_with_the_jit_flag(spark: SparkSession) -> None:
    # Asked of the running JVM itself, not of the conf: the flag only counts if it was applied
    # when the JVM started.
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    arguments = list(
        jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()
    )
    assert JIT_JAVA_OPTIONS in arguments


def test_user_java_options_are_kept() -> None:
    assert with_jit_options("") == JIT_JAVA_OPTIONS
    assert with_jit_options("-Xss4m") == f"-Xss4m {JIT_JAVA_OPTIONS}"
    assert with_jit_options(f"-Xss4m {JIT_JAVA_OPTIONS}") == f"-Xss4m {JIT_JAVA_OPTIONS}"


def test_log_file_options_join_the_driver_java_options(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "spark.log"
    conf = merged_conf({"spark.driver.extraJavaOptions": "-Xss4m"}, log_file)
    driver = conf["spark.driver.extraJavaOptions"].split()
    assert driver[:2] == ["-Xss4m", JIT_JAVA_OPTIONS]
    assert f"-Dlogiflow.spark.log={log_file}" in driver
    config = next(o for o in driver if o.startswith("-Dlog4j2.configurationFile="))
    assert Path(config.split("=", 1)[1]).read_text().count("${sys:logiflow.spark.log}") == 1
    # Executors in a cluster log as usual; without a log file nothing changes.
    assert conf["spark.executor.extraJavaOptions"] == JIT_JAVA_OPTIONS
    assert "log4j2" not in merged_conf({}, None)["spark.driver.extraJavaOptions"]
