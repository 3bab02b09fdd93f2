"""The shared SparkSession: JVM flags that the parse's speed depends on."""

from __future__ import annotations

from pyspark.sql import SparkSession

from logiflow.spark_session import JIT_JAVA_OPTIONS, with_jit_options


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
