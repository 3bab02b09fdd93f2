"""Pacing and error-burst parsing of the traffic sender (no Kafka involved)."""

from __future__ import annotations

import datetime as dt

import pytest

from logiflow.errors import ConfigError
from logiflow.ingest.traffic import BurstSpec, TokenBucket


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


def test_burst_spec_parses_all_forms() -> None:
    assert BurstSpec.parse("30+60") == BurstSpec(30, 60)
    assert BurstSpec.parse("5s+10s:orders-api") == BurstSpec(5, 10, "orders-api")
    assert BurstSpec.parse("0+2.5:catalog-api:0.9") == BurstSpec(0, 2.5, "catalog-api", 0.9)
    assert BurstSpec.parse("1+1::1") == BurstSpec(1, 1, None, 1.0)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    burst = BurstSpec.parse("30+60:orders-api").at_start(start)
    assert burst.start == start + dt.timedelta(seconds=30)
    assert burst.duration == dt.timedelta(seconds=60)
    assert burst.service == "orders-api"


@pytest.mark.parametrize("text", ["30", "a+b", "1+2:svc:1.5", "-1+2"])
def test_burst_spec_rejects_nonsense(text: str) -> None:
    with pytest.raises(ConfigError, match="AT\\+LENGTH"):
        BurstSpec.parse(text)
