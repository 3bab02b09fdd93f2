"""``logiflow es-setup``: create or update the index templates and lifecycle policies.

Idempotent: running it again reports every object as unchanged. The Helm chart's hook Job runs
the same command against the ECK cluster.
"""

from __future__ import annotations

import typer
from rich.console import Console

from logiflow.cli import options
from logiflow.cli.state import state
from logiflow.io.es_client import connect, describe_hosts
from logiflow.io.es_setup import setup_elasticsearch

console = Console()

_STYLE = {"created": "green", "updated": "yellow", "unchanged": "dim", "skipped": "magenta"}


def es_setup(
    ctx: typer.Context,
    es_host: options.EsHosts = None,
    index_prefix: options.IndexPrefix = None,
) -> None:
    """Create LogiFlow's index templates (ECS mappings) and lifecycle policies, idempotently."""
    config = state(ctx).config(elasticsearch=options.elasticsearch_overrides(es_host, index_prefix))
    settings = config.elasticsearch
    with connect(settings) as client:
        steps = setup_elasticsearch(client, settings)
    console.print(f"Elasticsearch {describe_hosts(settings)}:", highlight=False)
    for step in steps:
        style = _STYLE[step.action]
        detail = f": {step.detail}" if step.detail else ""
        console.print(
            f"  [{style}]{step.action:<9}[/] {step.kind} [bold]{step.name}[/]{detail}",
            highlight=False,
            soft_wrap=True,
        )
    changed = sum(step.action in ("created", "updated") for step in steps)
    console.print(
        f"{changed} object(s) created or updated, {len(steps) - changed} left as they were."
    )
