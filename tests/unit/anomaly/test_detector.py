"""The detector on simulated minute counts: quiet on noise and daily swings, quick on incidents.

A service's minutes are drawn from Poisson traffic with the generator's daily shape (the rate
swings +-60% over a day), a 5% 4xx and 0.4% 5xx rate and lognormal latency; incidents are laid
over chosen minutes. Fixed seeds; the figures are floors, the benchmark prints the real ones.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator

import numpy as np

from logiflow.anomaly.detector import (
    DetectorSettings,
    MinuteCounts,
    SeriesBaseline,
    judge_minute,
    score,
)
from logiflow.anomaly.latency_histogram import bucket_of
from logiflow.contract import anomalies as a

SETTINGS = DetectorSettings()
DAY = 1440
START = 1_796_083_200  # 2026-12-01T00:00Z


Incident = Callable[[int, dict[str, float]], None]


def minutes(
    seed: int, days: float, mean_rate: float, incidents: dict[range, Incident] | None = None
) -> Iterator[MinuteCounts]:
    rng = np.random.default_rng(seed)
    for m in range(int(days * DAY)):
        hour = (m % DAY) / 60
        shape = {"rate": mean_rate * (1 + 0.6 * math.cos(2 * math.pi * (hour - 15) / 24))}
        shape.update({"p4": 0.05, "p5": 0.004, "latency": 0.025, "slow": 0.0})
        for span, incident in (incidents or {}).items():
            if m in span:
                incident(m, shape)
        n = int(rng.poisson(shape["rate"]))
        e5 = int(rng.binomial(n, shape["p5"]))
        e4 = int(rng.binomial(n - e5, shape["p4"]))
        latencies = rng.lognormal(math.log(shape["latency"]), 0.7, n)
        latencies[: int(n * shape["slow"])] *= 10  # a slow share: the tail moves, not the bulk
        yield MinuteCounts(
            START + 60 * m, n, e4, e5, n, float(latencies.sum()), float(np.log(latencies).sum()),
            dict(Counter(bucket_of(x) for x in latencies)),
        )  # fmt: skip


def run(series: Iterator[MinuteCounts], endpoint: bool = False) -> dict[int, list[str]]:
    baseline = SeriesBaseline()
    found = {}
    for i, counts in enumerate(series):
        detections = judge_minute(baseline, counts, SETTINGS, endpoint)
        if detections:
            found[i] = [f"{d.metric}:{d.direction}" for d in detections]
    return found


def test_quiet_traffic_over_three_days_raises_at_most_one_alarm_a_day() -> None:
    for seed in range(3):
        alarms = run(minutes(seed, 3, mean_rate=120))
        assert len(alarms) <= 3, alarms


def test_one_error_out_of_two_requests_is_noise() -> None:
    baseline = SeriesBaseline()
    for m in range(200):
        judge_minute(baseline, MinuteCounts(START + 60 * m, 2, 0, 0, 2, 0.05), SETTINGS, True)
    assert (
        judge_minute(baseline, MinuteCounts(START + 12_000, 2, 0, 1, 2, 0.05), SETTINGS, True) == []
    )


def first_detection(alarms: dict[int, list[str]], span: range, wanted: str) -> int | None:
    hits = [m for m in span if wanted in alarms.get(m, [])]
    return hits[0] - span.start if hits else None


def check_incident(
    span: range, incident: Incident, wanted: str, endpoint: bool = False, rate: float = 120
) -> None:
    for seed in range(3):
        alarms = run(minutes(seed, 2, rate, {span: incident}), endpoint)
        delay = first_detection(alarms, span, wanted)
        assert delay is not None and delay <= 1, (seed, wanted, delay)
        outside = [m for m in alarms if m not in span and m > span.stop + 30]
        assert len(outside) <= 2, outside


def test_a_5xx_burst_is_flagged_within_two_minutes() -> None:
    check_incident(range(2000, 2010), lambda m, s: s.update(p5=0.3), f"{a.METRIC_RATE_5XX}:up")


def test_a_4xx_spike_is_flagged_within_two_minutes() -> None:
    check_incident(range(1700, 1712), lambda m, s: s.update(p4=0.3), f"{a.METRIC_RATE_4XX}:up")


def test_a_latency_regression_is_flagged_within_two_minutes() -> None:
    check_incident(range(2300, 2320), lambda m, s: s.update(latency=0.1), f"{a.METRIC_LATENCY}:up")


def test_a_slow_tail_is_flagged_by_p95_and_p99_while_the_typical_request_holds() -> None:
    """Seven percent of requests ten times slower: the geometric mean rises 17%, below the
    minimum rise; p95 and p99 rise tenfold."""
    span = range(2300, 2320)
    for wanted in (a.METRIC_LATENCY_P95, a.METRIC_LATENCY_P99):
        check_incident(span, lambda m, s: s.update(slow=0.07), f"{wanted}:up", rate=1500)
    alarms = run(minutes(0, 2, 1500, {span: lambda m, s: s.update(slow=0.07)}))
    assert not [m for m in span if f"{a.METRIC_LATENCY}:up" in alarms.get(m, [])]


def test_busy_quiet_traffic_raises_no_more_alarms_with_tails_judged() -> None:
    for seed in range(2):
        alarms = run(minutes(seed, 2, mean_rate=1500))
        assert len(alarms) <= 2, alarms


def test_tails_of_thin_minutes_are_not_judged() -> None:
    # At most about 100 requests a minute: below the 200 a p95 needs.
    alarms = run(minutes(0, 1, 60, {range(800, 820): lambda m, s: s.update(slow=0.07)}))
    tails = (f"{a.METRIC_LATENCY_P95}:up", f"{a.METRIC_LATENCY_P99}:up")
    assert not [m for m, found in alarms.items() if set(found) & set(tails)]


def test_a_traffic_drop_is_flagged_within_two_minutes() -> None:
    check_incident(
        range(600, 615), lambda m, s: s.update(rate=s["rate"] * 0.2), f"{a.METRIC_REQUESTS}:down"
    )


def test_a_surge_is_flagged_within_two_minutes() -> None:
    check_incident(
        range(2500, 2510), lambda m, s: s.update(rate=s["rate"] * 3), f"{a.METRIC_REQUESTS}:up"
    )


def test_an_endpoint_that_never_failed_starts_failing() -> None:
    def clean(m: int, s: dict[str, float]) -> None:
        s.update(p5=0.0)

    def failing(m: int, s: dict[str, float]) -> None:
        s.update(p5=0.3)

    alarms = run(minutes(7, 1.5, 60, {range(0, 1500): clean, range(1500, 1510): failing}), True)
    assert first_detection(alarms, range(1500, 1510), f"{a.METRIC_NEW_ERRORS}:up") == 0


def test_score_is_fifty_at_the_threshold_and_grows() -> None:
    assert score(4.0, 4.0) == 50.0
    assert score(8.0, 4.0) == 75.0
    assert score(0.0, 4.0) == 0.0
