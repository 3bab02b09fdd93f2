"""Latency histograms: buckets, exact merging, and quantiles within the bucket error."""

from __future__ import annotations

import math
import random

import pytest

from logiflow.anomaly.latency_histogram import bucket_of, merged, quantile
from logiflow.contract.aggregates import LATENCY_BUCKETS_PER_DOUBLING


def test_buckets_double_every_k_steps() -> None:
    assert bucket_of(1.0) == 0
    assert bucket_of(2.0) == LATENCY_BUCKETS_PER_DOUBLING
    assert bucket_of(0.5) == -LATENCY_BUCKETS_PER_DOUBLING
    assert bucket_of(1.0999) == 1 and bucket_of(1.0) < bucket_of(1.1)
    assert bucket_of(0.0) == bucket_of(1e-6)  # nothing answers faster than a microsecond


def test_partials_merge_into_the_histogram_of_all_their_samples() -> None:
    rng = random.Random(4)
    samples = [rng.lognormvariate(math.log(0.05), 0.8) for _ in range(3000)]
    parts = [samples[:1000], samples[1000:1700], samples[1700:]]

    def histogram(values: list[float]) -> dict[str, float]:  # as JSON carries it
        found: dict[str, float] = {}
        for value in values:
            found[str(bucket_of(value))] = found.get(str(bucket_of(value)), 0.0) + 1
        return found

    whole = merged([histogram(samples)])
    assert merged(histogram(p) for p in parts) == whole
    assert sum(whole.values()) == len(samples)
    ordered = sorted(samples)
    for q in (0.5, 0.95, 0.99):
        exact = ordered[math.ceil(q * len(ordered)) - 1]
        estimate = quantile(whole, q)
        assert estimate == pytest.approx(exact, rel=2 ** (1 / LATENCY_BUCKETS_PER_DOUBLING) - 1)


def test_an_empty_histogram_has_no_quantile() -> None:
    assert quantile({}, 0.95) is None
