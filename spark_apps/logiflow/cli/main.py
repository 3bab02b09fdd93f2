"""The ``logiflow`` command: one entry point for every part of the pipeline.

Run ``logiflow --help``. Every command reads the same config model: flags override environment
variables (``LOGIFLOW_*``), which override the YAML file (``--config`` or ``LOGIFLOW_CONFIG``),
which overrides the defaults. Each command lives in its own module under ``logiflow.cli`` as a
plain function (or, for ``local``, a sub-app); this module registers them, in the order of
``--help``. Commands that run Spark (``etl``, ``run``) import it inside the command, so the
light ones (``ship``, ``generate``, ``report``, ...) start without pyspark.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from logiflow.cli import (
    anomalies_cmd,
    archive_cmd,
    audit_cmd,
    backfill_cmd,
    check_cmd,
    dashboard_cmd,
    es_setup_cmd,
    etl_cmd,
    generate_cmd,
    kibana_cmd,
    local_cmd,
    replay_cmd,
    report_cmd,
    run_cmd,
    ship_cmd,
    status_cmd,
)
from logiflow.cli.state import CliState
from logiflow.errors import LogiflowError

app = typer.Typer(
    name="logiflow",
    help="Real-time log analytics: Kafka -> PySpark Structured Streaming -> Elasticsearch.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

err_console = Console(stderr=True)

app.command("run")(run_cmd.run)
app.add_typer(local_cmd.local_app, name="local")
app.command("es-setup")(es_setup_cmd.es_setup)
app.command("kibana-import")(kibana_cmd.kibana_import)
app.command("kibana-check")(kibana_cmd.kibana_check)
app.command("etl")(etl_cmd.etl)
app.command("ship")(ship_cmd.ship)
app.command("generate")(generate_cmd.generate)
app.command("report")(report_cmd.report)
app.command("audit")(audit_cmd.audit)
app.command("anomalies")(anomalies_cmd.anomalies)
app.command("dashboard")(dashboard_cmd.dashboard)
app.command("replay-dead-letters")(replay_cmd.replay)
app.command("check")(check_cmd.check)
app.command("status")(status_cmd.status)
app.command("backfill")(backfill_cmd.backfill)
app.add_typer(archive_cmd.archive_app, name="archive")


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


def run() -> None:
    """Console-script entry: our own errors become one line on stderr and a non-zero exit.

    Everything else is typer's standalone handling: usage errors print usage and exit 2,
    Ctrl-C exits 130.
    """
    try:
        app()
    except LogiflowError as exc:
        # Messages quote servers' errors, which hold brackets ("for REST request [/_bulk]"):
        # read as markup they crashed this very line.
        err_console.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        sys.exit(exc.exit_code)
