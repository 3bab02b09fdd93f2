"""One series' whole streaming state, and what happens to it, as plain Python.

``anomaly.minute_judge`` keeps this as a single JSON value per series in Spark's state store and
only loads it, calls these functions and saves it: one state read and one write per series and
micro-batch, however many partials or minutes it covers. (Each state call of a Python
``StatefulProcessor`` is a round trip to the JVM; a state per minute and per partial id made a
day's catch-up take tens of minutes.) Here, without Spark, the rules are unit-tested:

- a partial counts once (its id is remembered until its minute is judged) and not at all once
  its minute was judged (too late);
- minutes are judged in order up to the watermark, a minute without partials as zero traffic,
  for ``idle_windows`` after the series' last traffic; a longer silence is skipped, not judged
  minute by minute;
- the one timer a series needs is the end of its next minute to judge, or, once idle, the time
  its state is forgotten.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from logiflow.anomaly.detector import (
    Detection,
    DetectorSettings,
    MinuteCounts,
    SeriesBaseline,
    judge_minute,
)

# A partial's id is a sha256 in hex; its first 24 digits tell partials of one minute apart.
_ID_DIGITS = 24


@dataclass
class SeriesState:
    baseline: dict[str, Any] = field(default_factory=lambda: SeriesBaseline().to_json())
    next_minute: int | None = None  # the first minute not judged yet
    last_traffic: int | None = None  # the last minute with requests
    pending: dict[str, list[float]] = field(default_factory=dict)  # minute -> summed counts
    # minute -> merged latency histogram {"bucket": count}
    pending_buckets: dict[str, dict[str, float]] = field(default_factory=dict)
    seen: dict[str, list[str]] = field(default_factory=dict)  # minute -> partial ids counted

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> SeriesState:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class Judged:
    minute: int
    requests: float
    detection: Detection


def add_partial(
    state: SeriesState,
    partial_id: str,
    minute: int,
    counts: list[float],
    buckets: Mapping[str, float] | None = None,
) -> bool:
    """Count one partial (its counts, and its latency histogram if any) into its minute; False
    when it is too late or already counted."""
    if state.next_minute is not None and minute < state.next_minute:
        return False
    key = str(minute)
    short = partial_id[:_ID_DIGITS]
    seen = state.seen.setdefault(key, [])
    if short in seen:
        return False
    seen.append(short)
    held = state.pending.get(key)
    state.pending[key] = [a + b for a, b in zip(held, counts, strict=True)] if held else counts
    if buckets:
        total = state.pending_buckets.setdefault(key, {})
        for bucket, count in buckets.items():
            total[bucket] = total.get(bucket, 0.0) + count
    if state.next_minute is None:
        state.next_minute = minute
    state.next_minute = min(state.next_minute, minute)
    return True


def judge_due(
    state: SeriesState,
    watermark: int,
    settings: DetectorSettings,
    endpoint: bool,
    window: int,
    idle_windows: int,
) -> list[Judged]:
    """Judge every minute that ended at or before ``watermark`` (epoch seconds), in order."""
    if state.next_minute is None:
        return []
    baseline = SeriesBaseline.from_json(state.baseline)
    judged: list[Judged] = []
    minute = state.next_minute
    while minute + window <= watermark:
        key = str(minute)
        values = state.pending.pop(key, None)
        state.seen.pop(key, None)
        counts = _minute_counts(minute, values, state.pending_buckets.pop(key, {}))
        if counts.requests > 0:
            state.last_traffic = minute
        if _idle(state, minute, window, idle_windows) and not values:
            minute = _next_pending(state, minute + window, watermark, window)
            continue
        for detection in judge_minute(baseline, counts, settings, endpoint):
            judged.append(Judged(minute, counts.requests, detection))
        minute += window
    state.next_minute = minute
    state.baseline = baseline.to_json()
    return judged


def _minute_counts(
    minute: int, values: list[float] | None, buckets: Mapping[str, float]
) -> MinuteCounts:
    if not values:
        return MinuteCounts(minute, 0.0, 0.0, 0.0)
    requests, status_4xx, status_5xx, latency_count, latency_sum, log_sum = values
    return MinuteCounts(
        minute, requests, status_4xx, status_5xx, latency_count, latency_sum, log_sum,
        {int(bucket): count for bucket, count in buckets.items()},
    )  # fmt: skip


def _idle(state: SeriesState, minute: int, window: int, idle_windows: int) -> bool:
    last = state.last_traffic
    return last is None or minute - last > idle_windows * window


def _next_pending(state: SeriesState, after: int, watermark: int, window: int) -> int:
    """Skip a long silence: the next minute with partials, or the first not yet due."""
    later = [int(k) for k in state.pending if int(k) >= after]
    if later:
        return min(later)
    return max(after, watermark - watermark % window)


def next_timer(state: SeriesState, window: int, idle_windows: int, ttl: int) -> int | None:
    """Epoch seconds when the series next needs its timer: the end of its next minute while it
    is active or has partials waiting; once idle, when its state is to be forgotten."""
    if state.next_minute is None:
        return None
    if state.pending or not _idle(state, state.next_minute, window, idle_windows):
        return state.next_minute + window
    if state.last_traffic is None:
        return None
    return state.last_traffic + ttl


def forgettable(state: SeriesState, watermark: int, ttl: int) -> bool:
    """No traffic for ``ttl`` and nothing waiting: the series' state can go."""
    return (
        not state.pending
        and state.last_traffic is not None
        and state.last_traffic + ttl <= watermark
    )
