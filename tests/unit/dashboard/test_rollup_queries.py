"""Panels over the aggregates without a server: which panels read them, the search each builds,
and rows merged from the aggregates' and the events' answers."""

from __future__ import annotations

import datetime as dt

from logiflow.contract import aggregates as agg
from logiflow.contract import ecs
from logiflow.dashboard.panels import NO_SERVICE, PANELS, PANELS_BY_ID
from logiflow.dashboard.queries import Filters, PanelData, TimeRange
from logiflow.dashboard.rollup_queries import (
    events_part,
    merged_rows,
    needs_top_keys,
    reads_aggregates,
    rollup_search,
)

START = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
DAY = TimeRange(START, START + dt.timedelta(days=1))
HOUR = dt.timedelta(hours=1)


def test_rollup_metrics_sum_aggregate_fields_only() -> None:
    names = {v for k, v in vars(agg).items() if k.startswith("AGG_")}
    for panel in PANELS:
        for metric in panel.metrics:
            if metric.rollup is not None:
                assert panel.aggregates in (agg.SCOPE_SERVICE, agg.SCOPE_ENDPOINT), panel.id
                assert set(metric.rollup.fields) | {metric.rollup.over or agg.AGG_EVENTS} <= names


def test_host_and_status_filters_fall_back_to_the_events() -> None:
    panel = PANELS_BY_ID["requests_per_minute"]
    assert reads_aggregates(panel, Filters(services=("web", NO_SERVICE)))
    assert not reads_aggregates(panel, Filters(hosts=("h1",)))
    assert not reads_aggregates(panel, Filters(status_classes=("5xx",)))
    assert not reads_aggregates(PANELS_BY_ID["latency"], Filters())


def test_the_search_sums_partials_of_its_scope_ranked_by_events() -> None:
    search = rollup_search(
        PANELS_BY_ID["top_endpoints"], "lf", DAY, Filters(services=("web",)), "UTC", HOUR
    )
    assert search["index"] == "lf-aggregates-*"
    clauses = search["query"]["bool"]["filter"]
    assert {"term": {agg.AGG_SCOPE: agg.SCOPE_ENDPOINT}} in clauses
    assert {"terms": {ecs.SERVICE_NAME: ["web"]}} in clauses[2]["bool"]["should"]
    terms = search["aggs"]["s0"]
    assert terms["terms"]["field"] == ecs.ENDPOINT
    assert terms["terms"]["order"] == [{"n": "desc"}, {"_key": "asc"}]
    sums = {name: a["sum"]["field"] for name, a in terms["aggs"].items()}
    # One sum per field, however many metrics read it (the events: requests and the ratio).
    assert sums == {"n": agg.AGG_EVENTS, "f1": agg.AGG_STATUS_4XX, "f2": agg.AGG_STATUS_5XX}


def test_the_events_part_is_what_the_aggregates_lack() -> None:
    top = PANELS_BY_ID["top_endpoints"]
    assert needs_top_keys(top)
    part = events_part(top, ("/a", "/b"))
    assert part is not None and [m.kind for m in part.metrics] == ["percentiles"]
    assert part.fixed[-1].field == ecs.ENDPOINT and part.fixed[-1].values == ("/a", "/b")
    visitors = events_part(PANELS_BY_ID["unique_visitors"])
    assert visitors is not None and [m.kind for m in visitors.metrics] == ["cardinality"]
    assert not needs_top_keys(PANELS_BY_ID["unique_visitors"])
    assert events_part(PANELS_BY_ID["requests_per_minute"]) is None


def test_rows_merge_the_sums_with_the_events_numbers() -> None:
    panel = PANELS_BY_ID["top_endpoints"]
    answer = {
        "aggregations": {
            "n": {"value": 30.0},
            "s0": {
                "buckets": [
                    # n: events (requests and the error rate's denominator); f1, f2: 4xx, 5xx
                    {"key": "/a", "n": {"value": 20.0}, "f1": {"value": 3.0}, "f2": {"value": 1.0}},
                    {"key": "/b", "n": {"value": 10.0}, "f1": {"value": 0.0}, "f2": {"value": 0.0}},
                ]
            },
        }
    }  # fmt: skip
    events = PanelData("top_endpoints", ["logiflow.endpoint", "p95 latency"], [["/a", 1500.0]])
    data = merged_rows(panel, answer, events, None)
    assert data.matched == 30
    assert data.columns == ["logiflow.endpoint", "Requests", "Error rate", "p95 latency"]
    assert data.rows == [["/a", 20, 0.2, 1500.0], ["/b", 10, 0.0, None]]


def test_heatmap_rows_sum_the_partials_of_each_hour() -> None:
    answer = {
        "aggregations": {
            "n": {"value": 5.0},
            "s0": {
                "buckets": [
                    {"key_as_string": "2026-11-23T23:00:00+01:00", "n": {"value": 3.0}},
                    {"key_as_string": "2026-11-24T00:00:00+01:00", "n": {"value": 2.0}},
                ]
            },
        }
    }
    data = merged_rows(PANELS_BY_ID["access_heatmap"], answer, None, None)
    assert data.rows == [["Mon", 23, 3], ["Tue", 0, 2]]


def test_ranges_are_read_in_whole_minutes() -> None:
    cut = TimeRange(START + dt.timedelta(seconds=30), START + dt.timedelta(minutes=5, seconds=1))
    assert cut.whole_minutes() == TimeRange(START, START + dt.timedelta(minutes=6))
    assert DAY.whole_minutes() == DAY
