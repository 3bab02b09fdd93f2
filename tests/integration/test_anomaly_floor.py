"""The detector's floor on a fixed seed (no servers; here rather than in tests/unit for its
minute of generating traffic): one simulated day of generated traffic with six
labelled incidents (``anomaly.scenario``), summed per minute and series here the way the events
query sums them, judged minute by minute, and scored against the labels. The real pipeline's
figures over several days come from ``make bench-anomaly``; this holds the floor the issue sets:
recall >= 0.9 per incident kind, detection within two windows, at most one false alarm per
service per day.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict

from logiflow.anomaly.detector import DetectorSettings, MinuteCounts, SeriesBaseline, judge_minute
from logiflow.anomaly.evaluation import KINDS, Found, evaluate
from logiflow.anomaly.latency_histogram import bucket_of
from logiflow.anomaly.scenario import scenario, services
from logiflow.ingest.generator import TrafficGenerator

START = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
RATE_PER_SECOND = 5.0


Series = dict[tuple[str, str | None], dict[int, MinuteCounts]]


def minute_counts(lines) -> Series:
    """requests, 4xx, 5xx, latency count, sum (s), log sum and histogram per series and minute."""
    sums: dict[tuple[str, str | None], dict[int, list[float]]] = defaultdict(dict)
    buckets: dict[tuple[str, str | None, int], Counter] = defaultdict(Counter)
    for line in lines:
        if line.status is None:
            continue
        minute = int(line.timestamp.timestamp()) // 60 * 60
        for key in ((line.service, None), (line.service, line.endpoint)):
            counts = sums[key].setdefault(minute, [0.0] * 6)
            counts[0] += 1
            counts[1] += 400 <= line.status < 500
            counts[2] += 500 <= line.status < 600
            if line.duration_ns is not None:
                counts[3] += 1
                counts[4] += line.duration_ns / 1e9
                counts[5] += math.log(max(line.duration_ns, 1_000) / 1e9)
                buckets[(*key, minute)][bucket_of(line.duration_ns / 1e9)] += 1
    return {
        key: {m: MinuteCounts(m, *c, dict(buckets[(*key, m)])) for m, c in minutes.items()}
        for key, minutes in sums.items()
    }


def judge(series: Series, first: int, last: int):
    settings = DetectorSettings()
    found = []
    for (service, endpoint), minutes in series.items():
        baseline = SeriesBaseline()
        start = min(minutes)
        for minute in range(start, last + 60, 60):
            counts = minutes.get(minute, MinuteCounts(minute, 0.0, 0.0, 0.0))
            for d in judge_minute(baseline, counts, settings, endpoint is not None):
                found.append(Found(minute, service, endpoint, d.metric, d.direction))
    return found


def test_one_simulated_day_meets_the_floor() -> None:
    labelled = scenario(START, days=1)
    generator = TrafficGenerator(21, labelled.profile)
    lines = generator.stream(START, RATE_PER_SECOND, duration=dt.timedelta(days=1))
    end = int((START + dt.timedelta(days=1)).timestamp()) - 60
    found = judge(minute_counts(lines), int(START.timestamp()), end)
    result = evaluate(labelled.incidents, found, 60, days=1)
    for kind in KINDS:
        score = result.kinds[kind]
        assert score.incidents == 2
        assert score.recall >= 0.9, (kind, score)
        assert max(score.delays) <= 1, (kind, score)  # the first or second window
    for service in services(labelled.incidents):
        assert result.false_alarms_per_service_day(service) <= 1, (service, result)
