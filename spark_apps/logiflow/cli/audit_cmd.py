"""``logiflow audit``: reconcile Kafka, the ETL's accounting and Elasticsearch, independently.

    logiflow audit                       # every offset of the logs topic
    logiflow audit --since 2h            # records produced in the last two hours
    logiflow audit --since 2026-11-24T00:00 --until 2026-11-25T00:00 --json

Exit 0 when every offset reconciles, 1 with each discrepancy named (partition and offsets),
2/3 for a bad config or an unreachable server. What is compared: ``logiflow.audit.reconcile``.
JSON keys: ok, batches, partitions [{topic, partition, log_start, log_end, produced, read,
read_again, documents, filtered}], discrepancies and notes [{kind, message, offsets}],
dead_letters [{topic, partition, log_start, log_end, replayed_up_to, pending_replay,
expired_before_replay}] (``logiflow.audit.dead_letter_backlog``).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from logiflow.audit import sources
from logiflow.audit.dead_letter_backlog import backlog_findings
from logiflow.audit.reconcile import AuditResult, plan_audit, reconcile
from logiflow.cli import options
from logiflow.cli.state import state
from logiflow.ingest.replay import DEFAULT_GROUP
from logiflow.io.es_client import connect, describe_hosts

console = Console()


def result_tables(result: AuditResult) -> Table:
    table = Table(title="Kafka offsets vs batches vs documents", title_justify="left")
    table.add_column("partition")
    for name in ("log start", "log end", "produced", "read", "read again"):
        table.add_column(name, justify="right")
    table.add_column("documents", justify="right")
    table.add_column("filtered", justify="right")
    for p in result.partitions:
        table.add_row(
            f"{p.topic}[{p.partition}]",
            *(f"{n:,}" for n in (p.log_start, p.log_end, p.produced, p.read, p.read_again)),
            f"{p.documents:,}",
            f"{p.filtered:,}",
        )
    return table


def show(result: AuditResult) -> None:
    console.print(result_tables(result))
    console.print(f"{result.batches:,} committed batches read these offsets.")
    if result.dead_letters:
        pending = sum(p["pending_replay"] for p in result.dead_letters)
        expired = sum(p["expired_before_replay"] for p in result.dead_letters)
        console.print(
            f"Dead-letter topic {result.dead_letters[0]['topic']!r}: {pending:,} dead letters "
            f"wait for a replay, {expired:,} expired before one.",
            highlight=False,
        )
    for note in result.notes:
        console.print(f"[yellow]note[/] ({note.kind}): {note.message}", highlight=False)
    for finding in result.discrepancies:
        console.print(
            f"[bold red]discrepancy[/] ({finding.kind}): {finding.message}", highlight=False
        )
    if result.ok:
        console.print("[bold green]Audit passed:[/] every offset produced is accounted for.")
    else:
        console.print(f"[bold red]Audit failed:[/] {len(result.discrepancies)} discrepancies.")


def audit(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(help="Audit records produced at or after this time (ISO 8601, or 2h, 7d)."),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Audit records produced before this time (same forms).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (stable keys).")] = False,
    replay_group: Annotated[
        str, typer.Option(help="Consumer group of `logiflow replay-dead-letters`.")
    ] = DEFAULT_GROUP,
    es_host: options.EsHosts = None,
    index_prefix: options.IndexPrefix = None,
    bootstrap_servers: options.BootstrapServers = None,
    topic: options.LogsTopic = None,
) -> None:
    """Prove every Kafka record was read once and is in Elasticsearch (or filtered)."""
    config = state(ctx).config(
        elasticsearch=options.elasticsearch_overrides(es_host, index_prefix),
        kafka=options.kafka_overrides(bootstrap_servers, topic),
    )
    settings = config.elasticsearch
    logs = sources.partition_logs(
        config.kafka, options.time_or_ago(since), options.time_or_ago(until)
    )
    with connect(settings) as client:
        sources.refresh(client, settings.index_prefix)
        plan = plan_audit(logs, sources.accounting(client, settings.index_prefix))
        documents = sources.count_documents(client, settings.index_prefix, plan.spans_to_count())
        short = plan.short_spans(documents)
        resent = sources.resent_later(config.kafka, client, settings.index_prefix, short)
    result = reconcile(plan, documents, resent)
    backlog = sources.dead_letter_partitions(config.kafka, replay_group)
    result.notes.extend(backlog_findings(backlog, replay_group))
    result.dead_letters = [p.as_json() for p in backlog]
    if as_json:
        typer.echo(json.dumps(result.as_json(), indent=2, sort_keys=True))
    else:
        console.print(
            f"Kafka {config.kafka.bootstrap_servers} topic {config.kafka.logs_topic!r}, "
            f"Elasticsearch {describe_hosts(settings)} prefix {settings.index_prefix!r}"
        )
        show(result)
    if not result.ok:
        raise typer.Exit(1)
