"""Kibana saved objects from the panel model: data views, Lens visualizations, two dashboards.

    python -m logiflow.dashboard.kibana [--index-prefix logiflow] [--time-zone UTC] [OUT]

writes the NDJSON the Helm chart imports (``charts/logiflow/files/kibana/saved-objects.ndjson``
by default) with ``POST /api/saved_objects/_import?overwrite=true``. The output is
deterministic (fixed ids, sorted keys), so regenerating gives the identical file.

Shapes follow Kibana 8.19's own code: Lens's ``formBased`` datasource (the name since 8.6) with
one layer per visualization, ``columns`` keyed by column id, ``columnOrder`` listing the buckets
first, and a reference ``indexpattern-datasource-layer-<layerId>`` to the data view; dashboards
reference their panels as ``panel_<panelIndex>``. Migration versions are the newest each type
had in 8.19 that our objects need (Kibana migrates anything older on import, and refuses
anything newer): ``coreMigrationVersion`` 8.8.0, lens 8.9.0 (its last migration),
index-pattern 8.0.0, dashboard 10.2.0 (model version 2; 8.19's model version 3 only adds the
``sections`` mapping, which we do not use).

Where Lens differs from the local dashboard: a ratio of filtered counts (4xx/5xx rate) becomes a
percentage-stacked bar by status class, the error rate in tables an "Errors" count, and the
heatmap's weekday/hour are runtime fields of the events data view computed in ``time_zone``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from logiflow.contract import derived_fields as derived
from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.dashboard.kibana_lens import data_view_id, panel_lenses, saved_object
from logiflow.dashboard.panels import PANELS, Panel

DEFAULT_OUTPUT = Path("charts/logiflow/files/kibana/saved-objects.ndjson")
GRID_COLUMNS = 48
PANEL_HEIGHT = 15
BOARDS = {
    "overview": ("logiflow-overview", "LogiFlow overview", "Traffic seen by LogiFlow."),
    "pipeline": (
        "logiflow-pipeline-health",
        "Pipeline health",
        "LogiFlow's own accounting: lines read, indexed, filtered and dead-lettered.",
    ),
}
# Options-list controls above the overview: the filters the local dashboard offers too.
CONTROLS = (
    ("service", ecs.SERVICE_NAME, "Service"),
    ("host", ecs.HOST_NAME, "Host"),
    ("status", ecs.STATUS_CLASS, "Status class"),
)
_WEEKDAY_SCRIPT = (
    "if (doc['@timestamp'].size() == 0) { return; } "
    "ZonedDateTime t = doc['@timestamp'].value.withZoneSameInstant(ZoneId.of('{zone}')); "
    "String[] days = new String[] {'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'}; "
    "int day = t.getDayOfWeek().getValue(); emit(day + ' ' + days[day - 1]);"
)
_HOUR_SCRIPT = (
    "if (doc['@timestamp'].size() == 0) { return; } "
    "emit(doc['@timestamp'].value.withZoneSameInstant(ZoneId.of('{zone}')).getHour());"
)


def runtime_fields(time_zone: str) -> dict[str, Any]:
    """The heatmap's axes as runtime fields of the events data view (painless, per document)."""
    return {
        derived.HOUR_OF_DAY: {
            "type": "long",
            "script": {"source": _HOUR_SCRIPT.replace("{zone}", time_zone)},
        },
        derived.WEEKDAY: {
            "type": "keyword",
            "script": {"source": _WEEKDAY_SCRIPT.replace("{zone}", time_zone)},
        },
    }


def _field_formats(kind: names.Kind) -> dict[str, Any]:
    if kind != names.EVENTS:
        return {}
    return {
        ecs.EVENT_DURATION: {
            "id": "duration",
            "params": {"inputFormat": "nanoseconds", "outputFormat": "asMilliseconds"},
        },
        ecs.HTTP_RESPONSE_BODY_BYTES: {"id": "bytes"},
    }


def data_view(prefix: str, kind: names.Kind, time_zone: str) -> dict[str, Any]:
    time_field = names.BATCH_TIMESTAMP if kind == names.BATCHES else ecs.TIMESTAMP
    runtime = runtime_fields(time_zone) if kind == names.EVENTS else {}
    return saved_object(
        "index-pattern",
        data_view_id(prefix, kind),
        {
            "title": names.index_pattern(prefix, kind),
            "name": f"LogiFlow {kind}",
            "timeFieldName": time_field,
            "runtimeFieldMap": json.dumps(runtime, sort_keys=True),
            "fieldFormatMap": json.dumps(_field_formats(kind), sort_keys=True),
            "fieldAttrs": "{}",
            "fields": "[]",
            "sourceFilters": "[]",
            "typeMeta": "{}",
            "allowNoIndex": True,
        },
        [],
    )


