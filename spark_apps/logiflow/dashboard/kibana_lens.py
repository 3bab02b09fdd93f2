"""Lens visualizations (``formBased`` datasource) for the panels, as Kibana 8.19 stores them.

Used by ``kibana.py``, which documents the shapes and migration versions. One layer per
visualization: ``columns`` keyed by column id, ``columnOrder`` with the bucket columns first,
and the layer's data view named by the reference ``indexpattern-datasource-layer-<layerId>``.
"""

from __future__ import annotations

import json
from typing import Any

from logiflow.contract import derived_fields as derived
from logiflow.contract import index_names as names
from logiflow.dashboard.panels import Metric, Panel, Split

CORE_MIGRATION_VERSION = "8.8.0"
TYPE_MIGRATION_VERSIONS = {"index-pattern": "8.0.0", "lens": "8.9.0", "dashboard": "10.2.0"}
RECORDS = "___records___"  # Lens's pseudo-field of a document count


def data_view_id(prefix: str, kind: names.Kind) -> str:
    return f"{prefix}-{kind}"


def saved_object(
    kind: str, object_id: str, attributes: dict[str, Any], references: list[dict[str, str]]
) -> dict[str, Any]:
    return {
        "type": kind,
        "id": object_id,
        "attributes": attributes,
        "references": references,
        "coreMigrationVersion": CORE_MIGRATION_VERSION,
        "typeMigrationVersion": TYPE_MIGRATION_VERSIONS[kind],
        "managed": False,
    }


