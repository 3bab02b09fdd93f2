"""The README's examples run, so they never go stale: its config example loads and builds, and
every ``logiflow`` command it lists exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from typer.testing import CliRunner

from logiflow.cli.main import app
from logiflow.config import load_config
from logiflow.etl.filter_rules import apply_drop_rules
from logiflow.etl.parse.log_format import compile_nginx_log_format

README = Path(__file__).resolve().parents[2] / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end]


def test_readme_config_example_is_valid(tmp_path: Path, spark: SparkSession) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", _section("Configuration"), re.DOTALL)
    assert len(blocks) == 1
    path = tmp_path / "logiflow.yaml"
    path.write_text(blocks[0], encoding="utf-8")

    config = load_config(path)

    assert config.filter.drop[0].name == "health-checks"
    assert set(config.parse.custom_formats) == {"timed"}
    # The custom format compiles and the drop rules build (rules are Spark columns, hence the
    # session): both fail at start-up when wrong.
    nginx_text = config.parse.custom_formats["timed"].nginx_log_format
    assert nginx_text is not None
    compile_nginx_log_format("timed", nginx_text)
    apply_drop_rules(config.filter.drop)


def test_readme_commands_exist() -> None:
    listed = set(re.findall(r"`logiflow ([a-z-]+)", README.read_text(encoding="utf-8")))
    assert {
        "run",
        "local",
        "etl",
        "ship",
        "generate",
        "report",
        "es-setup",
        "replay-dead-letters",
        "backfill",
    } <= listed
    runner = CliRunner()
    for command in sorted(listed):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, f"logiflow {command} --help: {result.output}"


@pytest.mark.parametrize("sub", ["up", "down", "status", "fetch"])
def test_readme_local_subcommands_exist(sub: str) -> None:
    result = CliRunner().invoke(app, ["local", sub, "--help"])
    assert result.exit_code == 0, result.output
