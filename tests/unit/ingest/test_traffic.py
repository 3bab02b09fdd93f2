"""Pacing and error-burst parsing of the traffic sender (no Kafka involved)."""

from __future__ import annotations

import pytest

from logiflow.ingest.traffic import MIN_WAIT_SECONDS, TokenBucket


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


@pytest.mark.parametrize("rate", [5, 150, 2_000, 50_000])
def test_a_sender_that_waits_as_told_keeps_the_rate_in_at_most_100_wakeups_a_second(
    rate: float,
) -> None:
    # What the traffic sender and bench-e2e's producer do: take what there is, else wait.
    clock = FakeClock()
    bucket = TokenBucket(rate=rate, clock=clock)
    granted = wakeups = 0
    while clock.now < 110.0:  # ten seconds
        taken = bucket.take(1_000_000)
        granted += taken
        if taken == 0:
            clock.now += bucket.wait_time()
            wakeups += 1
    assert abs(granted - rate * 10) <= max(2, rate * MIN_WAIT_SECONDS)
    # Token by token at 2,000/s would be 20,000 waits, each a poll(0) for librdkafka: a spin.
    assert wakeups <= 10 / MIN_WAIT_SECONDS + 1