# --- dashboards -----------------------------------------------------------------------------


def _grid(lenses: list[tuple[Panel, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Panels left to right in rows of GRID_COLUMNS, metrics smaller."""
    placed: list[dict[str, Any]] = []
    x = y = row_height = 0
    for panel, item in lenses:
        if panel.visual == "metric":
            width, height = GRID_COLUMNS // 3, 8
        else:
            width, height = GRID_COLUMNS * panel.width // 2, PANEL_HEIGHT
        if x + width > GRID_COLUMNS:
            x, y, row_height = 0, y + row_height, 0
        index = item["id"]
        placed.append(
            {
                "version": "8.8.0",
                "type": "lens",
                "gridData": {"x": x, "y": y, "w": width, "h": height, "i": index},
                "panelIndex": index,
                "embeddableConfig": {"enhancements": {}},
                "panelRefName": f"panel_{index}",
            }
        )
        x += width
        row_height = max(row_height, height)
    return placed


def _controls(prefix: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
    events = data_view_id(prefix, names.EVENTS)
    panels = {}
    references = []
    for order, (control_id, field, title) in enumerate(CONTROLS):
        panels[control_id] = {
            "order": order,
            "width": "medium",
            "grow": True,
            "type": "optionsListControl",
            "explicitInput": {
                "id": control_id,
                "fieldName": field,
                "title": title,
                "selectedOptions": [],
                "searchTechnique": "prefix",
            },
        }
        references.append(
            {
                "type": "index-pattern",
                "id": events,
                "name": f"controlGroup_{control_id}:optionsListDataView",
            }
        )
    group = {
        "controlStyle": "oneLine",
        "chainingSystem": "HIERARCHICAL",
        "showApplySelections": False,
        "panelsJSON": json.dumps(panels, sort_keys=True),
        "ignoreParentSettingsJSON": json.dumps(
            {
                "ignoreFilters": False,
                "ignoreQuery": False,
                "ignoreTimerange": False,
                "ignoreValidations": False,
            },
            sort_keys=True,
        ),
    }
    return group, references


def dashboard(board: str, prefix: str, lenses: list[tuple[Panel, dict[str, Any]]]) -> dict:
    object_id, title, description = BOARDS[board]
    placed = _grid(lenses)
    references = [
        {
            "type": "lens",
            "id": item["panelIndex"],
            "name": f"{item['panelIndex']}:{item['panelRefName']}",
        }
        for item in placed
    ]
    attributes: dict[str, Any] = {
        "title": title,
        "description": description,
        "panelsJSON": json.dumps(placed, sort_keys=True),
        "optionsJSON": json.dumps(
            {
                "useMargins": True,
                "syncColors": False,
                "syncCursor": True,
                "syncTooltips": False,
                "hidePanelTitles": False,
            },
            sort_keys=True,
        ),
        "timeRestore": True,
        "timeFrom": "now-24h",
        "timeTo": "now",
        "refreshInterval": {"pause": False, "value": 5000},
        "kibanaSavedObjectMeta": {
            "searchSourceJSON": json.dumps(
                {"query": {"query": "", "language": "kuery"}, "filter": []}, sort_keys=True
            )
        },
        "version": 1,
    }
    if board == "overview":
        attributes["controlGroupInput"], control_references = _controls(prefix)
        references += control_references
    return saved_object("dashboard", object_id, attributes, references)


def saved_objects(prefix: str = "logiflow", time_zone: str = "UTC") -> list[dict[str, Any]]:
    """Every object, data views first so each reference points back to something imported."""
    order = (names.EVENTS, names.DEAD_LETTER, names.AGGREGATES, names.BATCHES, names.ANOMALIES)
    kinds = [kind for kind in order if any(panel.index == kind for panel in PANELS)]
    objects = [data_view(prefix, kind, time_zone) for kind in kinds]
    by_board: dict[str, list[tuple[Panel, dict[str, Any]]]] = {board: [] for board in BOARDS}
    for panel in PANELS:
        for item in panel_lenses(panel, prefix):
            objects.append(item)
            by_board[panel.board].append((panel, item))
    objects += [dashboard(board, prefix, lenses) for board, lenses in by_board.items()]
    return objects


def to_ndjson(objects: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(item, sort_keys=True, ensure_ascii=False) + "\n" for item in objects)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write LogiFlow's Kibana saved objects (NDJSON).")
    parser.add_argument("output", nargs="?", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--index-prefix", default="logiflow")
    parser.add_argument("--time-zone", default="UTC", help="Zone of the heatmap's weekday/hour.")
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(to_ndjson(saved_objects(args.index_prefix, args.time_zone)))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