def _kql(field: str, values: tuple[Any, ...]) -> str:
    def literal(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return json.dumps(value)

    return " or ".join(f"{field} : {literal(v)}" for v in values)


def metric_columns(metric: Metric, column_id: str) -> dict[str, dict[str, Any]]:
    """One Lens column per value the metric gives (a percentiles metric gives several)."""
    base = {"dataType": "number", "isBucketed": False, "scale": "ratio"}
    if metric.kind in ("count", "ratio"):
        column = {
            **base,
            "label": metric.label if metric.kind == "count" else "Errors",
            "customLabel": True,
            "operationType": "count",
            "sourceField": RECORDS,
            "params": {"emptyAsNull": True},
        }
        if metric.per_minute:
            column["timeScale"] = "m"
        if metric.kind == "ratio":
            assert metric.numerator is not None
            numerator = metric.numerator
            column["filter"] = {
                "language": "kuery",
                "query": _kql(numerator.field, numerator.values),
            }
        return {column_id: column}
    if metric.kind == "percentiles":
        return {
            f"{column_id}p{percent:g}": {
                **base,
                "label": f"{metric.label} p{percent:g}",
                "customLabel": True,
                "operationType": "percentile",
                "sourceField": metric.field,
                "params": {"percentile": percent},
            }
            for percent in metric.percents
        }
    operation = {"cardinality": "unique_count", "sum": "sum"}[metric.kind]
    return {
        column_id: {
            **base,
            "label": metric.label,
            "customLabel": True,
            "operationType": operation,
            "sourceField": metric.field,
            "params": {"emptyAsNull": True},
        }
    }


def _date_histogram(field: str) -> dict[str, Any]:
    return {
        "label": field,
        "dataType": "date",
        "operationType": "date_histogram",
        "sourceField": field,
        "isBucketed": True,
        "scale": "interval",
        "params": {"interval": "auto", "includeEmptyRows": True, "dropPartials": False},
    }


def _terms(field: str, size: int, order_by: dict[str, Any], missing: bool) -> dict[str, Any]:
    alphabetical = order_by["type"] == "alphabetical"
    return {
        "label": f"Top {size} values of {field}",
        "dataType": "number" if field == derived.HOUR_OF_DAY else "string",
        "operationType": "terms",
        "sourceField": field,
        "isBucketed": True,
        "scale": "ordinal",
        "params": {
            "size": size,
            "orderBy": order_by,
            "orderDirection": "asc" if alphabetical else "desc",
            "otherBucket": False,
            "missingBucket": missing,
            "parentFormat": {"id": "terms"},
        },
    }


def split_columns(split: Split, column_id: str, first_metric: str) -> dict[str, dict[str, Any]]:
    if split.kind == "date_histogram":
        return {column_id: _date_histogram(split.field)}
    if split.kind == "hour_weekday":
        order = {"type": "alphabetical", "fallback": False}
        return {
            f"{column_id}weekday": _terms(derived.WEEKDAY, 7, order, False),
            f"{column_id}hour": _terms(derived.HOUR_OF_DAY, 24, order, False),
        }
    order = {"type": "column", "columnId": first_metric}
    return {column_id: _terms(split.field, split.size, order, split.missing is not None)}


# --- Lens visualizations --------------------------------------------------------------------


def _is_status_share(panel: Panel) -> bool:
    """All metrics are ratios over one field over time: drawn as that field's share."""
    fields = {m.numerator.field for m in panel.metrics if m.numerator is not None}
    return all(m.kind == "ratio" for m in panel.metrics) and len(fields) == 1


def _layer(
    panel: Panel, metrics: tuple[Metric, ...]
) -> tuple[dict[str, Any], list[str], list[str]]:
    """Columns, bucket column ids (outer first) and metric column ids of one Lens layer."""
    columns: dict[str, dict[str, Any]] = {}
    values: list[str] = []
    if _is_status_share(panel):
        field = next(m.numerator.field for m in metrics if m.numerator is not None)
        count = Metric("count", "Requests")
        values_cols = metric_columns(count, "m0")
        share_buckets = {
            **split_columns(panel.splits[0], "s0", "m0"),
            **split_columns(Split("terms", field, size=5), "s1", "m0"),
        }
        return {**share_buckets, **values_cols}, list(share_buckets), list(values_cols)
    for i, metric in enumerate(metrics):
        found = metric_columns(metric, f"m{i}")
        columns.update(found)
        values += list(found)
    buckets: dict[str, dict[str, Any]] = {}
    for depth, split in enumerate(panel.splits):
        buckets.update(split_columns(split, f"s{depth}", values[0]))
    return {**buckets, **columns}, list(buckets), values


def _visualization(
    panel: Panel, layer_id: str, buckets: list[str], values: list[str]
) -> tuple[str, dict[str, Any]]:
    """(visualizationType, visualization state) for the panel's visual."""
    if panel.visual == "metric":
        return "lnsMetric", {"layerId": layer_id, "layerType": "data", "metricAccessor": values[0]}
    if panel.visual == "table":
        columns = [{"columnId": column} for column in [*buckets, *values]]
        return "lnsDatatable", {"layerId": layer_id, "layerType": "data", "columns": columns}
    if panel.visual == "heatmap":
        return "lnsHeatmap", {
            "shape": "heatmap",
            "layerId": layer_id,
            "layerType": "data",
            "xAccessor": buckets[1],
            "yAccessor": buckets[0],
            "valueAccessor": values[0],
            "legend": {"isVisible": True, "position": "right", "type": "heatmap_legend"},
            "gridConfig": {
                "type": "heatmap_grid",
                "isCellLabelVisible": False,
                "isYAxisLabelVisible": True,
                "isXAxisLabelVisible": True,
                "isYAxisTitleVisible": False,
                "isXAxisTitleVisible": False,
            },
        }
    over_time = panel.splits[0].kind == "date_histogram"
    series = {"stacked_bar": "bar_stacked", "line": "line", "bar": "bar"}[panel.visual]
    if _is_status_share(panel):
        series = "bar_percentage_stacked"
    elif not over_time:
        series = "bar_horizontal"
    layer: dict[str, Any] = {
        "layerId": layer_id,
        "layerType": "data",
        "seriesType": series,
        "xAccessor": buckets[0],
        "accessors": values,
        "position": "top",
        "showGridlines": False,
    }
    if len(buckets) > 1:
        layer["splitAccessor"] = buckets[1]
    return "lnsXY", {
        "legend": {"isVisible": True, "position": "right"},
        "valueLabels": "hide",
        "preferredSeriesType": series,
        "layers": [layer],
    }


def _nesting(columns: dict[str, dict[str, Any]], buckets: list[str]) -> list[str]:
    """Terms outside the date histogram (columnOrder is the aggregation nesting): a stacked
    chart shows the overall top values, as Kibana's own histograms do."""
    return sorted(buckets, key=lambda c: columns[c]["operationType"] == "date_histogram")


def lens(
    panel: Panel, prefix: str, metrics: tuple[Metric, ...], object_id: str, title: str
) -> dict:
    layer_id = f"layer-{object_id}"
    columns, buckets, values = _layer(panel, metrics)
    kind, visualization = _visualization(panel, layer_id, buckets, values)
    query = " and ".join(f"({_kql(c.field, c.values)})" for c in panel.fixed)
    state = {
        "visualization": visualization,
        "query": {"query": query, "language": "kuery"},
        "filters": [],
        "internalReferences": [],
        "adHocDataViews": {},
        "datasourceStates": {
            "formBased": {
                "layers": {
                    layer_id: {
                        "columns": columns,
                        "columnOrder": [*_nesting(columns, buckets), *values],
                        "incompleteColumns": {},
                    }
                }
            }
        },
    }
    reference = {
        "type": "index-pattern",
        "id": data_view_id(prefix, panel.index),
        "name": f"indexpattern-datasource-layer-{layer_id}",
    }
    attributes = {"title": title, "description": "", "visualizationType": kind, "state": state}
    return saved_object("lens", object_id, attributes, [reference])


def panel_lenses(panel: Panel, prefix: str) -> list[dict[str, Any]]:
    """One Lens per panel; a metric panel gives one Lens per number (lnsMetric shows one)."""
    if panel.visual == "metric":
        return [
            lens(panel, prefix, (metric,), f"logiflow-{panel.id}-{i}", metric.label)
            for i, metric in enumerate(panel.metrics)
        ]
    return [lens(panel, prefix, panel.metrics, f"logiflow-{panel.id}", panel.title)]
