"""``logiflow ship --help`` shows that it takes globs, and what a glob does."""

from __future__ import annotations

from typer.testing import CliRunner

from logiflow.cli.main import app


def test_ship_help_shows_the_glob() -> None:
    result = CliRunner().invoke(app, ["ship", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "[FILE|GLOB]..." in result.output
    assert "'logs/*.log'" in result.output
    assert "rotated files it matches are read oldest first" in result.output
