"""``logiflow archive check|compact``: the raw-log archive's day-level care (the DAG runs both).

``check --date D`` asks the store (no Spark): reachable with the credentials, the bucket there,
and the day's hour directories holding Parquet files; a day without any exits 1 (the archive
query did not run, or wrote elsewhere). ``compact --date D`` runs Spark: it rewrites the logs
topic's closed day into a few large files beside the sink's own (``archive_compaction``);
backfill then reads the copy. A day already compacted is left as it is.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import typer
from rich.console import Console

from logiflow.cli import options
from logiflow.cli.spark_runtime import (
    connector_jars,
    require_spark,
    spark_log_file,
    with_local_archive,
)
from logiflow.cli.state import state
from logiflow.config import LogiflowConfig

archive_app = typer.Typer(
    help="The raw-log archive: check a day, compact a closed day.", no_args_is_help=True
)
console = Console()

DateOption = Annotated[str, typer.Option("--date", help="The UTC day (yyyy-mm-dd).")]


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date such as 2026-11-24") from None


def _config(ctx: typer.Context, topic: str | None) -> LogiflowConfig:
    kafka = options.kafka_overrides(None, topic)
    config = state(ctx).config(kafka=kafka, archive={"enabled": True})
    return with_local_archive(config, console)


@archive_app.command("check")
def check(ctx: typer.Context, day: DateOption, topic: options.LogsTopic = None) -> None:
    """Check the store answers and holds files of the day (no Spark)."""
    from logiflow.io.archive_check import archived_day_objects

    on = _day(day)
    config = _config(ctx, topic)
    files, compacted = archived_day_objects(config.archive, config.kafka.logs_topic, on)
    where = f"{config.archive.url} [{config.kafka.logs_topic}, {on}]"
    state_text = ", compacted" if compacted else ""
    console.print(f"{where}: {files} Parquet files{state_text}", highlight=False, soft_wrap=True)
    if files == 0:
        console.print(f"error: nothing archived on {on}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)


@archive_app.command("compact")
def compact(
    ctx: typer.Context,
    day: DateOption,
    rows_per_file: Annotated[
        int | None, typer.Option(min=1, help="Records per compacted file (5,000,000).")
    ] = None,
    even_if_open: Annotated[
        bool,
        typer.Option(
            help="Compact a day that has not ended (safe: records archived later are still read "
            "from the archive's own files, but they stay small)."
        ),
    ] = False,
    topic: options.LogsTopic = None,
) -> None:
    """Rewrite a closed day's archive into a few large Parquet files (Spark)."""
    on = _day(day)
    if on >= datetime.now(UTC).date() and not even_if_open:
        raise typer.BadParameter(f"{on} has not ended yet (UTC): pass --even-if-open")
    require_spark()
    from logiflow.archive_compaction import DEFAULT_ROWS_PER_FILE, compact_day
    from logiflow.job import session_for
    from logiflow.spark_session import stop_session

    config = _config(ctx, topic)
    console.print(
        f"logiflow archive compact: {config.archive.url} [{config.kafka.logs_topic}, {on}]",
        highlight=False,
        soft_wrap=True,
    )
    spark = session_for(config, connector_jars(config, "download", console),
                        spark_log_file(config, console))  # fmt: skip
    try:
        done = compact_day(spark, config, on, rows_per_file or DEFAULT_ROWS_PER_FILE)
    finally:
        stop_session(spark)
    if done.already:
        text = f"already compacted ({done.compacted_at}): {done.records} records"
    elif not done.source_files:
        text = "nothing archived that day: nothing to compact"
    else:
        text = f"done: {done.records} records, {len(done.source_files)} files -> {len(done.files)}"
    console.print(text, highlight=False, soft_wrap=True)
