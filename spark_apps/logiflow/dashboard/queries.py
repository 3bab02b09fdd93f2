"""Each panel's Elasticsearch search, and its answer turned into rows.

``panel_search`` builds the request from the panel model (``panels.py``); ``panel_rows`` reads
the response into a ``PanelData``: one row per bucket (or bucket chain), the split keys first,
then one value per metric (a percentiles metric gives one value per percent). The local
dashboard sends these rows to the page; the integration tests compare them with ground truth.

Only aggregations of Elasticsearch's server core are used (no scripts, no pipeline aggs): the
minimal local node has no scripting module. Ratios are therefore divided here, and the heatmap's
(weekday, hour) cells are folded from an hourly date histogram in the requested time zone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.dashboard.panels import NO_SERVICE, Metric, Panel, Split
from logiflow.dashboard.sampling import sampled_aggs, unwrap_sample

# Bucket widths the time splits choose from, narrowest first, so a chart has at most
# MAX_TIME_BUCKETS bars however long the range.
INTERVALS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=12),
    timedelta(days=1),
    timedelta(days=7),
)
MAX_TIME_BUCKETS = 180
# HyperLogLog is exact below this many distinct values (Elasticsearch's maximum).
CARDINALITY_PRECISION = 40_000
_MINUTE_MS = 60_000
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class TimeRange:
    """``[start, end)``, both timezone-aware."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("time range bounds must carry a time zone")
        if self.end <= self.start:
            raise ValueError("the end of the time range must be after its start")

    def whole_minutes(self) -> TimeRange:
        """The minutes this range touches: start floored, end ceiled to a whole minute.

        The aggregates count whole one-minute windows, and the finest chart bucket is a minute:
        every panel of a refresh reads this range, so aggregate and event panels agree.
        """
        start_ms, end_ms = epoch_ms(self.start), epoch_ms(self.end)
        start_ms -= start_ms % _MINUTE_MS
        end_ms += -end_ms % _MINUTE_MS
        return TimeRange(
            datetime.fromtimestamp(start_ms / 1000, UTC), datetime.fromtimestamp(end_ms / 1000, UTC)
        )


@dataclass(frozen=True)
class Filters:
    """What the user narrowed events to; empty tuples mean "all"."""

    services: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    status_classes: tuple[str, ...] = ()


NO_FILTERS = Filters()


@dataclass
class PanelData:
    panel: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    interval_seconds: int | None = None
    matched: int = 0  # documents in the time range that passed the filters
    # The probability at which the events were sampled (``sampling.py``); None: every event.
    sampled: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "panel": self.panel,
            "matched": self.matched,
            "sampled": self.sampled,
            "columns": self.columns,
            "rows": self.rows,
            "interval_seconds": self.interval_seconds,
        }


def auto_interval(time_range: TimeRange) -> timedelta:
    """The narrowest bucket width that keeps a time split under MAX_TIME_BUCKETS buckets."""
    span = time_range.end - time_range.start
    for interval in INTERVALS:
        if span / interval <= MAX_TIME_BUCKETS:
            return interval
    return INTERVALS[-1]


def epoch_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _terms(field_name: str, values: tuple[Any, ...]) -> dict[str, Any]:
    return {"terms": {field_name: list(values)}}


def service_filter(services: tuple[str, ...]) -> dict[str, Any]:
    """Named services, and NO_SERVICE for events whose ``service.name`` is missing."""
    named = tuple(s for s in services if s != NO_SERVICE)
    should: list[dict[str, Any]] = []
    if named:
        should.append(_terms(ecs.SERVICE_NAME, named))
    if NO_SERVICE in services:
        should.append({"bool": {"must_not": {"exists": {"field": ecs.SERVICE_NAME}}}})
    return {"bool": {"should": should, "minimum_should_match": 1}}


