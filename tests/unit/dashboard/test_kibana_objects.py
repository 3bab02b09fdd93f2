"""The Kibana saved objects: regenerated identically, every field and reference resolves, and
each Lens layer is consistent the way Kibana 8.19 reads it (formBased datasource, columnOrder,
accessors, migration versions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from logiflow.config import ElasticsearchSettings
from logiflow.contract import index_names as names
from logiflow.dashboard import kibana
from logiflow.dashboard.kibana_lens import RECORDS, TYPE_MIGRATION_VERSIONS
from logiflow.dashboard.panels import PANELS
from logiflow.io.es_setup import Capabilities, desired_objects

COMMITTED = Path(__file__).parents[3] / kibana.DEFAULT_OUTPUT
AGGREGATABLE = {"keyword", "long", "integer", "double", "date", "ip", "boolean"}


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in COMMITTED.read_text().splitlines()]


def by_type(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["type"] == kind]


def template_fields(kind: names.Kind) -> dict[str, dict[str, Any]]:
    """Dotted field -> mapping in the real index template es-setup installs, multi-fields too."""
    settings = ElasticsearchSettings(index_prefix="logiflow")
    components = dict(desired_objects(settings, Capabilities(False, ""))["component template"])
    properties = components[f"logiflow-{kind}-mappings"]["template"]["mappings"]["properties"]
    flat: dict[str, dict[str, Any]] = {}

    def walk(node: dict[str, Any], path: str) -> None:
        for name, mapping in node.items():
            dotted = f"{path}{name}"
            if "properties" in mapping:
                walk(mapping["properties"], f"{dotted}.")
                continue
            flat[dotted] = mapping
            for sub, sub_mapping in mapping.get("fields", {}).items():
                flat[f"{dotted}.{sub}"] = sub_mapping

    walk(properties, "")
    return flat


def test_the_committed_file_is_what_the_generator_writes(tmp_path: Path) -> None:
    out = tmp_path / "objects.ndjson"
    kibana.main([str(out)])
    assert out.read_text() == COMMITTED.read_text(), (
        "regenerate with: python -m logiflow.dashboard.kibana"
    )


def test_every_object_is_importable_json_with_migration_versions(objects: list[dict]) -> None:
    assert {o["type"] for o in objects} == {"index-pattern", "lens", "dashboard"}
    for item in objects:
        assert item["coreMigrationVersion"] == "8.8.0"
        assert item["typeMigrationVersion"] == TYPE_MIGRATION_VERSIONS[item["type"]]
        assert item["id"] and item["attributes"]
    assert len({(o["type"], o["id"]) for o in objects}) == len(objects)
    titles = {o["attributes"]["title"] for o in by_type(objects, "dashboard")}
    assert titles == {"LogiFlow overview", "Pipeline health"}


def test_data_views_cover_every_panel_index(objects: list[dict]) -> None:
    views = {o["id"]: o["attributes"] for o in by_type(objects, "index-pattern")}
    for panel in PANELS:
        view = views[f"logiflow-{panel.index}"]
        assert view["title"] == names.index_pattern("logiflow", panel.index)
        assert view["timeFieldName"] == panel.time_field
        json.loads(view["runtimeFieldMap"])
        json.loads(view["fieldFormatMap"])


def _layer_fields(state: dict[str, Any]) -> set[str]:
    fields = set()
    for layer in state["datasourceStates"]["formBased"]["layers"].values():
        for column in layer["columns"].values():
            if column["sourceField"] != RECORDS:
                fields.add(column["sourceField"])
            if "filter" in column:
                fields.add(column["filter"]["query"].split(" : ")[0])
    if state["query"]["query"]:
        fields.add(state["query"]["query"].strip("(").split(" : ")[0])
    return fields


def test_every_field_exists_in_the_index_template_and_aggregates(objects: list[dict]) -> None:
    views = {o["id"]: o for o in by_type(objects, "index-pattern")}
    for lens in by_type(objects, "lens"):
        [reference] = lens["references"]
        view = views[reference["id"]]
        kind = view["attributes"]["title"].removeprefix("logiflow-").removesuffix("-*")
        mappings = template_fields(kind)
        runtime = json.loads(view["attributes"]["runtimeFieldMap"])
        for field in _layer_fields(lens["attributes"]["state"]):
            if field in runtime:
                continue
            assert field in mappings, f"{lens['id']}: {field} is not in the {kind} template"
            mapping = mappings[field]
            assert mapping["type"] in AGGREGATABLE, (lens["id"], field, mapping)
            assert mapping.get("doc_values", True) and mapping.get("index", True), field
    events = template_fields(names.EVENTS)
    for dashboard in by_type(objects, "dashboard"):
        controls = json.loads(dashboard["attributes"].get("controlGroupInput", {}).get(
            "panelsJSON", "{}"))  # fmt: skip
        for control in controls.values():
            assert events[control["explicitInput"]["fieldName"]]["type"] == "keyword"


def test_every_lens_layer_is_consistent(objects: list[dict]) -> None:
    for lens in by_type(objects, "lens"):
        state = lens["attributes"]["state"]
        layers = state["datasourceStates"]["formBased"]["layers"]
        assert len(layers) == 1
        [(layer_id, layer)] = layers.items()
        order = layer["columnOrder"]
        assert sorted(order) == sorted(layer["columns"]) and len(set(order)) == len(order)
        buckets = [c for c in layer["columnOrder"] if layer["columns"][c]["isBucketed"]]
        assert layer["columnOrder"][: len(buckets)] == buckets, "buckets come first"
        for column in layer["columns"].values():
            assert {"label", "dataType", "operationType", "isBucketed"} <= set(column)
            order_by = column.get("params", {}).get("orderBy", {})
            if order_by.get("type") == "column":
                assert order_by["columnId"] in layer["columns"]
        refs = {r["name"]: r for r in lens["references"]}
        assert refs[f"indexpattern-datasource-layer-{layer_id}"]["type"] == "index-pattern"
        visualization = state["visualization"]
        accessors = _accessors(lens["attributes"]["visualizationType"], visualization, layer_id)
        assert accessors and set(accessors) <= set(layer["columns"]), lens["id"]


def _accessors(kind: str, visualization: dict[str, Any], layer_id: str) -> list[str]:
    if kind == "lnsXY":
        [layer] = visualization["layers"]
        assert layer["layerId"] == layer_id
        found = [layer["xAccessor"], *layer["accessors"]]
        return [*found, layer["splitAccessor"]] if "splitAccessor" in layer else found
    assert visualization["layerId"] == layer_id
    if kind == "lnsMetric":
        return [visualization["metricAccessor"]]
    if kind == "lnsDatatable":
        return [c["columnId"] for c in visualization["columns"]]
    assert kind == "lnsHeatmap"
    return [visualization[k] for k in ("xAccessor", "yAccessor", "valueAccessor")]


def test_every_reference_resolves(objects: list[dict]) -> None:
    ids = {(o["type"], o["id"]) for o in objects}
    for item in objects:
        for reference in item["references"]:
            assert (reference["type"], reference["id"]) in ids, (item["id"], reference)
    lenses = {o["id"] for o in by_type(objects, "lens")}
    shown = set()
    for dashboard in by_type(objects, "dashboard"):
        panels = json.loads(dashboard["attributes"]["panelsJSON"])
        names_ = {r["name"] for r in dashboard["references"]}
        for panel in panels:
            assert f"{panel['panelIndex']}:{panel['panelRefName']}" in names_
            grid = panel["gridData"]
            assert grid["i"] == panel["panelIndex"] and grid["x"] + grid["w"] <= 48
            shown.add(panel["panelIndex"])
        controls = json.loads(
            dashboard["attributes"].get("controlGroupInput", {}).get("panelsJSON", "{}")
        )
        for control_id in controls:
            assert f"controlGroup_{control_id}:optionsListDataView" in names_
    assert shown == lenses, "every visualization is on a dashboard"
