"""Distinct counts from the hourly documents: which hours they cover and the search they build."""

from __future__ import annotations

import datetime as dt

from logiflow.contract import aggregates as agg
from logiflow.contract import ecs
from logiflow.dashboard.hourly_distinct import hourly_distinct_search, hourly_scope, whole_hours
from logiflow.dashboard.panels import PANELS, PANELS_BY_ID, Panel
from logiflow.dashboard.queries import Filters, TimeRange
from logiflow.dashboard.rollup_queries import events_part

T0 = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def visitors_part() -> Panel:
    """The unique-visitors panel's events part, as fetch.py asks for it."""
    part = events_part(PANELS_BY_ID["unique_visitors"])
    assert part is not None
    return part


def test_whole_hours_inside_a_range() -> None:
    assert whole_hours(TimeRange(at(0), at(5))) == TimeRange(at(0), at(5))
    assert whole_hours(TimeRange(at(0.25), at(4.5))) == TimeRange(at(1), at(4))
    assert whole_hours(TimeRange(at(0.25), at(1.75))) is None  # no whole hour
    # Bounds in another zone are the same instants: hours are UTC hours.
    plus_half = dt.timezone(dt.timedelta(hours=5, minutes=30))
    local = TimeRange(at(0.5).astimezone(plus_half), at(3).astimezone(plus_half))
    assert whole_hours(local) == TimeRange(at(1), at(3))


def test_only_the_visitors_count_has_hourly_documents() -> None:
    assert hourly_scope(visitors_part()) == agg.SCOPE_VISITOR
    others = [p.id for p in PANELS if hourly_scope(p) is not None]
    assert others == []  # the whole panel mixes in sums; only its events part qualifies


def test_the_search_reads_whole_hours_from_the_aggregates_and_edges_from_events() -> None:
    search = hourly_distinct_search(
        visitors_part(), "lf", TimeRange(at(0.25), at(4.5)), Filters(services=("web",))
    )
    assert search is not None
    assert search["index"] == "lf-events-*,lf-aggregates-*"
    either, service = search["query"]["bool"]["filter"]
    hours, before, after = either["bool"]["should"]
    assert {"prefix": {"_index": "lf-aggregates-"}} in hours["bool"]["filter"]
    assert {"term": {agg.AGG_SCOPE: agg.SCOPE_VISITOR}} in hours["bool"]["filter"]

    def bounds(part: dict) -> tuple[int, int]:
        found = next(c["range"][ecs.TIMESTAMP] for c in part["bool"]["filter"] if "range" in c)
        return found["gte"], found["lt"]

    def ms(hours: float) -> int:
        return int(at(hours).timestamp() * 1000)

    assert bounds(hours) == (ms(1), ms(4))
    assert bounds(before) == (ms(0.25), ms(1))
    assert bounds(after) == (ms(4), ms(4.5))
    assert {"prefix": {"_index": "lf-events-"}} in before["bool"]["filter"]
    assert {"terms": {ecs.SERVICE_NAME: ["web"]}} in service["bool"]["should"]
    assert search["aggs"]["m0"]["cardinality"]["field"] == ecs.CLIENT_IP


def test_ranges_and_filters_the_hourly_documents_cannot_answer() -> None:
    part = visitors_part()
    short = TimeRange(at(0.25), at(1.5))
    assert hourly_distinct_search(part, "lf", short, Filters()) is None
    day = TimeRange(at(0), at(24))
    assert hourly_distinct_search(part, "lf", day, Filters(hosts=("h1",))) is None
    assert hourly_distinct_search(part, "lf", day, Filters(status_classes=("5xx",))) is None
    aligned = hourly_distinct_search(part, "lf", day, Filters())
    assert aligned is not None
    assert len(aligned["query"]["bool"]["filter"][0]["bool"]["should"]) == 1  # no edges
