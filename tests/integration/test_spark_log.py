"""A clean screen: ``logiflow etl`` (as users run it, a subprocess against the real local
servers) shows LogiFlow's own lines only; the JVM's and Spark's start-up chatter is in
``<local.state_dir>/logs/spark.log``, whose place the command names."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from kafka_records import write_topic

from logiflow.config import LogiflowConfig

LOGIFLOW = str(Path(sys.executable).with_name("logiflow"))
ACCESS_LINE = b'10.0.0.7 - - [24/Nov/2026:10:00:04 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8.5"'

# What the JVM launcher and Spark print when nobody redirects them.
CHATTER = re.compile(
    r"WARNING: Using incubator modules|NativeCodeLoader|log4j|Setting default log level"
    r"|\d\d/\d\d/\d\d \d\d:\d\d:\d\d (WARN|INFO|ERROR) "
)


def test_etl_keeps_spark_output_in_its_log_file(
    pipeline_config: LogiflowConfig, tmp_path: Path
) -> None:
    kafka = pipeline_config.kafka
    write_topic(
        kafka.bootstrap_servers,
        kafka.logs_topic,
        [(None, ACCESS_LINE, None), (None, b"not a log line at all", None)],
    )
    state_dir = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGIFLOW_")}
    env.update(
        {
            "LOGIFLOW_LOCAL__STATE_DIR": str(state_dir),
            "LOGIFLOW_KAFKA__DEAD_LETTER_TOPIC": str(kafka.dead_letter_topic),
            "LOGIFLOW_SPARK__CONF": json.dumps({"spark.ui.enabled": "false"}),
        }
    )
    result = subprocess.run(
        [LOGIFLOW, "etl", "--until-caught-up",
         "--bootstrap-servers", kafka.bootstrap_servers, "--topic", kafka.logs_topic,
         "--es-host", pipeline_config.elasticsearch.hosts[0],
         "--index-prefix", pipeline_config.elasticsearch.index_prefix,
         "--checkpoint-dir", pipeline_config.spark.checkpoint_dir],
        capture_output=True, text=True, env=env, timeout=540, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "done: 2 in, 1 indexed, 0 filtered, 1 dead letters" in result.stdout, output
    log_file = state_dir.resolve() / "logs" / "spark.log"
    assert f"Spark's log: {log_file}" in result.stdout
    assert [line for line in output.splitlines() if CHATTER.search(line)] == []
    log = log_file.read_text(encoding="utf-8")
    assert "WARNING: Using incubator modules" in log  # the JVM launcher's own stderr
    assert "NativeCodeLoader" in log  # Spark's log4j2 logging
