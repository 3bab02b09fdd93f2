"""Done-when: unreachable Kafka, unreachable Elasticsearch and a bad config each give a clear
one-line error and a non-zero exit (the real CLI, as a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from logiflow.config import LogiflowConfig
from logiflow.local.process import free_port

LOGIFLOW = str(Path(sys.executable).with_name("logiflow"))


def _run(
    *args: str, timeout: float = 180, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOGIFLOW, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_unreachable_kafka(pipeline_config: LogiflowConfig, tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    result = _run(
        "etl",
        "--until-caught-up",
        "--bootstrap-servers",
        address,
        "--es-host",
        pipeline_config.elasticsearch.hosts[0],
        "--checkpoint-dir",
        str(tmp_path / "ck"),
    )
    assert result.returncode == 3
    line = _one_line(result)
    assert line.startswith(f"error: Kafka is unreachable at {address}")


def test_unreachable_elasticsearch(pipeline_config: LogiflowConfig, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = _run(
        "etl",
        "--until-caught-up",
        "--bootstrap-servers",
        pipeline_config.kafka.bootstrap_servers,
        "--topic",
        pipeline_config.kafka.logs_topic,
        "--es-host",
        url,
        "--checkpoint-dir",
        str(tmp_path / "ck"),
    )
    assert result.returncode == 3
    assert _one_line(result).startswith(f"error: Elasticsearch is unreachable at {url}")

    setup = _run("es-setup", "--es-host", url)
    assert setup.returncode == 3
    assert _one_line(setup).startswith(f"error: Elasticsearch is unreachable at {url}")


def test_missing_dead_letter_topic(pipeline_config: LogiflowConfig, tmp_path: Path) -> None:
    # Found at start-up, not when the first bad line waits a minute for the topic's metadata.
    result = _run(
        "etl",
        "--until-caught-up",
        "--bootstrap-servers",
        pipeline_config.kafka.bootstrap_servers,
        "--topic",
        pipeline_config.kafka.logs_topic,
        "--es-host",
        pipeline_config.elasticsearch.hosts[0],
        "--checkpoint-dir",
        str(tmp_path / "ck"),
        env={"LOGIFLOW_KAFKA__DEAD_LETTER_TOPIC": "no-such-dead-letter-topic"},
    )
    assert result.returncode == 2
    line = _one_line(result)
    assert line.startswith("error: kafka.dead_letter_topic")
    assert "'no-such-dead-letter-topic' is not visible" in line


def test_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("kafka:\n  bootstrap_server: 127.0.0.1:9092\n")  # typo: missing "s"
    result = _run("--config", str(config), "etl", "--until-caught-up")
    assert result.returncode == 2
    line = _one_line(result)
    assert "invalid configuration" in line and "kafka.bootstrap_server" in line

    result = _run("es-setup", "--es-host", "127.0.0.1:9200")  # no scheme
    assert result.returncode == 2
    assert "must start with http:// or https://" in _one_line(result)


def test_inconsistent_kafka_security() -> None:
    # Refused before any connection is tried, for the shipper and the ETL alike, with the key.
    env = {"LOGIFLOW_KAFKA__SECURITY_PROTOCOL": "SASL_SSL", "LOGIFLOW_KAFKA__SASL_USERNAME": "u"}
    for command in (["ship", "-"], ["etl", "--until-caught-up"]):
        result = _run(*command, env=env)
        assert result.returncode == 2
        line = _one_line(result)
        assert line.endswith("kafka.security_protocol SASL_SSL needs kafka.sasl_password")
    # A file that is inconsistent in itself is refused by the config model, for every command.
    env = {"LOGIFLOW_KAFKA__SSL_CA_LOCATION": "ca.crt"}
    for command in (["ship", "-"], ["report"]):
        result = _run(*command, env=env)
        assert result.returncode == 2
        line = _one_line(result)
        assert "invalid configuration" in line
        assert line.endswith(
            "kafka.ssl_ca_location set but kafka.security_protocol is PLAINTEXT; "
            "use SSL or SASL_SSL"
        )
