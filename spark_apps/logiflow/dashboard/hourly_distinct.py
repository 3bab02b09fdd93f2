"""A distinct count over a long range: whole hours from the hourly documents, edges from events.

A metric with ``Metric.hourly_scope`` (unique visitors) has, in the aggregates index, one
document per hour, service and distinct value under that scope (``etl/visitor_hours.py``). For
a range that holds whole hours, one search reads both kinds at once: the hourly documents of
the whole hours inside the range, and the events of the partial hours at its start and end.
The ``cardinality`` aggregation over the shared field then counts each value once whichever
kind of document it came from, so the number is the events search's own, from a few thousand
documents an hour instead of every event.

Only panels without splits (one number for the range) and only the service filter: a time split
finer than an hour, a host or a status class is not in the hourly documents, and those panels
read the events (``reads_aggregates`` sends host and status-class filters there already).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from logiflow.contract import aggregates as agg
from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.dashboard.panels import Panel
from logiflow.dashboard.queries import (
    Filters,
    TimeRange,
    epoch_ms,
    panel_aggs,
    service_filter,
)

_HOUR = timedelta(hours=1)


def whole_hours(time_range: TimeRange) -> TimeRange | None:
    """The whole hours (UTC) inside the range; None when it holds none."""
    start = time_range.start.astimezone(UTC)
    first = start.replace(minute=0, second=0, microsecond=0)
    if first < start:
        first += _HOUR
    last = time_range.end.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return TimeRange(first, last) if first < last else None


def hourly_scope(panel: Panel) -> str | None:
    """The scope of the hourly documents that can answer every metric of ``panel``, if any."""
    scopes = {metric.hourly_scope for metric in panel.metrics}
    if panel.splits or len(scopes) != 1:
        return None
    return scopes.pop()


def _between(start: datetime, end: datetime) -> dict[str, Any]:
    return {
        "range": {
            ecs.TIMESTAMP: {"gte": epoch_ms(start), "lt": epoch_ms(end), "format": "epoch_millis"}
        }
    }


def _kind(prefix: str, kind: names.Kind) -> dict[str, Any]:
    return {"prefix": {"_index": f"{names.index_stem(prefix, kind)}-"}}


def hourly_distinct_search(
    panel: Panel, prefix: str, time_range: TimeRange, filters: Filters
) -> dict[str, Any] | None:
    """Keyword arguments for ``Elasticsearch.search`` answering ``panel`` from the hourly
    documents and the edge events; None when the panel or the range cannot use them."""
    scope = hourly_scope(panel)
    hours = whole_hours(time_range)
    if scope is None or hours is None or filters.hosts or filters.status_classes:
        return None
    parts: list[dict[str, Any]] = [
        {
            "bool": {
                "filter": [
                    _kind(prefix, names.AGGREGATES),
                    {"term": {agg.AGG_SCOPE: scope}},
                    _between(hours.start, hours.end),
                ]
            }
        }
    ]
    for start, end in ((time_range.start, hours.start), (hours.end, time_range.end)):
        if start < end:
            parts.append({"bool": {"filter": [_kind(prefix, names.EVENTS), _between(start, end)]}})
    clauses: list[dict[str, Any]] = [{"bool": {"should": parts, "minimum_should_match": 1}}]
    if filters.services:
        clauses.append(service_filter(filters.services))
    indices = (names.index_pattern(prefix, kind) for kind in (names.EVENTS, names.AGGREGATES))
    return {
        "index": ",".join(indices),
        "query": {"bool": {"filter": clauses}},
        # No splits: the time zone and interval do not matter.
        "aggs": panel_aggs(panel, time_range, _HOUR, "UTC"),
        "size": 0,
        # Its total mixes hourly documents and events: the panel's count comes from the
        # aggregates (``merged_rows``), never from here. (Counting costs nothing more: the
        # aggregation visits every match anyway.)
        "track_total_hits": True,
        "ignore_unavailable": True,
        "allow_no_indices": True,
    }
