"""The detector inside Spark's streaming state: one ``StatefulProcessor`` per series.

Input rows are partial minute counts of one series (scope, service, endpoint), as the events
query wrote them (``anomaly.minute_counts``): several partials may make up one minute, and a
replayed batch sends the same partial (same id) again. Per series the state holds:

- ``baseline``: the detector's ``SeriesBaseline`` as JSON (a few hundred bytes);
- ``minutes``: the counts summed so far for each minute not yet judged;
- ``partials``: the ids already counted, per minute, so a replayed partial counts once;
- ``next_minute``: the first minute not yet judged.

A minute is judged when the watermark passes its end (an event-time timer), in order, and a
minute with no partial counts as zero requests (so a service that goes silent is judged, not
forgotten): each judged minute arms the next one's timer while the series saw traffic in the
last ``idle_minutes``. Partials for a minute already judged arrive too late and are dropped.
The state is RocksDB's, checkpointed with the query. A series with no traffic for ``state_ttl``
of event time is deleted (Spark's own state TTL works in processing time only, which
``transformWithState`` refuses alongside event-time timers).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pandas as pd
from pyspark.sql.streaming import StatefulProcessor, StatefulProcessorHandle

from logiflow.anomaly.detector import (
    DetectorSettings,
    MinuteCounts,
    SeriesBaseline,
    judge_minute,
)
from logiflow.contract import aggregates as agg

SECONDS_PER_MINUTE = 60
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
_COUNTS = "requests double, status_4xx double, status_5xx double, latency_count double, "
_COUNTS += "latency_sum_seconds double, latency_log_sum double"


class MinuteJudge(StatefulProcessor):
    """Sums a series' partials per minute and judges each minute once the watermark passed."""

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
        self.baseline = handle.getValueState("baseline", "json string")
        self.next_minute = handle.getValueState("next_minute", "minute long")
        self.last_traffic = handle.getValueState("last_traffic", "minute long")
        self.minutes = handle.getMapState("minutes", "minute long", _COUNTS)
        self.partials = handle.getMapState("partials", "id string", "minute long")

    def handleInputRows(
        self, key: Any, rows: Iterator[pd.DataFrame], timerValues: Any
    ) -> Iterator[pd.DataFrame]:
        judged_up_to = self.next_minute.get()
        for frame in rows:
            for row in frame.itertuples(index=False):
                minute = int(row.minute)
                if judged_up_to is not None and minute < judged_up_to[0]:
                    continue  # too late: that minute was judged already
                if self.partials.containsKey((row.partial_id,)):
                    continue  # a replayed batch sent this partial again
                self.partials.updateValue((row.partial_id,), (minute,))
                self._add(minute, row)
                self.handle.registerTimer((minute + self.window) * 1000)
        if judged_up_to is None and self.minutes.exists():
            first = min(int(k[0]) for k in self.minutes.keys())  # noqa: SIM118 (not a dict)
            self.next_minute.update((first,))
        return iter([])

    def _add(self, minute: int, row: Any) -> None:
        counts = [
            float(row.requests),
            float(row.status_4xx),
            float(row.status_5xx),
            float(row.latency_count),
            float(row.latency_sum_seconds),
            float(row.latency_log_sum),
        ]
        held = self.minutes.getValue((minute,)) if self.minutes.containsKey((minute,)) else None
        if held is not None:
            counts = [a + b for a, b in zip(held, counts, strict=True)]
        self.minutes.updateValue((minute,), tuple(counts))

    def handleExpiredTimer(
        self, key: Any, timerValues: Any, expiredTimerInfo: Any
    ) -> Iterator[pd.DataFrame]:
        due_end = expiredTimerInfo.getExpiryTimeInMs() // 1000
        scope, service, endpoint = key
        start = self.next_minute.get()
        if start is None:
            return
        last = self.last_traffic.get()
        if (
            last is not None
            and int(last[0]) + self.state_ttl <= due_end
            and (not self.minutes.exists())
        ):
            self._forget()
            return
        baseline = self._load_baseline()
        rows = []
        minute = int(start[0])
        while minute + self.window <= due_end:
            counts = self._take(minute)
            if counts.requests > 0:
                self.last_traffic.update((minute,))
            for d in judge_minute(baseline, counts, self.settings, scope == agg.SCOPE_ENDPOINT):
                rows.append(
                    (scope, service, endpoint, minute, d.metric, d.direction, d.actual,
                     d.expected, d.score, d.severity, counts.requests)
                )  # fmt: skip
            minute += self.window
        self.next_minute.update((minute,))
        self.baseline.update((json.dumps(baseline.to_json()),))
        last = self.last_traffic.get()
        if last is not None and minute - int(last[0]) <= self.idle_minutes * self.window:
            self.handle.registerTimer((minute + self.window) * 1000)
        elif last is not None:  # idle: judged no more; forgotten unless traffic comes back
            self.handle.registerTimer((int(last[0]) + self.state_ttl) * 1000)
        if rows:
            yield pd.DataFrame(rows, columns=list(DETECTION_COLUMNS))

    def _take(self, minute: int) -> MinuteCounts:
        """The minute's summed counts (zero when no partial came), removed from the state with
        the ids of its partials."""
        held = self.minutes.getValue((minute,)) if self.minutes.containsKey((minute,)) else None
        if held is None:
            return MinuteCounts(minute, 0.0, 0.0, 0.0)
        self.minutes.removeKey((minute,))
        for (partial_id,), (owner,) in list(self.partials.iterator()):
            if owner == minute:
                self.partials.removeKey((partial_id,))
        return MinuteCounts(minute, *held)

    def _forget(self) -> None:
        """A series silent for ``state_ttl``: its whole state goes, which bounds the state by
        the series seen within that time."""
        for state in (self.baseline, self.next_minute, self.last_traffic, self.minutes):
            state.clear()
        self.partials.clear()

    def _load_baseline(self) -> SeriesBaseline:
        stored = self.baseline.get()
        return SeriesBaseline.from_json(json.loads(stored[0])) if stored else SeriesBaseline()

    def close(self) -> None:
        pass
