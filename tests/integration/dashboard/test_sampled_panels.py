"""Sampled event panels against real Elasticsearch: with the sample size forced down to a quarter
of the test corpus, the panels that sample say so and stay within a stated tolerance of the
ground truth; the panels that do not sample stay exact.

Tolerance: a sampled count of a category with ``n`` events is binomial, its scaled-up estimate
has standard deviation ``sqrt(n (1 - p) / p)``; a sampled percentile ``q`` over ``m`` sampled
values sits at a rank with standard deviation ``sqrt(q (1 - q) / m)``. Every figure must be within
4 standard deviations (the seed is fixed, so the test is deterministic; 4 sigma leaves room for
any seed).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter

import ground_truth as truth
import pytest
from dashboard_corpus import Corpus
from elasticsearch import Elasticsearch

from logiflow.dashboard.fetch import run_panel, run_panels
from logiflow.dashboard.panels import PANELS, PANELS_BY_ID, UNKNOWN
from logiflow.dashboard.queries import PanelData, TimeRange

SIGMAS = 4


def sample_size(corpus: Corpus) -> int:
    return len(corpus.events) // 4


def expected_probability(corpus: Corpus) -> float:
    return sample_size(corpus) / len(corpus.events)


def run(es: Elasticsearch, corpus: Corpus, panel_id: str, **how: object) -> PanelData:
    everything = TimeRange(corpus.start, dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    return run_panel(
        es,
        PANELS_BY_ID[panel_id],
        corpus.prefix,
        everything,
        interval=dt.timedelta(days=7),
        sample_size=sample_size(corpus),
        **how,
    )


def count_tolerance(count: int, probability: float) -> float:
    return SIGMAS * math.sqrt(count * (1 - probability) / probability) + 1


def percentile_range(values: list[int], percent: float, probability: float) -> tuple[float, float]:
    """The values between the percentiles ``SIGMAS`` rank deviations either side of ``percent``."""
    q = percent / 100
    sampled = max(probability * len(values), 1)
    spread = SIGMAS * math.sqrt(q * (1 - q) / sampled) + 1 / sampled
    low, _ = truth.percentile_bounds(values, max(q - spread, 0) * 100)
    _, high = truth.percentile_bounds(values, min(q + spread, 1) * 100)
    return low, high


def test_latency_is_sampled_and_close(es_client: Elasticsearch, dashboard_corpus: Corpus) -> None:
    data = run(es_client, dashboard_corpus, "latency")
    probability = expected_probability(dashboard_corpus)
    assert data.sampled == pytest.approx(probability)
    assert data.matched == len(dashboard_corpus.events), "the count in range stays exact"
    latencies = sorted(s.fact.duration_ns for s in dashboard_corpus.events if s.fact.duration_ns)
    [row] = [row for row in data.rows if row[1] is not None]
    for percent, value in zip((50, 95, 99), row[1:], strict=True):
        low, high = percentile_range(latencies, percent, probability)
        assert low <= value <= high, (percent, low, value, high)


def test_top_endpoints_rank_exactly_and_sample_only_the_p95(
    es_client: Elasticsearch, dashboard_corpus: Corpus
) -> None:
    data = run(es_client, dashboard_corpus, "top_endpoints")
    probability = expected_probability(dashboard_corpus)
    assert data.sampled == pytest.approx(probability)
    expected = truth.endpoints(dashboard_corpus.events, 10)
    # Ranking, counts and error rates come from the aggregates: exact.
    assert [row[:2] for row in data.rows] == [[e, n] for e, n, _, _ in expected]
    for row, (_, _, error_rate, latencies) in zip(data.rows, expected, strict=True):
        assert row[2] == pytest.approx(error_rate)
        if row[3] is None:
            # No event of the endpoint with a latency was drawn: likely only for a handful.
            assert len(latencies) * probability < SIGMAS
            continue
        low, high = percentile_range(sorted(latencies), 95, probability)
        assert low <= row[3] <= high


@pytest.mark.parametrize("panel_id", truth.DISTRIBUTION_PANELS)
def test_distributions_are_sampled_counts_scaled_up(
    es_client: Elasticsearch, dashboard_corpus: Corpus, panel_id: str
) -> None:
    data = run(es_client, dashboard_corpus, panel_id)
    probability = expected_probability(dashboard_corpus)
    assert data.sampled == pytest.approx(probability)
    counts: Counter = truth.distribution(panel_id, dashboard_corpus.events, UNKNOWN)
    assert data.rows, "a sample of a quarter of the events has some"
    for key, estimate in data.rows:
        assert key in counts
        assert abs(estimate - counts[key]) <= count_tolerance(counts[key], probability), (
            key,
            estimate,
            counts[key],
        )
    # The biggest category is never lost to sampling.
    assert data.rows[0][0] == counts.most_common(1)[0][0]


def test_events_only_top_endpoints_are_sampled_estimates(
    es_client: Elasticsearch, dashboard_corpus: Corpus
) -> None:
    """With a host filter (or aggregates off) the whole panel reads sampled events."""
    data = run(es_client, dashboard_corpus, "top_endpoints", aggregates=False)
    probability = expected_probability(dashboard_corpus)
    assert data.sampled == pytest.approx(probability)
    expected = {e: (n, rate) for e, n, rate, _ in truth.endpoints(dashboard_corpus.events, 50)}
    for endpoint, count, error_rate, _ in data.rows:
        true_count, true_rate = expected[endpoint]
        assert abs(count - true_count) <= count_tolerance(true_count, probability)
        errors = true_rate * true_count
        sampled_errors = SIGMAS * math.sqrt(errors * (1 - probability) / probability) + 1
        assert abs(error_rate * count - errors) <= sampled_errors + count_tolerance(
            true_count, probability
        )


def test_the_other_panels_stay_exact(es_client: Elasticsearch, dashboard_corpus: Corpus) -> None:
    everything = TimeRange(dashboard_corpus.start, dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    low = run_panels(
        es_client,
        PANELS,
        dashboard_corpus.prefix,
        everything,
        sample_size=sample_size(dashboard_corpus),
    )
    exact = run_panels(es_client, PANELS, dashboard_corpus.prefix, everything, sample_size=None)
    for panel in PANELS:
        assert exact[panel.id].sampled is None
        if panel.samples:
            assert low[panel.id].sampled is not None, panel.id
        else:
            assert low[panel.id].sampled is None, panel.id
            assert low[panel.id].rows == exact[panel.id].rows, panel.id
