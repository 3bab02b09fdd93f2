"""When the event panels sample and how their searches and answers carry it (sampling.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from logiflow.dashboard.panels import PANELS, PANELS_BY_ID
from logiflow.dashboard.queries import TimeRange, panel_rows, panel_search
from logiflow.dashboard.sampling import (
    SAMPLE_AGG,
    SAMPLE_SEED,
    sample_probability,
    sampled_aggs,
    unwrap_sample,
)

DAY = TimeRange(dt.datetime(2026, 11, 23, tzinfo=dt.UTC), dt.datetime(2026, 11, 24, tzinfo=dt.UTC))


@pytest.mark.parametrize(
    ("events", "sample_size", "expected"),
    [
        (0, 1000, 1.0),
        (1000, 1000, 1.0),
        (1001, 1000, 0.5),  # Elasticsearch takes (0, 0.5] or exactly 1
        (1999, 1000, 0.5),
        (2000, 1000, 0.5),
        (10_000, 1000, 0.1),
        (17_280_000, 300_000, 300_000 / 17_280_000),
        (10**9, None, 1.0),
    ],
)
def test_probability_is_one_below_the_sample_size_and_never_between_half_and_one(
    events: int, sample_size: int | None, expected: float
) -> None:
    probability = sample_probability(events, sample_size)
    assert probability == pytest.approx(expected)
    assert probability == 1.0 or 0 < probability <= 0.5


def test_the_panels_that_sample_are_the_event_heavy_ones() -> None:
    assert {p.id for p in PANELS if p.samples} == {
        "latency",
        "top_endpoints",
        "browsers",
        "operating_systems",
        "device_types",
        "countries",
    }


def test_a_sampled_search_wraps_the_aggregations_with_a_fixed_seed() -> None:
    panel = PANELS_BY_ID["latency"]
    exact = panel_search(panel, "p", DAY)
    sampled = panel_search(panel, "p", DAY, probability=0.1)
    assert sampled["query"] == exact["query"]
    assert sampled["aggs"] == {
        SAMPLE_AGG: {
            "random_sampler": {"probability": 0.1, "seed": SAMPLE_SEED},
            "aggs": exact["aggs"],
        }
    }
    assert sampled_aggs(exact["aggs"], 1.0) is exact["aggs"]


def test_sampled_rows_say_at_which_probability() -> None:
    panel = PANELS_BY_ID["browsers"]
    buckets = {"buckets": [{"key": "Firefox", "doc_count": 120}]}
    sampled = {
        "hits": {"total": {"value": 1000}},
        "aggregations": {
            SAMPLE_AGG: {"seed": SAMPLE_SEED, "probability": 0.25, "doc_count": 30, "s0": buckets}
        },
    }
    data = panel_rows(panel, sampled)
    assert data.sampled == 0.25
    assert data.rows == [["Firefox", 120]]
    assert data.as_json()["sampled"] == 0.25
    exact = panel_rows(panel, {"hits": {"total": {"value": 120}}, "aggregations": {"s0": buckets}})
    assert exact.sampled is None
    assert exact.rows == data.rows


def test_unwrap_leaves_unsampled_aggregations_alone() -> None:
    aggs = {"s0": {"buckets": []}}
    assert unwrap_sample(aggs) == (aggs, None)
