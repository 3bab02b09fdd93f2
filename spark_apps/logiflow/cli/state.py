"""What the top-level ``logiflow`` options leave for the subcommands: the config they all read.

Kept apart from ``cli.main`` so command modules can use it without importing the app that
imports them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from logiflow.config import LogiflowConfig, load_config


class CliState:
    """The options of the ``logiflow`` callback, stored on the root click context."""

    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path

    def config(self, **overrides: Any) -> LogiflowConfig:
        """The validated config; ``overrides`` are nested dicts built from command flags."""
        cleaned = _drop_unset(overrides)
        return load_config(self.config_path, cleaned)


def _drop_unset(overrides: dict[str, Any]) -> dict[str, Any]:
    """Flags left at None mean "not given": they must not mask env vars or the YAML file."""
    result: dict[str, Any] = {}
    for key, value in overrides.items():
        if isinstance(value, dict):
            nested = _drop_unset(value)
            if nested:
                result[key] = nested
        elif value is not None:
            result[key] = value
    return result


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)
    return obj
