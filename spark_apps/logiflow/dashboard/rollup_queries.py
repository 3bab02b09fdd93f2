"""Panels read from the per-minute aggregates: the search, its rows, and the events part left.

A panel with ``aggregates`` set (``panels.py``) reads every metric that has a ``Rollup`` from
``<prefix>-aggregates-*``: the partial documents of its scope, summed per bucket of the same
splits as the events search (partials are never read one by one: a window's total is the sum of
its partials, ``etl/aggregate_windows.py``). What the aggregates cannot hold (percentiles,
distinct visitors) still comes from the events, in a second search over the same buckets; after
a terms split (top endpoints) that search is restricted to the keys the aggregates ranked, so it
reads only those endpoints' events. ``fetch.py`` runs the searches and ``merged_rows`` puts the
two answers back into one ``PanelData`` with the columns of the events-only panel.

Host and status class are not in the aggregates: with such a filter active the panel is the
events search alone (``reads_aggregates``), the same numbers, only slower. The aggregates count
whole minutes, so the range is read as ``TimeRange.whole_minutes`` (for every panel, see there).
Only core aggregations (sum, terms, date_histogram) are used; ratios are divided here.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from logiflow.contract import aggregates as agg
from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.dashboard.panels import Condition, Metric, Panel
from logiflow.dashboard.queries import (
    Filters,
    PanelData,
    TimeRange,
    bucket_key,
    epoch_ms,
    heatmap_rows,
    metric_columns,
    service_filter,
    split_agg,
    split_columns,
)

# The sum of events under every bucket: what terms rank by, and the panel's "matched".
EVENTS_SUM = "n"


def reads_aggregates(panel: Panel, filters: Filters) -> bool:
    """The panel's rollup metrics come from the aggregates: it has them, and no filter the
    aggregates cannot apply (host, status class) is active."""
    return panel.aggregates is not None and not filters.hosts and not filters.status_classes


def rollup_metrics(panel: Panel) -> tuple[Metric, ...]:
    return tuple(m for m in panel.metrics if m.rollup is not None)


def events_part(panel: Panel, top_keys: tuple[Any, ...] | None = None) -> Panel | None:
    """The panel's metrics the aggregates lack, as an events panel; None when there are none.

    ``top_keys``: the terms split's keys the aggregates ranked, the only ones searched.
    """
    metrics = tuple(m for m in panel.metrics if m.rollup is None)
    if not metrics:
        return None
    fixed = panel.fixed
    if top_keys is not None:
        fixed += (Condition(panel.splits[-1].field, top_keys),)
    return replace(panel, metrics=metrics, fixed=fixed, aggregates=None)


def needs_top_keys(panel: Panel) -> bool:
    """The events part waits for the aggregates' ranking: it follows a terms split."""
    return events_part(panel) is not None and any(s.kind == "terms" for s in panel.splits)


def _sum_names(metrics: tuple[Metric, ...]) -> dict[str, str]:
    """The name of the one ``sum`` per aggregate field the metrics read ("n" for the events).

    Several metrics read the same field (requests and every ratio's denominator are the events):
    each sum runs once per bucket over every partial, so each field is summed once.
    """
    names = {agg.AGG_EVENTS: EVENTS_SUM}
    for metric in metrics:
        assert metric.rollup is not None
        for summed in (*metric.rollup.fields, metric.rollup.over):
            if summed is not None and summed not in names:
                names[summed] = f"f{len(names)}"
    return names


def _leaf_aggs(metrics: tuple[Metric, ...]) -> dict[str, Any]:
    return {name: {"sum": {"field": summed}} for summed, name in _sum_names(metrics).items()}


def rollup_search(
    panel: Panel,
    prefix: str,
    time_range: TimeRange,
    filters: Filters,
    time_zone: str,
    interval: timedelta,
) -> dict[str, Any]:
    """Keyword arguments for ``Elasticsearch.search`` over the panel's aggregate partials."""
    assert panel.aggregates is not None
    clauses: list[dict[str, Any]] = [
        {
            "range": {
                ecs.TIMESTAMP: {
                    "gte": epoch_ms(time_range.start),
                    "lt": epoch_ms(time_range.end),
                    "format": "epoch_millis",
                }
            }
        },
        {"term": {agg.AGG_SCOPE: panel.aggregates}},
    ]
    if filters.services:
        clauses.append(service_filter(filters.services))
    leaves = _leaf_aggs(rollup_metrics(panel))
    aggs = leaves
    for depth in reversed(range(len(panel.splits))):
        split = split_agg(panel.splits[depth], time_range, interval, time_zone)
        if "terms" in split:
            # Ranked by events, as the events search ranks by documents.
            split["terms"]["order"] = [{EVENTS_SUM: "desc"}, {"_key": "asc"}]
        split["aggs"] = {**aggs, EVENTS_SUM: leaves[EVENTS_SUM]}
        aggs = {f"s{depth}": split}
    return {
        "index": names.index_pattern(prefix, names.AGGREGATES),
        "query": {"bool": {"filter": clauses}},
        "aggs": {**aggs, EVENTS_SUM: leaves[EVENTS_SUM]},
        "size": 0,
        "track_total_hits": False,
        "ignore_unavailable": True,
        "allow_no_indices": True,
    }


