"""``logiflow kibana-import`` and ``logiflow kibana-check``: LogiFlow's dashboards in Kibana.

``kibana-import`` waits until Kibana reports ``available``, then imports a saved-objects NDJSON
file with overwrite (idempotent); the chart's hook Job runs it after every install and upgrade.
``kibana-check`` verifies that every dashboard of the file exists (the chart's ``helm test``).
Both read the ``kibana`` section of the config (url, CA, space; the credentials usually from
``LOGIFLOW_KIBANA__USERNAME``/``PASSWORD``). Failures end with one line naming the cause.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from logiflow.cli.state import state
from logiflow.errors import LogiflowError
from logiflow.io.kibana_import import KibanaClient, ids_of_type, read_saved_objects

console = Console()

SavedObjectsFile = Annotated[
    Path,
    typer.Option("--file", "-f", help="Saved objects NDJSON (a Kibana export file)."),
]
KibanaUrl = Annotated[
    str | None, typer.Option("--kibana-url", help="Kibana URL; overrides kibana.url.")
]
Space = Annotated[str | None, typer.Option("--space", help="Kibana space; overrides kibana.space.")]


def _kibana_overrides(kibana_url: str | None, space: str | None) -> dict[str, Any]:
    return {"url": kibana_url, "space": space}


def kibana_import(
    ctx: typer.Context,
    file: SavedObjectsFile,
    kibana_url: KibanaUrl = None,
    space: Space = None,
) -> None:
    """Wait until Kibana is available, then import saved objects (overwrite; idempotent)."""
    settings = state(ctx).config(kibana=_kibana_overrides(kibana_url, space)).kibana
    objects = read_saved_objects(file)
    console.print(
        f"{len(objects)} saved object(s) in {file}; waiting for Kibana at {settings.url}",
        highlight=False,
    )
    with KibanaClient(settings) as client:
        seen: set[str] = set()

        def report_wait(reason: str) -> None:
            if reason not in seen:  # one line per distinct state, not per poll
                seen.add(reason)
                console.print(f"  waiting: {reason}", highlight=False, soft_wrap=True)

        status = client.wait_until_available(report_wait)
        console.print(f"Kibana is {status.level}; importing into space {settings.space}")
        result = client.import_saved_objects(file.read_bytes(), file.name)
    console.print(
        f"[green]imported[/] {result.success_count} saved object(s), overwriting existing ones.",
        highlight=False,
    )


def kibana_check(
    ctx: typer.Context,
    file: SavedObjectsFile,
    kibana_url: KibanaUrl = None,
    space: Space = None,
) -> None:
    """Check that every dashboard in the saved objects file exists in Kibana."""
    settings = state(ctx).config(kibana=_kibana_overrides(kibana_url, space)).kibana
    dashboards = ids_of_type(read_saved_objects(file), "dashboard")
    if not dashboards:
        raise LogiflowError(f"{file} holds no dashboard to check")
    with KibanaClient(settings) as client:
        missing = [d for d in dashboards if not client.saved_object_exists("dashboard", d)]
    for dashboard in dashboards:
        mark = "[red]missing[/]" if dashboard in missing else "[green]found[/]  "
        console.print(f"  {mark} dashboard {dashboard}", highlight=False)
    if missing:
        raise LogiflowError(
            f"{len(missing)} dashboard(s) missing in Kibana space {settings.space}: "
            f"{', '.join(missing)}; see the kibana-import hook Job's log"
        )