def panel_query(panel: Panel, time_range: TimeRange, filters: Filters) -> dict[str, Any]:
    clauses: list[dict[str, Any]] = [
        {
            "range": {
                panel.time_field: {
                    "gte": epoch_ms(time_range.start),
                    "lt": epoch_ms(time_range.end),
                    "format": "epoch_millis",
                }
            }
        }
    ]
    clauses += [_terms(c.field, c.values) for c in panel.fixed]
    if panel.filterable:
        if filters.services:
            clauses.append(service_filter(filters.services))
        if filters.hosts:
            clauses.append(_terms(ecs.HOST_NAME, filters.hosts))
        if filters.status_classes:
            clauses.append(_terms(ecs.STATUS_CLASS, filters.status_classes))
    return {"bool": {"filter": clauses}}


def _metric_aggs(metrics: tuple[Metric, ...]) -> dict[str, Any]:
    aggs: dict[str, Any] = {}
    for i, metric in enumerate(metrics):
        name = f"m{i}"
        if metric.kind == "cardinality":
            aggs[name] = {
                "cardinality": {"field": metric.field, "precision_threshold": CARDINALITY_PRECISION}
            }
        elif metric.kind == "sum":
            aggs[name] = {"sum": {"field": metric.field}}
        elif metric.kind == "percentiles":
            aggs[name] = {"percentiles": {"field": metric.field, "percents": list(metric.percents)}}
        elif metric.kind == "ratio":
            assert metric.numerator is not None
            aggs[name] = {"filter": _terms(metric.numerator.field, metric.numerator.values)}
    return aggs


def split_agg(
    split: Split, time_range: TimeRange, interval: timedelta, time_zone: str
) -> dict[str, Any]:
    if split.kind == "date_histogram":
        return {
            "date_histogram": {
                "field": split.field,
                "fixed_interval": f"{int(interval.total_seconds())}s",
                "time_zone": time_zone,
                "min_doc_count": 0,
                "extended_bounds": {
                    "min": epoch_ms(time_range.start),
                    "max": epoch_ms(time_range.end) - 1,
                },
            }
        }
    if split.kind == "hour_weekday":
        return {
            "date_histogram": {
                "field": split.field,
                "calendar_interval": "1h",
                "time_zone": time_zone,
                "min_doc_count": 1,
                "format": "yyyy-MM-dd'T'HH:mm:ssXXX",
            }
        }
    terms: dict[str, Any] = {
        "field": split.field,
        "size": split.size,
        "order": [{"_count": "desc"}, {"_key": "asc"}],
    }
    if split.missing is not None:
        terms["missing"] = split.missing
    return {"terms": terms}


def panel_aggs(
    panel: Panel, time_range: TimeRange, interval: timedelta, time_zone: str
) -> dict[str, Any]:
    """The aggregation tree: splits nested outer to inner, the metrics at the leaves."""
    aggs = _metric_aggs(panel.metrics)
    for depth in reversed(range(len(panel.splits))):
        agg = split_agg(panel.splits[depth], time_range, interval, time_zone)
        if aggs:
            agg["aggs"] = aggs
        aggs = {f"s{depth}": agg}
    return aggs


def panel_search(
    panel: Panel,
    prefix: str,
    time_range: TimeRange,
    filters: Filters = NO_FILTERS,
    time_zone: str = "UTC",
    interval: timedelta | None = None,
    probability: float = 1.0,
) -> dict[str, Any]:
    """Keyword arguments for ``Elasticsearch.search`` (index, query, aggs, size ...).

    Below ``probability`` 1 the aggregations read a random sample of the events (``sampling.py``).
    """
    interval = interval or auto_interval(time_range)
    aggs = panel_aggs(panel, time_range, interval, time_zone)
    return {
        "index": names.index_pattern(prefix, panel.index),
        "query": panel_query(panel, time_range, filters),
        "aggs": sampled_aggs(aggs, probability),
        "size": 0,
        "track_total_hits": True,
        # A kind of index that does not exist yet is empty, not an error.
        "ignore_unavailable": True,
        "allow_no_indices": True,
    }


