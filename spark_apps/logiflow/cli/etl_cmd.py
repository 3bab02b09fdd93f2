"""``logiflow etl``: the streaming job, continuously or until caught up.

Continuous (default): runs until Ctrl-C or SIGTERM, which stop the queries between batches.
``--until-caught-up``: processes everything in Kafka now, refreshes the indices (so a count
right after sees all of it), then exits (backfills, tests).
While it runs, an Elasticsearch outage is waited out: the sink's lines saying so (from the
executors, through Spark's log) are shown here too.
Kafka and Elasticsearch are checked first: an unreachable one is a one-line error. Spark's own
logging goes to ``<local.state_dir>/logs/spark.log``; the terminal shows the batches.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from logiflow.cli import options
from logiflow.cli.spark_runtime import (
    ConnectorJars,
    connector_jars,
    require_spark,
    spark_log_file,
    with_local_archive,
)
from logiflow.cli.state import state

console = Console()


def etl(
    ctx: typer.Context,
    until_caught_up: Annotated[
        bool,
        typer.Option("--until-caught-up", help="Process what is in Kafka now, then exit."),
    ] = False,
    bootstrap_servers: options.BootstrapServers = None,
    topic: options.LogsTopic = None,
    es_host: options.EsHosts = None,
    index_prefix: options.IndexPrefix = None,
    checkpoint_dir: Annotated[
        str | None, typer.Option("--checkpoint-dir", help="Streaming checkpoints (per query).")
    ] = None,
    jars_from: Annotated[
        ConnectorJars,
        typer.Option(
            "--connector-jars",
            help="download: fetch the Spark Kafka connector into the local cache; "
            "provided: already on Spark's classpath (cluster image).",
        ),
    ] = "download",
    skip_es_setup: Annotated[
        bool, typer.Option("--skip-es-setup", help="Do not create/update index templates.")
    ] = False,
) -> None:
    """Run the streaming ETL: Kafka -> parse/enrich/filter/aggregate -> Elasticsearch."""
    require_spark()
    # Spark is imported only by the commands that run it: the rest of the CLI never loads it.
    from logiflow.job import BatchAccount, run_etl

    config = state(ctx).config(
        kafka=options.kafka_overrides(bootstrap_servers, topic),
        elasticsearch=options.elasticsearch_overrides(es_host, index_prefix),
        spark={"checkpoint_dir": checkpoint_dir},
    )
    config = with_local_archive(config, console)

    def show(account: BatchAccount) -> None:
        moved = account.event_time_out_of_bounds
        console.print(
            f"batch {account.batch_id}: {account.input} in, {account.indexed} indexed, "
            f"{account.filtered} filtered, {account.dead_letter} dead letters"
            + (f" ({moved} indexed at arrival: event time out of bounds)" if moved else ""),
            highlight=False,
        )

    mode = "until caught up" if until_caught_up else "continuously (Ctrl-C stops)"
    console.print(
        f"logiflow etl: {config.kafka.bootstrap_servers}/{config.kafka.logs_topic} -> "
        f"{', '.join(config.elasticsearch.hosts)} [{config.elasticsearch.index_prefix}-*], "
        f"{mode}",
        highlight=False,
        markup=False,
    )
    result = run_etl(
        config,
        until_caught_up,
        jars=connector_jars(config, jars_from, console),
        spark_log=spark_log_file(config, console),
        setup_es=not skip_es_setup,
        on_batch=show,
    )
    totals = result.totals
    console.print(
        f"done: {totals['input']} in, {totals['indexed']} indexed, {totals['filtered']} "
        f"filtered, {totals['dead_letter']} dead letters, {result.aggregate_docs} aggregate "
        "updates" + (" (stopped)" if result.stopped_by_signal else ""),
        highlight=False,
    )
