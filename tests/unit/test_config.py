"""The one config model: precedence (flags > env > YAML > defaults) and errors that name the key."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from logiflow.config import load_config
from logiflow.errors import ConfigError


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOGIFLOW_CONFIG", raising=False)
    monkeypatch.delenv("LOGIFLOW_KAFKA__LOGS_TOPIC", raising=False)
    monkeypatch.delenv("LOGIFLOW_KAFKA__BOOTSTRAP_SERVERS", raising=False)


def _yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "logiflow.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_flags_beat_env_beat_yaml_beat_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _yaml(
        tmp_path,
        "kafka:\n  logs_topic: from-yaml\n  bootstrap_servers: yaml:9092\n"
        "  max_offsets_per_trigger: 10\n",
    )
    monkeypatch.setenv("LOGIFLOW_KAFKA__LOGS_TOPIC", "from-env")
    monkeypatch.setenv("LOGIFLOW_KAFKA__BOOTSTRAP_SERVERS", "env:9092")

    config = load_config(path, {"kafka": {"bootstrap_servers": "flag:9092"}})

    assert config.kafka.bootstrap_servers == "flag:9092"
    assert config.kafka.logs_topic == "from-env"
    assert config.kafka.max_offsets_per_trigger == 10
    assert config.kafka.dead_letter_topic == "logiflow-deadletter"  # default


def test_config_file_from_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGIFLOW_CONFIG", str(_yaml(tmp_path, "kafka:\n  logs_topic: t1\n")))
    assert load_config().kafka.logs_topic == "t1"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("kafka:\n  bootstrap_server: x:1\n", "kafka.bootstrap_server"),  # typo: unknown key
        ("aggregate:\n  window: 1 minit\n", "aggregate.window"),
        ("elasticsearch:\n  hosts: [localhost:9200]\n", "elasticsearch.hosts"),
        ("kafka:\n  max_offsets_per_trigger: 0\n", "kafka.max_offsets_per_trigger"),
        ("archive:\n  endpoint: minio:9000\n", "archive.endpoint"),
        ("archive:\n  bucket: Not_A_Bucket\n", "archive.bucket"),
        ("archive:\n  trigger_interval: 5 minits\n", "archive.trigger_interval"),
        ("archive:\n  access_key_id: only-half\n", "archive.secret_access_key"),
        ("archive:\n  enable: true\n", "archive.enable"),
        ("metrics:\n  port: -1\n", "metrics.port"),
        ("metrics:\n  prot: 9108\n", "metrics.prot"),
        ("local:\n  prometheus_port: 0\n", "local.prometheus_port"),
    ],
)
def test_invalid_values_name_the_key(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_config(_yaml(tmp_path, text))


def test_unreadable_and_malformed_files_say_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(_yaml(tmp_path, "kafka: [unclosed\n"))
    with pytest.raises(ConfigError, match="mapping at the top level"):
        load_config(_yaml(tmp_path, "- a list\n"))


def test_tests_ignore_the_developers_logiflow_environment(tmp_path: Path) -> None:
    """A test run started from a shell with LOGIFLOW_* set still sees the defaults."""
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "from logiflow.config import load_config\n"
        "def test_defaults():\n"
        "    assert load_config().kafka.bootstrap_servers == '127.0.0.1:9092'\n"
    )
    env = {
        **os.environ,
        "LOGIFLOW_KAFKA__BOOTSTRAP_SERVERS": "elsewhere:9092",
        "LOGIFLOW_CONFIG": str(tmp_path / "missing.yaml"),
    }
    conftest = Path(__file__).parents[1] / "conftest.py"
    shutil.copy(conftest, tmp_path / "conftest.py")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(probe)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_metrics_are_off_and_the_consumer_group_set_by_default(tmp_path: Path) -> None:
    config = load_config()
    assert config.metrics.port == 0
    assert config.kafka.consumer_group == "logiflow-etl"
    # An empty value (an environment variable set to "") switches the commits off.
    assert (
        load_config(_yaml(tmp_path, "kafka:\n  consumer_group: ''\n")).kafka.consumer_group is None
    )
