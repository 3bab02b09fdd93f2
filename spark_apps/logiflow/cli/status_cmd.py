"""``logiflow status``: one answer to "is it healthy?", for a Kubernetes release or locally.

    logiflow status --namespace logiflow --release logiflow   # kubeconfig, or in-cluster in a pod
    logiflow status --local                                   # the embedded default's servers
    logiflow status ... --json | jq .failed

Prints one row per thing checked (rich table, or ``--json`` with stable keys: target, healthy,
failed [labels], checks [{component, name, state, level, detail}]). Exits 0 when nothing failed,
1 otherwise, naming each failed row on stderr. Without ``--namespace``/``--release`` and with a
local state directory present, it reports the local stack.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from logiflow.cli import options
from logiflow.cli.state import state
from logiflow.errors import ConfigError
from logiflow.status.checks import StatusReport

out = Console()
err = Console(stderr=True)

LEVEL_STYLES = {"ok": "green", "degraded": "yellow", "failed": "bold red", "unknown": "dim"}


def status_table(report: StatusReport) -> Table:
    table = Table(title=report.target)
    table.add_column("component")
    table.add_column("name", no_wrap=True)
    table.add_column("state")
    table.add_column("level")
    table.add_column("detail", overflow="fold")
    for check in report.checks:
        style = LEVEL_STYLES[check.level]
        table.add_row(
            check.component, check.name, check.state, f"[{style}]{check.level}[/]", check.detail
        )
    return table


def status(
    ctx: typer.Context,
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="Namespace of the Helm release.")
    ] = None,
    release: Annotated[
        str | None, typer.Option("--release", help="Helm release name (default: logiflow).")
    ] = None,
    local: Annotated[
        bool, typer.Option("--local", help="Check the local servers and job instead.")
    ] = False,
    kubeconfig: Annotated[
        Path | None, typer.Option("--kubeconfig", help="Kubeconfig file (default: $KUBECONFIG).")
    ] = None,
    context: Annotated[str | None, typer.Option("--context", help="Kubeconfig context.")] = None,
    max_restarts: Annotated[
        int, typer.Option(min=0, help="Driver pod restarts above which it counts as failed.")
    ] = 0,
    max_batch_age: Annotated[
        float, typer.Option(min=1, help="Seconds since the last batch before it is degraded.")
    ] = 900,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (stable keys).")] = False,
    es_host: options.EsHosts = None,
    index_prefix: options.IndexPrefix = None,
    bootstrap_servers: options.BootstrapServers = None,
) -> None:
    """Is LogiFlow healthy? Custom resources, driver pod, last batch and lag; exit 1 if not."""
    config = state(ctx).config(
        elasticsearch=options.elasticsearch_overrides(es_host, index_prefix),
        kafka=options.kafka_overrides(bootstrap_servers, None),
    )
    from logiflow.status.local import has_local_state, local_checks

    cluster = namespace is not None or release is not None or kubeconfig or context
    if local or (not cluster and has_local_state(config)):
        report = StatusReport(
            f"local stack in {config.local.state_dir}", tuple(local_checks(config, max_batch_age))
        )
    elif cluster:
        from logiflow.status.cluster import cluster_checks, kubernetes_client
        from logiflow.status.progress import progress_checks

        namespace, release = namespace or "default", release or "logiflow"
        api = kubernetes_client(kubeconfig, context)
        try:
            checks = cluster_checks(api, namespace, release, max_restarts)
        finally:
            api.close()
        checks += progress_checks(config, max_batch_age)
        report = StatusReport(f"release {release} in namespace {namespace}", tuple(checks))
    else:
        raise ConfigError(
            "nothing to check: pass --namespace/--release for a Kubernetes release, or --local"
            " (no local state directory at "
            f"{config.local.state_dir})"
        )
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        out.print(status_table(report))
    for check in report.failed:
        message = f"unhealthy: {check.label}: {check.state} {check.detail}".rstrip()
        err.print(message, highlight=False, soft_wrap=True)
    raise typer.Exit(report.exit_code)
