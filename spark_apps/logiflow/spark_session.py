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


def create_spark_session(settings: SparkSettings, jars: Iterable[str] = ()) -> SparkSession:
    if settings.master.startswith("local"):
        # Local mode talks to itself only: keep the driver on loopback instead of whatever
        # address the host name resolves to.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # Python workers must run the interpreter that has logiflow installed (the venv's),
        # not whatever python3 is first on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(settings.master)
        .appName(settings.app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "true")
        .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.streaming.stateStore.providerClass",
                "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider")
    )
    jar_list = ",".join(jars)
    if jar_list:
        builder = builder.config("spark.jars", jar_list)
    for key, value in settings.conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