def metric_columns(panel: Panel) -> list[str]:
    columns: list[str] = []
    for metric in panel.metrics:
        if metric.kind == "percentiles" and len(metric.percents) > 1:
            columns += [f"{metric.label} p{_percent_label(p)}" for p in metric.percents]
        else:
            columns.append(metric.label)
    return columns


def _percent_label(percent: float) -> str:
    return f"{percent:g}"


def split_columns(panel: Panel) -> list[str]:
    columns: list[str] = []
    for split in panel.splits:
        columns += ["weekday", "hour"] if split.kind == "hour_weekday" else [split.field]
    return columns


def _metric_values(panel: Panel, bucket: dict[str, Any], minutes: float) -> list[Any]:
    values: list[Any] = []
    total = bucket["doc_count"]
    for i, metric in enumerate(panel.metrics):
        agg = bucket.get(f"m{i}", {})
        if metric.kind == "count":
            values.append(total / minutes if metric.per_minute else total)
        elif metric.kind == "ratio":
            values.append(agg.get("doc_count", 0) / total if total else 0.0)
        elif metric.kind == "percentiles":
            found = agg.get("values", {})
            values += [_percentile(found, p) for p in metric.percents]
        else:
            value = agg.get("value")
            values.append(
                int(value) if metric.kind == "cardinality" and value is not None else value
            )
    return values


def _percentile(found: dict[str, Any], percent: float) -> float | None:
    for key, value in found.items():
        if float(key) == float(percent):
            return value
    return None


def bucket_key(split: Split, bucket: dict[str, Any]) -> Any:
    if split.kind == "date_histogram":
        return bucket["key_as_string"]
    return bucket["key"]


def _doc_count(bucket: dict[str, Any]) -> int:
    return int(bucket["doc_count"])


def _walk(
    panel: Panel, aggs: dict[str, Any], depth: int, keys: list[Any], minutes: float
) -> list[list[Any]]:
    if depth == len(panel.splits):
        return [[*keys, *_metric_values(panel, aggs, minutes)]]
    rows: list[list[Any]] = []
    # No index of the kind yet: Elasticsearch answers without aggregations at all.
    for bucket in aggs.get(f"s{depth}", {}).get("buckets", []):
        key = bucket_key(panel.splits[depth], bucket)
        rows += _walk(panel, bucket, depth + 1, [*keys, key], minutes)
    return rows


def heatmap_rows(
    aggs: dict[str, Any], count: Callable[[dict[str, Any]], int] = _doc_count
) -> list[list[Any]]:
    """Hourly buckets (local time) folded into (weekday, hour) cells, in week order."""
    cells: dict[tuple[int, int], int] = defaultdict(int)
    for bucket in aggs.get("s0", {}).get("buckets", []):
        local = datetime.fromisoformat(bucket["key_as_string"])
        cells[(local.weekday(), local.hour)] += count(bucket)
    return [[WEEKDAYS[day], hour, count] for (day, hour), count in sorted(cells.items())]


def panel_rows(
    panel: Panel, response: dict[str, Any], interval: timedelta | None = None
) -> PanelData:
    """The response of ``panel_search`` as rows (see the module docstring)."""
    aggs, sampled = unwrap_sample(response.get("aggregations") or {})
    data = PanelData(panel.id, split_columns(panel) + metric_columns(panel), sampled=sampled)
    data.matched = response["hits"]["total"]["value"]
    has_time = any(s.kind == "date_histogram" for s in panel.splits)
    if has_time and interval is not None:
        data.interval_seconds = int(interval.total_seconds())
    if panel.splits and panel.splits[0].kind == "hour_weekday":
        data.rows = heatmap_rows(aggs)
        return data
    minutes = interval.total_seconds() / 60 if (has_time and interval) else 1.0
    root = {**aggs, "doc_count": data.matched}
    data.rows = _walk(panel, root, 0, [], minutes)
    return data
