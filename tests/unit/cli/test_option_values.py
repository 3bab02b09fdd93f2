"""A bad option value is the same kind of error in every command: click's usage error naming the
option, exit code 2, before anything connects anywhere."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from logiflow.cli.main import app


@pytest.mark.parametrize("command", ["run", "generate"])
@pytest.mark.parametrize("rate", ["0", "-5"])
def test_bad_rate(command: str, rate: str) -> None:
    result = CliRunner().invoke(app, [command, "--rate", rate])
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--rate'" in result.output
    assert "must be positive" in result.output


@pytest.mark.parametrize("command", ["run", "generate"])
def test_bad_malformed_share(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--malformed", "1.5"])
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--malformed'" in result.output


@pytest.mark.parametrize("command", ["run", "generate"])
def test_bad_duration(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--duration", "0"])
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--duration'" in result.output


def test_generate_count_and_duration_exclude_each_other() -> None:
    result = CliRunner().invoke(app, ["generate", "--count", "3", "--duration", "2"])
    assert result.exit_code == 2, result.output
    assert "give --duration or --count, not both" in result.output

    result = CliRunner().invoke(app, ["generate", "--count", "-1"])
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--count'" in result.output