def _sum(bucket: dict[str, Any], name: str) -> float:
    return float((bucket.get(name) or {}).get("value") or 0.0)


def _rollup_values(panel: Panel, bucket: dict[str, Any], minutes: float) -> list[Any]:
    values: list[Any] = []
    metrics = rollup_metrics(panel)
    names = _sum_names(metrics)
    for metric in metrics:
        assert metric.rollup is not None
        total = sum(_sum(bucket, names[summed]) for summed in metric.rollup.fields)
        if metric.kind == "ratio":
            assert metric.rollup.over is not None
            over = _sum(bucket, names[metric.rollup.over])
            values.append(total / over if over else 0.0)
        elif metric.kind == "count":
            values.append(total / minutes if metric.per_minute else int(total))
        else:
            values.append(total)
    return values


def _walk(
    panel: Panel, aggs: dict[str, Any], depth: int, keys: tuple[Any, ...], minutes: float
) -> dict[tuple[Any, ...], list[Any]]:
    if depth == len(panel.splits):
        return {keys: _rollup_values(panel, aggs, minutes)}
    rows: dict[tuple[Any, ...], list[Any]] = {}
    for bucket in aggs.get(f"s{depth}", {}).get("buckets", []):
        key = bucket_key(panel.splits[depth], bucket)
        rows |= _walk(panel, bucket, depth + 1, (*keys, key), minutes)
    return rows


def rollup_rows(
    panel: Panel, response: dict[str, Any], interval: timedelta | None
) -> dict[tuple[Any, ...], list[Any]]:
    """The rollup metrics' values per split-key chain, in the answer's (ranked) order."""
    aggs = response.get("aggregations") or {}
    has_time = any(s.kind == "date_histogram" for s in panel.splits)
    minutes = interval.total_seconds() / 60 if (has_time and interval) else 1.0
    return _walk(panel, aggs, 0, (), minutes)


def top_keys(rows: dict[tuple[Any, ...], list[Any]]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(keys[-1] for keys in rows))


def _per_metric(panel: Panel, flat: list[Any]) -> list[list[Any]]:
    """A row's values cut into one list per metric (a percentiles metric has several)."""
    widths = [len(m.percents) if m.kind == "percentiles" else 1 for m in panel.metrics]
    cut, start = [], 0
    for width in widths:
        cut.append(flat[start : start + width])
        start += width
    return cut


def merged_rows(
    panel: Panel,
    rollup: dict[str, Any],
    events: PanelData | None,
    interval: timedelta | None,
) -> PanelData:
    """The panel's rows: rollup metrics from the aggregates' answer, the others from
    ``events`` (the events part's rows), in the panel's column order."""
    data = PanelData(panel.id, split_columns(panel) + metric_columns(panel))
    data.matched = int(_sum(rollup.get("aggregations") or {}, EVENTS_SUM))
    data.sampled = events.sampled if events is not None else None
    if any(s.kind == "date_histogram" for s in panel.splits) and interval is not None:
        data.interval_seconds = int(interval.total_seconds())
    if panel.splits and panel.splits[0].kind == "hour_weekday":
        data.rows = heatmap_rows(
            rollup.get("aggregations") or {}, lambda bucket: int(_sum(bucket, EVENTS_SUM))
        )
        return data
    part = events_part(panel)
    width = len(panel.splits)
    found: dict[tuple[Any, ...], list[list[Any]]] = {}
    if events is not None and part is not None:
        found = {tuple(row[:width]): _per_metric(part, row[width:]) for row in events.rows}
    missing: list[list[Any]] = [[] for _ in part.metrics] if part else []
    for keys, values in rollup_rows(panel, rollup, interval).items():
        from_rollup = iter(values)
        from_events = iter(found.get(keys, missing))
        row: list[Any] = list(keys)
        for metric in panel.metrics:
            if metric.rollup is not None:
                row.append(next(from_rollup))
            else:
                got = next(from_events)
                row += got or [None] * (len(metric.percents) if metric.kind == "percentiles" else 1)
        data.rows.append(row)
    return data
