"""The detector inside Spark's streaming state: a ``StatefulProcessor`` per series.

Input rows are partial minute counts of one series (scope, service, endpoint), as the events
query wrote them (``anomaly.minute_counts``): several partials may make up one minute, and a
replayed batch sends the same partial (same id) again. A series' state is one JSON value
(``anomaly.series_state``: its baseline, the minutes not judged yet and the partial ids counted
in them), read once and written once per micro-batch, and it has at most one timer: the end of
its next minute to judge (an event-time timer, which fires once the watermark passes it). Then
every minute up to the watermark is judged in order, so a backlog of a day is judged in one call.
Once a series has been silent for ``idle_windows`` its timer is the time to forget it (after
``state_ttl`` of event time: Spark's own state TTL works in processing time only, which
``transformWithState`` refuses alongside event-time timers). The state is RocksDB's,
checkpointed with the query.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pandas as pd
from pyspark.sql.streaming import StatefulProcessor, StatefulProcessorHandle

from logiflow.anomaly.detector import DetectorSettings
from logiflow.anomaly.minute_counts import COUNT_COLUMNS, LATENCY_BUCKETS
from logiflow.anomaly.series_state import (
    Judged,
    SeriesState,
    add_partial,
    forgettable,
    judge_due,
    next_timer,
)
from logiflow.contract import aggregates as agg

# The judged minutes' output: one row per detection (``anomaly.documents`` makes documents).
DETECTION_COLUMNS = (
    "scope", "service", "endpoint", "minute", "metric", "direction", "actual", "expected",
    "score", "severity", "requests",
)  # fmt: skip
DETECTIONS_SCHEMA = (
    "scope string, service string, endpoint string, minute long, metric string, "
    "direction string, actual double, expected double, score double, severity string, "
    "requests double"
)


class MinuteJudge(StatefulProcessor):
    """Counts a series' partials per minute and judges each minute once the watermark passed."""

    def __init__(
        self,
        settings: DetectorSettings,
        window_seconds: int,
        idle_minutes: int,
        state_ttl_seconds: int,
    ) -> None:
        self.settings = settings
        self.window = window_seconds
        self.idle_minutes = idle_minutes
        self.state_ttl = state_ttl_seconds

    def init(self, handle: StatefulProcessorHandle) -> None:
        self.handle = handle
        self.series = handle.getValueState("series", "json string")

    def handleInputRows(
        self, key: Any, rows: Iterator[pd.DataFrame], timerValues: Any
    ) -> Iterator[pd.DataFrame]:
        state = self._load()
        before = next_timer(state, self.window, self.idle_minutes, self.state_ttl)
        for frame in rows:
            counts = frame[list(COUNT_COLUMNS)].astype(float).to_numpy().tolist()
            for partial_id, minute, values, buckets in zip(
                frame["partial_id"], frame["minute"], counts, frame[LATENCY_BUCKETS], strict=True
            ):
                histogram = json.loads(buckets) if isinstance(buckets, str) else None
                add_partial(state, str(partial_id), int(minute), values, histogram)
        self._save(state, before)
        return iter([])

    def handleExpiredTimer(
        self, key: Any, timerValues: Any, expiredTimerInfo: Any
    ) -> Iterator[pd.DataFrame]:
        watermark = timerValues.getCurrentWatermarkInMs() // 1000
        state = self._load()
        if forgettable(state, watermark, self.state_ttl):
            self.series.clear()
            return
        endpoint_series = key[0] == agg.SCOPE_ENDPOINT
        judged = judge_due(
            state, watermark, self.settings, endpoint_series, self.window, self.idle_minutes
        )
        # The fired timer is gone: whatever the series needs next is registered anew.
        self._save(state, None)
        if judged:
            yield pd.DataFrame(_detection_rows(key, judged), columns=list(DETECTION_COLUMNS))

    def _load(self) -> SeriesState:
        stored = self.series.get()
        return SeriesState.from_json(stored[0]) if stored else SeriesState()

    def _save(self, state: SeriesState, registered: int | None) -> None:
        """Store the state; register its timer unless the one already registered is it."""
        self.series.update((state.to_json(),))
        wanted = next_timer(state, self.window, self.idle_minutes, self.state_ttl)
        if wanted is not None and wanted != registered:
            if registered is not None:
                self.handle.deleteTimer(registered * 1000)
            self.handle.registerTimer(wanted * 1000)

    def close(self) -> None:
        pass


def _detection_rows(key: Any, judged: list[Judged]) -> list[tuple[Any, ...]]:
    scope, service, endpoint = key
    return [
        (scope, service, endpoint, j.minute, j.detection.metric, j.detection.direction,
         j.detection.actual, j.detection.expected, j.detection.score, j.detection.severity,
         j.requests)
        for j in judged
    ]  # fmt: skip
