"""The ``logiflow`` command: one entry point for every part of the pipeline.

Run ``logiflow --help``. Every command reads the same config model: flags override environment
variables (``LOGIFLOW_*``), which override the YAML file (``--config`` or ``LOGIFLOW_CONFIG``),
which overrides the defaults. Each command lives in its own module under ``logiflow.cli`` and
registers itself here.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from logiflow.config import LogiflowConfig, load_config
from logiflow.errors import LogiflowError

app = typer.Typer(
    name="logiflow",
    help="Real-time log analytics: Kafka -> PySpark Structured Streaming -> Elasticsearch.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

err_console = Console(stderr=True)


class CliState:
    """What the top-level options leave for the subcommands."""

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


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="YAML config file (default: $LOGIFLOW_CONFIG, else built-in defaults).",
            envvar="LOGIFLOW_CONFIG",
        ),
    ] = None,
) -> None:
    ctx.obj = CliState(config)


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)
    return obj


def run() -> None:
    """Console-script entry: our own errors become one line on stderr and a non-zero exit.

    Everything else is typer's standalone handling: usage errors print usage and exit 2,
    Ctrl-C exits 130.
    """
    try:
        app()
    except LogiflowError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)


# Command modules register themselves on import; keep this list in the order of --help.
# (Each module defines its commands with @app.command or app.add_typer.)
from logiflow.cli import run_cmd  # noqa: E402,F401,I001
from logiflow.cli import local_cmd  # noqa: E402,F401
from logiflow.cli import es_setup_cmd  # noqa: E402,F401
from logiflow.cli import etl_cmd  # noqa: E402,F401
from logiflow.cli import ship_cmd  # noqa: E402,F401
from logiflow.cli import generate_cmd  # noqa: E402,F401
from logiflow.cli import report_cmd  # noqa: E402,F401
from logiflow.cli import replay_cmd  # noqa: E402,F401
from logiflow.cli import dashboard_cmd  # noqa: E402,F401
