"""``logiflow check`` (the chart's ``helm test``) against the real broker, ETL and node.

With the ETL running, the marker line goes through and the command exits 0 naming the index;
with no ETL reading the topic, it waits its timeout and exits 1 saying what to look at.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from confluent_kafka import KafkaException
from kafka_records import read_topic
from pyspark.sql import SparkSession

from logiflow.config import LogiflowConfig
from logiflow.job import run_etl

LOGIFLOW = str(Path(sys.executable).with_name("logiflow"))


def check_env(config: LogiflowConfig) -> dict[str, str]:
    return {
        **os.environ,
        "LOGIFLOW_KAFKA__BOOTSTRAP_SERVERS": config.kafka.bootstrap_servers,
        "LOGIFLOW_KAFKA__LOGS_TOPIC": config.kafka.logs_topic,
        "LOGIFLOW_ELASTICSEARCH__HOSTS": f'["{config.elasticsearch.hosts[0]}"]',
        "LOGIFLOW_ELASTICSEARCH__INDEX_PREFIX": config.elasticsearch.index_prefix,
    }


def records_in_topic(config: LogiflowConfig) -> int:
    try:
        return len(read_topic(config.kafka.bootstrap_servers, config.kafka.logs_topic))
    except KafkaException:  # a fresh topic's leader may not be known yet
        return 0


def wait_for_records(config: LogiflowConfig, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while records_in_topic(config) < count:
        assert time.monotonic() < deadline, "the check never sent its marker"
        time.sleep(0.5)


def test_check_finds_its_marker_once_the_etl_indexed_it(
    spark: SparkSession, pipeline_config: LogiflowConfig
) -> None:
    check = subprocess.Popen(
        [LOGIFLOW, "check", "--timeout", "240"],
        env=check_env(pipeline_config),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_records(pipeline_config, 1)
        result = run_etl(pipeline_config, until_caught_up=True, spark=spark)
        assert result.totals["indexed"] == 1
        stdout, stderr = check.communicate(timeout=120)
    finally:
        check.kill()
    assert check.returncode == 0, stderr
    assert f"{pipeline_config.elasticsearch.index_prefix}-events-" in stdout
    assert "found marker" in stdout


def test_check_without_a_running_etl_times_out_and_says_why(
    pipeline_config: LogiflowConfig,
) -> None:
    result = subprocess.run(
        [LOGIFLOW, "check", "--timeout", "3"],
        env=check_env(pipeline_config),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "not indexed after 3s" in result.stderr
    assert "logiflow etl" in result.stderr
    assert (
        len(read_topic(pipeline_config.kafka.bootstrap_servers, pipeline_config.kafka.logs_topic))
        == 1
    )
