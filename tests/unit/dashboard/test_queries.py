"""Panel queries without a server: the request each panel builds, and rows from answers."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from logiflow.config import DashboardSettings, load_config
from logiflow.contract import ecs
from logiflow.dashboard.panels import NO_SERVICE, PANELS, PANELS_BY_ID
from logiflow.dashboard.queries import (
    MAX_TIME_BUCKETS,
    Filters,
    TimeRange,
    auto_interval,
    panel_rows,
    panel_search,
)
from logiflow.errors import ConfigError

START = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
DAY = TimeRange(START, START + dt.timedelta(days=1))


def test_every_panel_field_is_a_contract_name() -> None:
    from logiflow.contract import anomalies, derived_fields, index_names

    known = ecs.event_fields() | {
        value
        for module in (anomalies, derived_fields, index_names)
        for value in vars(module).values()
        if isinstance(value, str)
    }
    for panel in PANELS:
        for split in panel.splits:
            assert split.field in known, (panel.id, split.field)
        for metric in panel.metrics:
            assert metric.field is None or metric.field in known, (panel.id, metric.field)


def test_requests_per_minute_counts_events_without_a_service() -> None:
    search = panel_search(PANELS_BY_ID["requests_per_minute"], "lf", DAY, time_zone="Europe/Paris")
    assert search["index"] == "lf-events-*"
    histogram = search["aggs"]["s0"]["date_histogram"]
    assert histogram["time_zone"] == "Europe/Paris"
    assert histogram["fixed_interval"] == "900s"
    terms = search["aggs"]["s0"]["aggs"]["s1"]["terms"]
    assert terms["field"] == ecs.SERVICE_NAME and terms["missing"] == NO_SERVICE


def test_filters_apply_to_events_only_and_none_means_missing() -> None:
    filters = Filters(services=(NO_SERVICE, "web"), hosts=("h1",), status_classes=("5xx",))
    events = panel_search(PANELS_BY_ID["browsers"], "lf", DAY, filters)["query"]["bool"]["filter"]
    service = events[1]["bool"]["should"]
    assert {"terms": {ecs.SERVICE_NAME: ["web"]}} in service
    assert {"bool": {"must_not": {"exists": {"field": ecs.SERVICE_NAME}}}} in service
    assert {"terms": {ecs.HOST_NAME: ["h1"]}} in events
    batches = panel_search(PANELS_BY_ID["batches"], "lf", DAY, filters)["query"]["bool"]["filter"]
    assert len(batches) == 2  # the time range and the events-query accounting only


@pytest.mark.parametrize("hours", [0.25, 1, 24, 24 * 30, 24 * 365])
def test_auto_interval_keeps_charts_readable(hours: float) -> None:
    span = TimeRange(START, START + dt.timedelta(hours=hours))
    interval = auto_interval(span)
    assert (span.end - span.start) / interval <= MAX_TIME_BUCKETS or interval.days == 7


def test_bad_time_ranges_are_refused() -> None:
    with pytest.raises(ValueError, match="after its start"):
        TimeRange(START, START)
    with pytest.raises(ValueError, match="time zone"):
        TimeRange(START.replace(tzinfo=None), START)


def test_rows_from_an_answer_without_indices_are_empty() -> None:
    empty = {"hits": {"total": {"value": 0}}}
    for panel in PANELS:
        data = panel_rows(panel, empty, dt.timedelta(minutes=1))
        assert data.matched == 0
        assert data.rows == ([[None, None, 0]] if panel.id == "unique_visitors" else [])


def test_heatmap_folds_hours_in_local_time() -> None:
    answer = {
        "hits": {"total": {"value": 5}},
        "aggregations": {
            "s0": {
                "buckets": [
                    {"key_as_string": "2026-11-23T23:00:00+01:00", "doc_count": 2},  # Mon
                    {"key_as_string": "2026-11-30T23:00:00+01:00", "doc_count": 1},  # Mon
                    {"key_as_string": "2026-11-24T00:00:00+01:00", "doc_count": 2},  # Tue
                ]
            }
        },
    }
    data = panel_rows(PANELS_BY_ID["access_heatmap"], answer)
    assert data.rows == [["Mon", 23, 3], ["Tue", 0, 2]]


def test_dashboard_settings_are_validated() -> None:
    assert DashboardSettings().port == 5601 and DashboardSettings().refresh_seconds == 5
    with pytest.raises(ValidationError, match="IANA"):
        DashboardSettings(time_zone="Mars/Olympus")
    with pytest.raises(ConfigError, match=r"dashboard\.port"):
        load_config(overrides={"dashboard": {"port": 70000}})


def test_the_dashboard_does_not_import_spark() -> None:
    import subprocess
    import sys

    code = (
        "import sys, logiflow.dashboard.server, logiflow.dashboard.kibana; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pyspark'))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"
