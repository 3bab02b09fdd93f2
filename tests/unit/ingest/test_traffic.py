"""Pacing and error-burst parsing of the traffic sender (no Kafka involved)."""

from __future__ import annotations

import pytest

from logiflow.ingest.traffic import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_starts_empty_and_grants_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=100, clock=clock)
    assert bucket.take(1000) == 0
    assert bucket.wait_time() == pytest.approx(0.01)
    clock.now += 0.05
    assert bucket.take(1000) == 5
    clock.now += 0.05
    assert bucket.take(3) == 3
    assert bucket.take(1000) == 2


def test_token_bucket_caps_the_burst_after_a_stall() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1000, clock=clock)
    clock.now += 60  # a minute stuck behind a slow broker
    assert bucket.take(10_000) == 100  # a tenth of a second's worth, not 60,000


def test_token_bucket_total_over_time_matches_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=37, clock=clock)
    granted = 0
    for _ in range(1000):
        clock.now += 0.01
        granted += bucket.take(1000)
    assert granted in (369, 370)
