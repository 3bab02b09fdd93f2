"""``logiflow backfill --from-archive``: the ETL run again over archived raw logs.

Reads the raw-log archive (``archive.*``; the local s3proxy when ``logiflow local up`` runs one)
for the arrivals in ``--since``/``--until`` (ISO dates or times, UTC unless they say otherwise),
optionally of one ``--service``, and indexes them exactly as the streaming ETL would: same
document ids, so a backfill over indexed data overwrites it, and dead letters a parser fix now
parses become events (the summary says how many). One line per archived hour shows progress;
a range with nothing archived says so and exits 0.
"""

from __future__ import annotations

from datetime import datetime
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
from logiflow.contract import index_names as names

console = Console()


def backfill(
    ctx: typer.Context,
    from_archive: Annotated[
        bool, typer.Option("--from-archive", help="Read the raw-log archive (archive.*).")
    ] = False,
    since: Annotated[
        str | None, typer.Option(help="First arrival time to include (ISO, UTC by default).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Arrival time to stop before (ISO, UTC by default).")
    ] = None,
    service: Annotated[
        str | None, typer.Option(help="Only this service's lines (the key's <service>).")
    ] = None,
    skip_es_setup: Annotated[
        bool,
        typer.Option(
            "--skip-es-setup",
            help="Do not create/update index templates (on a cluster the setup Job does).",
        ),
    ] = False,
    topic: options.LogsTopic = None,
    es_host: options.EsHosts = None,
    index_prefix: options.IndexPrefix = None,
) -> None:
    """Re-run the ETL over archived raw logs into Elasticsearch (same document ids)."""
    if not from_archive:
        raise typer.BadParameter("the archive is the only source: pass --from-archive")
    problem = "not an ISO date or time such as 2026-11-24 or 2026-11-24T13:00"
    since_at = options.iso_time(since, problem) if since else None
    until_at = options.iso_time(until, problem) if until else None
    if since_at and until_at and since_at >= until_at:
        raise typer.BadParameter(f"--since {since} is not before --until {until}")
    require_spark()
    from logiflow.backfill import BackfillRange, run_backfill
    from logiflow.job import BatchAccount, prepare, session_for
    from logiflow.spark_session import stop_session
    from logiflow.stop_signals import StopSignals

    config = state(ctx).config(
        kafka=options.kafka_overrides(None, topic),
        elasticsearch=options.elasticsearch_overrides(es_host, index_prefix),
        archive={"enabled": True},
    )
    config = with_local_archive(config, console)
    what = BackfillRange(since_at, until_at, service)
    console.print(
        f"logiflow backfill: {config.archive.url} [{config.kafka.logs_topic}, "
        f"{since or 'start'} .. {until or 'end'}{f', service {service}' if service else ''}] "
        f"-> {', '.join(config.elasticsearch.hosts)} [{config.elasticsearch.index_prefix}-*]",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    prepare(config, setup_es=not skip_es_setup, component="backfill")
    spark = session_for(config, connector_jars(config, "download", console),
                        spark_log_file(config, console))  # fmt: skip

    def show(hour: datetime, account: BatchAccount) -> None:
        console.print(
            f"{hour:%Y-%m-%d %H}h: {account.input} in, {account.indexed} indexed, "
            f"{account.filtered} filtered, {account.dead_letter} dead letters",
            highlight=False,
            soft_wrap=True,
        )

    try:
        with StopSignals() as signals:
            summary = run_backfill(spark, config, what, show, signals.requested)
    finally:
        stop_session(spark)
    if summary.dead_letters_kept:
        dead_letter_indices = names.index_pattern(
            config.elasticsearch.index_prefix, names.DEAD_LETTER
        )
        console.print(
            f"warning: Elasticsearch refused to delete {summary.dead_letters_kept} dead-letter "
            "documents that are events now (the user lacks the delete privilege on "
            f"{dead_letter_indices}); they are counted twice",
            highlight=False,
            soft_wrap=True,
        )
    if not summary.hours:
        console.print("nothing archived in that range: nothing to backfill", soft_wrap=True)
        return
    totals = summary.result.totals
    rate = totals["input"] / summary.seconds if summary.seconds else 0.0
    console.print(
        f"done: {len(summary.hours)} hours, {totals['input']} lines in, {totals['indexed']} "
        f"indexed, {totals['filtered']} filtered, {totals['dead_letter']} dead letters; "
        f"{summary.dead_letters_now_events} former dead letters are events now; "
        f"{summary.seconds:.0f} s ({rate:.0f} lines/s), run {summary.run_id}",
        highlight=False,
        soft_wrap=True,
    )
