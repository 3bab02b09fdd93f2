"""Panels read from the per-minute aggregates: the partials the real pipeline wrote for the corpus
(several per window, some without a service) sum to the same rows as the events, through every
filter, range and time zone, and host or status-class filters fall back to the events.

``test_panel_queries.py`` compares each panel, aggregates-backed by default, with ground truth.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import ground_truth as truth
import pytest
from dashboard_corpus import Corpus, Sent
from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan

from logiflow.contract import aggregates as agg
from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.dashboard.fetch import run_panel, run_panels
from logiflow.dashboard.panels import NO_SERVICE, PANELS, PANELS_BY_ID, Panel
from logiflow.dashboard.queries import NO_FILTERS, Filters, PanelData, TimeRange

MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
AGGREGATE_PANELS = [panel for panel in PANELS if panel.aggregates]
UNIQUE_VISITORS = PANELS_BY_ID["unique_visitors"]


def everything(corpus: Corpus) -> TimeRange:
    return TimeRange(corpus.start, dt.datetime.now(dt.UTC) + HOUR)


def both_ways(
    es: Elasticsearch,
    corpus: Corpus,
    panel: Panel,
    time_range: TimeRange,
    filters: Filters = NO_FILTERS,
    time_zone: str = "UTC",
    interval: dt.timedelta | None = None,
) -> tuple[PanelData, PanelData]:
    """The panel from the aggregates, and from the events alone."""
    return tuple(  # type: ignore[return-value]
        run_panel(
            es, panel, corpus.prefix, time_range, filters, time_zone, interval, aggregates=rolled
        )
        for rolled in (True, False)
    )


def assert_same_rows(rolled: PanelData, events: PanelData) -> None:
    assert rolled.columns == events.columns
    assert rolled.matched == events.matched
    assert len(rolled.rows) == len(events.rows)
    for got, want in zip(rolled.rows, events.rows, strict=True):
        assert got == pytest.approx(want), (got, want)


def test_the_pipeline_wrote_several_partials_per_window(
    es_client: Elasticsearch, dashboard_corpus: Corpus
) -> None:
    docs = [
        hit["_source"]
        for hit in scan(
            es_client, index=names.index_pattern(dashboard_corpus.prefix, names.AGGREGATES)
        )
    ]
    series = Counter(
        (d[ecs.TIMESTAMP], d[agg.AGG_SCOPE], d.get(ecs.SERVICE_NAME), d.get(ecs.ENDPOINT))
        for d in docs
    )
    assert sum(n > 1 for n in series.values()) >= 20, "windows with several partials"
    service_docs = [d for d in docs if d[agg.AGG_SCOPE] == agg.SCOPE_SERVICE]
    assert any(d.get(ecs.SERVICE_NAME) is None for d in service_docs), "partials with no service"
    assert sum(d[agg.AGG_EVENTS] for d in service_docs) == len(dashboard_corpus.events)


@pytest.mark.parametrize("panel", AGGREGATE_PANELS, ids=lambda p: p.id)
@pytest.mark.parametrize(
    ("interval", "zone"), [(MINUTE, "UTC"), (HOUR, "Asia/Kolkata"), (None, "America/Los_Angeles")]
)
def test_aggregates_give_the_rows_the_events_give(
    es_client: Elasticsearch,
    dashboard_corpus: Corpus,
    panel: Panel,
    interval: dt.timedelta | None,
    zone: str,
) -> None:
    rolled, events = both_ways(
        es_client, dashboard_corpus, panel, everything(dashboard_corpus), NO_FILTERS, zone, interval
    )
    assert rolled.rows, panel.id
    assert_same_rows(rolled, events)


@pytest.mark.parametrize("services", [("storefront",), (NO_SERVICE,), (NO_SERVICE, "storefront")])
def test_the_service_filter_works_on_the_aggregates(
    es_client: Elasticsearch, dashboard_corpus: Corpus, services: tuple[str, ...]
) -> None:
    filters = Filters(services=services)
    for panel in AGGREGATE_PANELS:
        rolled, events = both_ways(
            es_client, dashboard_corpus, panel, everything(dashboard_corpus), filters
        )
        assert_same_rows(rolled, events)
    data = run_panel(
        es_client,
        PANELS_BY_ID["requests_per_minute"],
        dashboard_corpus.prefix,
        everything(dashboard_corpus),
        filters,
        interval=MINUTE,
    )
    kept = truth.where(dashboard_corpus.events, lambda s: (s.service or NO_SERVICE) in services)
    got = {(row[0], row[1]): row[2] for row in data.rows if row[2]}
    expected = truth.counts_per_bucket_and_service(kept, MINUTE, NO_SERVICE)
    assert {(dt.datetime.fromisoformat(t), s): n for (t, s), n in got.items()} == expected


def test_host_and_status_filters_fall_back_to_the_events(
    es_client: Elasticsearch, dashboard_corpus: Corpus
) -> None:
    events = dashboard_corpus.events
    host = next(s.host for s in events if s.host)
    cases: list[tuple[Filters, list[Sent]]] = [
        (Filters(hosts=(host,)), truth.where(events, lambda s: s.host == host)),
        (
            Filters(status_classes=("5xx",)),
            truth.where(events, lambda s: 500 <= (s.fact.status or 0) < 600),
        ),
    ]
    for filters, kept in cases:
        found = run_panels(
            es_client, AGGREGATE_PANELS, dashboard_corpus.prefix, everything(dashboard_corpus),
            filters, interval=HOUR,
        )  # fmt: skip
        rates = found["requests_per_minute"]
        got = {(dt.datetime.fromisoformat(r[0]), r[1]): r[2] for r in rates.rows if r[2]}
        expected = truth.counts_per_bucket_and_service(kept, HOUR, NO_SERVICE)
        assert got == pytest.approx({key: n / 60 for key, n in expected.items()})
        assert found["unique_visitors"].rows[0][1:] == [
            sum(s.fact.body_bytes or 0 for s in kept),
            len(kept),
        ]
        heatmap = {(d, h): n for d, h, n in found["access_heatmap"].rows}
        assert heatmap == truth.heatmap(kept, "UTC")


def test_a_range_cut_mid_minute_reads_the_whole_minutes_it_touches(
    es_client: Elasticsearch, dashboard_corpus: Corpus
) -> None:
    events = dashboard_corpus.events
    # Cut inside minutes that hold events, so the edges matter.
    first, last = events[len(events) // 4].fact.timestamp, events[len(events) // 2].fact.timestamp
    cut = TimeRange(first + dt.timedelta(seconds=0.5), last - dt.timedelta(seconds=0.5))
    whole = TimeRange(truth.bucket(cut.start, MINUTE), truth.bucket(cut.end, MINUTE) + MINUTE)
    assert cut.whole_minutes() == whole
    kept = truth.where(events, lambda s: whole.start <= s.fact.timestamp < whole.end)
    assert len(kept) > len(truth.where(kept, lambda s: cut.start <= s.fact.timestamp < cut.end))
    for panel in AGGREGATE_PANELS:
        rolled, from_events = both_ways(es_client, dashboard_corpus, panel, cut)
        assert_same_rows(rolled, from_events)
        assert rolled.matched == len(kept), panel.id


def test_visitor_documents_hold_each_client_once_per_hour_and_service(
    es_client: Elasticsearch, dashboard_corpus: Corpus
) -> None:
    docs = [
        hit["_source"]
        for hit in scan(
            es_client,
            index=names.index_pattern(dashboard_corpus.prefix, names.AGGREGATES),
            query={"query": {"term": {agg.AGG_SCOPE: agg.SCOPE_VISITOR}}},
        )
    ]
    got = Counter(
        (dt.datetime.fromisoformat(d[ecs.TIMESTAMP]), d.get(ecs.SERVICE_NAME), d[ecs.CLIENT_IP])
        for d in docs
    )
    expected = {
        (truth.bucket(s.fact.timestamp, HOUR), s.service, s.fact.client_ip)
        for s in dashboard_corpus.events
    }
    assert set(got) == expected
    assert max(got.values()) == 1  # a set: every batch that saw the client rewrote one document


def test_unique_visitors_over_whole_hours_and_edges_match_the_events(
    es_client: Elasticsearch, dashboard_corpus: Corpus
) -> None:
    """Whole hours come from the visitor documents, the partial hours at both ends from the
    events: the count is the distinct clients of the range, with and without a service."""
    events = dashboard_corpus.events
    first, last = events[len(events) // 5].fact.timestamp, events[-len(events) // 5].fact.timestamp
    cut = TimeRange(first + dt.timedelta(seconds=0.5), last)
    whole = cut.whole_minutes()
    assert whole.start.minute or whole.end.minute, "the edges must cut hours"
    assert whole.end - whole.start > 3 * HOUR
    service = next(s.service for s in events if s.service)
    for filters, kept in [
        (NO_FILTERS, events),
        (Filters(services=(service,)), truth.where(events, lambda s: s.service == service)),
        (Filters(services=(NO_SERVICE,)), truth.where(events, lambda s: s.service is None)),
    ]:
        inside = truth.where(kept, lambda s: whole.start <= s.fact.timestamp < whole.end)
        rolled, from_events = both_ways(es_client, dashboard_corpus, UNIQUE_VISITORS, cut, filters)
        assert rolled.rows[0][0] == len({s.fact.client_ip for s in inside}), filters
        assert_same_rows(rolled, from_events)
