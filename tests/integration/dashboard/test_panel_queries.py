"""Every panel's query, run against real Elasticsearch after the real pipeline indexed a known
corpus, reproduces the ground truth computed in plain Python from the corpus (ground_truth.py).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import ground_truth as truth
import pytest
from dashboard_corpus import QUIET_PANELS, Corpus
from elasticsearch import Elasticsearch

from logiflow.contract import index_names as names
from logiflow.dashboard.fetch import data_coverage, run_panel
from logiflow.dashboard.panels import NO_SERVICE, PANELS, PANELS_BY_ID, UNKNOWN
from logiflow.dashboard.queries import NO_FILTERS, Filters, PanelData, TimeRange

MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


def run(
    es: Elasticsearch,
    corpus: Corpus,
    panel_id: str,
    interval: dt.timedelta | None = None,
    filters: Filters = NO_FILTERS,
    time_zone: str = "UTC",
) -> PanelData:
    # Dead letters and batch documents carry the time they were processed (now).
    everything = TimeRange(corpus.start, dt.datetime.now(dt.UTC) + HOUR)
    return run_panel(
        es, PANELS_BY_ID[panel_id], corpus.prefix, everything, filters, time_zone, interval
    )


def by_time(rows: list[list], keys: int = 1) -> dict:
    return {
        (dt.datetime.fromisoformat(row[0]), *row[1:keys]) if keys > 1 else
        dt.datetime.fromisoformat(row[0]): row[keys:]
        for row in rows
    }  # fmt: skip


def test_the_corpus_has_what_the_panels_need(dashboard_corpus: Corpus) -> None:
    events = dashboard_corpus.events
    assert len(events) > 1000
    assert any(s.service is None for s in events), "events without a service"
    assert len(dashboard_corpus.sent) > len(events), "garbage lines for dead letters"
    assert any(s.fact.duration_ns for s in events), "events with latency"


def test_requests_per_minute_per_service(
    es_client: Elasticsearch, dashboard_corpus: Corpus
) -> None:
    data = run(es_client, dashboard_corpus, "requests_per_minute", MINUTE)
    got = {key: value[0] for key, value in by_time(data.rows, 2).items() if value[0]}
    expected = truth.counts_per_bucket_and_service(dashboard_corpus.events, MINUTE, NO_SERVICE)
    assert got == expected
    assert any(service == NO_SERVICE for _, service in got), "unkeyed events counted visibly"


def test_requests_per_minute_is_a_rate_in_wider_buckets(
    es_client: Elasticsearch, dashboard_corpus: Corpus
) -> None:
    data = run(es_client, dashboard_corpus, "requests_per_minute", HOUR)
    assert data.interval_seconds == 3600
    got = {key: value[0] for key, value in by_time(data.rows, 2).items()}
    expected = truth.counts_per_bucket_and_service(dashboard_corpus.events, HOUR, NO_SERVICE)
    assert got == pytest.approx({key: count / 60 for key, count in expected.items()})


def test_error_rates_over_time(es_client: Elasticsearch, dashboard_corpus: Corpus) -> None:
    data = run(es_client, dashboard_corpus, "error_rate", HOUR)
    expected = truth.status_rates(dashboard_corpus.events, HOUR)
    got = by_time(data.rows)
    assert data.columns == ["@timestamp", "4xx rate", "5xx rate"]
    assert {k for k, v in got.items() if k in expected} == set(expected)
    for key, (rate_4xx, rate_5xx) in expected.items():
        assert got[key] == [pytest.approx(rate_4xx), pytest.approx(rate_5xx)], key
    assert all(v == [0.0, 0.0] for k, v in got.items() if k not in expected)


def test_unique_visitors_bytes_and_requests(
    es_client: Elasticsearch, dashboard_corpus: Corpus
) -> None:
    events = dashboard_corpus.events
    data = run(es_client, dashboard_corpus, "unique_visitors")
    assert data.rows == [
        [
            len({s.fact.client_ip for s in events}),
            sum(s.fact.body_bytes or 0 for s in events),
            len(events),
        ]
    ]


def test_bytes_served_over_time(es_client: Elasticsearch, dashboard_corpus: Corpus) -> None:
    data = run(es_client, dashboard_corpus, "bytes_served", HOUR)
    got = {k: v[0] for k, v in by_time(data.rows).items() if v[0]}
    assert got == truth.bytes_per_bucket(dashboard_corpus.events, HOUR)


def test_latency_percentiles(es_client: Elasticsearch, dashboard_corpus: Corpus) -> None:
    data = run(es_client, dashboard_corpus, "latency", dt.timedelta(days=7))
    latencies = sorted(s.fact.duration_ns for s in dashboard_corpus.events if s.fact.duration_ns)
    assert data.columns == ["@timestamp", "Latency p50", "Latency p95", "Latency p99"]
    [row] = [row for row in data.rows if row[1] is not None]
    for percent, value in zip((50, 95, 99), row[1:], strict=True):
        low, high = truth.percentile_bounds(latencies, percent)
        assert low <= value <= high, (percent, low, value, high)


def test_top_endpoints(es_client: Elasticsearch, dashboard_corpus: Corpus) -> None:
    data = run(es_client, dashboard_corpus, "top_endpoints")
    expected = truth.endpoints(dashboard_corpus.events, 10)
    assert [row[:2] for row in data.rows] == [[e, n] for e, n, _, _ in expected]
    for row, (_, _, error_rate, latencies) in zip(data.rows, expected, strict=True):
        assert row[2] == pytest.approx(error_rate)
        if latencies:
            low, high = truth.percentile_bounds(latencies, 95)
            assert low <= row[3] <= high
        else:
            assert row[3] is None


@pytest.mark.parametrize("panel_id", truth.DISTRIBUTION_PANELS)
def test_distributions(es_client: Elasticsearch, dashboard_corpus: Corpus, panel_id: str) -> None:
    data = run(es_client, dashboard_corpus, panel_id)
    size = PANELS_BY_ID[panel_id].splits[0].size
    want = truth.top(truth.distribution(panel_id, dashboard_corpus.events, UNKNOWN), size)
    assert [tuple(row) for row in data.rows] == want


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/Los_Angeles"])
def test_access_heatmap_in_a_time_zone(
    es_client: Elasticsearch, dashboard_corpus: Corpus, zone: str
) -> None:
    data = run(es_client, dashboard_corpus, "access_heatmap", time_zone=zone)
    assert data.columns == ["weekday", "hour", "Events"]
    assert {(d, h): n for d, h, n in data.rows} == truth.heatmap(dashboard_corpus.events, zone)


def test_dead_letters_by_reason(es_client: Elasticsearch, dashboard_corpus: Corpus) -> None:
    garbage = [s for s in dashboard_corpus.sent if not s.valid]
    data = run(es_client, dashboard_corpus, "dead_letters")
    letters = es_client.search(
        index=names.index_pattern(dashboard_corpus.prefix, names.DEAD_LETTER), size=1000
    )["hits"]["hits"]
    reasons = Counter(h["_source"]["error.message"] for h in letters)
    assert sum(reasons.values()) == len(garbage)
    assert [tuple(row) for row in data.rows] == truth.top(reasons, 10)


def test_pipeline_accounting(es_client: Elasticsearch, dashboard_corpus: Corpus) -> None:
    data = run(es_client, dashboard_corpus, "batches", MINUTE)
    sums = [sum(row[i] or 0 for row in data.rows) for i in range(1, 5)]
    sent = dashboard_corpus.sent
    assert sums == [
        len(sent),
        len(dashboard_corpus.events),
        0,
        len(sent) - len(dashboard_corpus.events),
    ]


def test_service_host_and_status_filters(
    es_client: Elasticsearch, dashboard_corpus: Corpus
) -> None:
    events = dashboard_corpus.events

    def requests(filters: Filters) -> int:
        return run(es_client, dashboard_corpus, "unique_visitors", filters=filters).rows[0][2]

    services = Counter(s.service or NO_SERVICE for s in events)
    for service, count in services.items():
        assert requests(Filters(services=(service,))) == count
    assert requests(Filters(services=(NO_SERVICE, "storefront"))) == (
        services[NO_SERVICE] + services["storefront"]
    )
    host = next(s.host for s in events if s.host)
    assert requests(Filters(hosts=(host,))) == sum(s.host == host for s in events)
    fives = sum(500 <= (s.fact.status or 0) < 600 for s in events)
    assert requests(Filters(status_classes=("5xx",))) == fives
    # Filters narrow event panels only: the pipeline's accounting is unaffected.
    data = run(es_client, dashboard_corpus, "batches", MINUTE, Filters(services=("nope",)))
    assert sum(row[1] or 0 for row in data.rows) == len(dashboard_corpus.sent)


def test_coverage_spans_the_events(es_client: Elasticsearch, dashboard_corpus: Corpus) -> None:
    covered = data_coverage(es_client, dashboard_corpus.prefix)
    assert covered is not None
    first = min(s.fact.timestamp for s in dashboard_corpus.events)
    assert covered.start == first.replace(microsecond=first.microsecond // 1000 * 1000)
    assert covered.end <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    assert data_coverage(es_client, "t-nothing-here") is None


def test_every_panel_answers(es_client: Elasticsearch, dashboard_corpus: Corpus) -> None:
    for panel in PANELS:
        rows = run(es_client, dashboard_corpus, panel.id).rows
        assert (not rows) if panel.id in QUIET_PANELS else rows, panel.id
