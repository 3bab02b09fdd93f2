"""A series' streaming state without Spark: partials once, minutes in order, silence, timers."""

from __future__ import annotations

from logiflow.anomaly.detector import DetectorSettings
from logiflow.anomaly.series_state import (
    SeriesState,
    add_partial,
    forgettable,
    judge_due,
    next_timer,
)
from logiflow.contract import anomalies as a

T0 = 1_796_083_200
SETTINGS = DetectorSettings(warmup_minutes=5)
COUNTS = [100.0, 5.0, 0.0, 100.0, 3.0, -350.0]


def judged_minutes(state: SeriesState, watermark: int, idle: int = 3) -> list[int]:
    before = state.next_minute
    judge_due(state, watermark, SETTINGS, False, 60, idle)
    return list(range(before or 0, state.next_minute or 0, 60))


def test_a_partial_counts_once_and_a_late_one_not_at_all() -> None:
    state = SeriesState()
    assert add_partial(state, "a" * 64, T0, list(COUNTS))
    assert not add_partial(state, "a" * 64, T0, list(COUNTS))  # a replayed batch
    assert add_partial(state, "b" * 64, T0, list(COUNTS))  # a second partial of the minute
    assert state.pending[str(T0)][0] == 200.0
    judge_due(state, T0 + 60, SETTINGS, False, 60, 3)
    assert state.pending == {} and state.seen == {} and state.next_minute == T0 + 60
    assert not add_partial(state, "c" * 64, T0, list(COUNTS))  # its minute was judged


def test_minutes_are_judged_up_to_the_watermark_silence_as_zero_then_skipped() -> None:
    state = SeriesState()
    add_partial(state, "a", T0, list(COUNTS))
    assert next_timer(state, 60, 3, 3600) == T0 + 60
    judge_due(state, T0 + 30, SETTINGS, False, 60, 3)
    assert state.next_minute == T0  # not ended yet
    judge_due(state, T0 + 4 * 60, SETTINGS, False, 60, 3)
    assert state.next_minute == T0 + 4 * 60 and state.last_traffic == T0  # 3 silent judged
    assert next_timer(state, 60, 3, 3600) == T0 + 3600  # idle now: forget it later
    add_partial(state, "b", T0 + 600, list(COUNTS))
    judge_due(state, T0 + 660, SETTINGS, False, 60, 3)
    assert state.next_minute == T0 + 660 and state.last_traffic == T0 + 600  # gap skipped
    assert not forgettable(state, T0 + 600 + 3599, 3600)
    assert forgettable(state, T0 + 600 + 3600, 3600)


def test_a_day_of_backlog_is_judged_in_one_call() -> None:
    state = SeriesState()
    for m in range(1440):
        add_partial(state, f"p{m}", T0 + 60 * m, list(COUNTS))
    judge_due(state, T0 + 1440 * 60, SETTINGS, False, 60, 3)
    assert state.next_minute == T0 + 1440 * 60 and state.pending == {}
    assert SeriesState.from_json(state.to_json()) == state


def test_a_minutes_latency_histograms_merge_once_each_and_reach_the_detector() -> None:
    state = SeriesState()
    fast = {"-40": 300.0}  # 2^-5 s, about 31 ms
    slow = {"-40": 270.0, "-16": 30.0}  # a tenth at 2^-2 s
    assert add_partial(state, "a" * 64, T0, list(COUNTS), fast)
    assert not add_partial(state, "a" * 64, T0, list(COUNTS), fast)  # replayed: not again
    assert add_partial(state, "b" * 64, T0, list(COUNTS), slow)
    assert state.pending_buckets == {str(T0): {"-40": 570.0, "-16": 30.0}}
    # Warm the baseline on fast minutes, then a minute with the slow tail.
    busy = [1000.0, 0.0, 0.0, 1000.0, 31.0, -3466.0]
    state = SeriesState()
    for m in range(10):
        add_partial(state, f"w{m}", T0 + 60 * m, list(busy), {"-40": 1000.0})
    add_partial(state, "t", T0 + 600, list(busy), {"-40": 900.0, "-16": 100.0})
    judged = judge_due(state, T0 + 660, SETTINGS, False, 60, 3)
    assert state.pending_buckets == {}
    tail = {j.detection.metric for j in judged if j.minute == T0 + 600}
    assert tail == {a.METRIC_LATENCY_P95, a.METRIC_LATENCY_P99}
