"""Scores the detector against labelled incidents: recall, precision, delay, false alarms.

An incident is labelled with its kind, service (and endpoint, for one endpoint's burst) and its
windows. A detection *hits* an incident when it names the same service (and, for one endpoint's
incident, that endpoint or the whole service), a metric that kind of incident moves, and a
window from the incident's start to two windows after its end. Detections are grouped into
alarms: consecutive windows of one series and metric are one alarm, as an on-call person would
see them. An alarm that hits no incident is a false alarm.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from logiflow.contract import anomalies as a

ERROR_BURST = "error_burst"
LATENCY_REGRESSION = "latency_regression"
TRAFFIC_DROP = "traffic_drop"
KINDS = (ERROR_BURST, LATENCY_REGRESSION, TRAFFIC_DROP)
# The metrics (and direction) that count as seeing each kind of incident.
HITS = {
    # Failing requests are slow too (timeouts): a latency alarm during a burst is the burst.
    ERROR_BURST: {
        (a.METRIC_RATE_5XX, a.UP),
        (a.METRIC_NEW_ERRORS, a.UP),
        *((metric, a.UP) for metric in a.LATENCY_METRICS),
    },
    LATENCY_REGRESSION: {(metric, a.UP) for metric in a.LATENCY_METRICS},
    TRAFFIC_DROP: {(a.METRIC_REQUESTS, a.DOWN)},
}
GRACE_WINDOWS = 2


@dataclass(frozen=True)
class Incident:
    kind: str
    service: str
    start: int  # epoch seconds of its first window
    end: int  # epoch seconds after its last window
    endpoint: str | None = None


@dataclass(frozen=True)
class Found:
    """One anomaly document, reduced to what scoring needs."""

    minute: int
    service: str
    endpoint: str | None
    metric: str
    direction: str


@dataclass
class KindScore:
    incidents: int = 0
    detected: int = 0
    delays: list[int] = field(default_factory=list)  # windows from start to first hit

    @property
    def recall(self) -> float:
        return self.detected / self.incidents if self.incidents else 1.0


@dataclass
class Evaluation:
    kinds: dict[str, KindScore]
    alarms: int
    false_alarms: dict[str, int]  # per service
    days: float

    @property
    def precision(self) -> float:
        false = sum(self.false_alarms.values())
        return (self.alarms - false) / self.alarms if self.alarms else 1.0

    def false_alarms_per_service_day(self, service: str) -> float:
        return self.false_alarms.get(service, 0) / self.days


def _hits(incident: Incident, found: Found, window: int) -> bool:
    return (
        found.service == incident.service
        # A whole service's incident shows on each of its endpoints too.
        and (incident.endpoint is None or found.endpoint in (None, incident.endpoint))
        and (found.metric, found.direction) in HITS[incident.kind]
        and incident.start <= found.minute < incident.end + GRACE_WINDOWS * window
    )


def alarms(found: Iterable[Found], window: int) -> list[list[Found]]:
    """Detections grouped into alarms: consecutive windows of one series and metric."""
    by_series: dict[tuple[str, str | None, str, str], list[Found]] = defaultdict(list)
    for f in found:
        by_series[(f.service, f.endpoint, f.metric, f.direction)].append(f)
    grouped: list[list[Found]] = []
    for series in by_series.values():
        series.sort(key=lambda f: f.minute)
        current: list[Found] = []
        for f in series:
            if current and f.minute - current[-1].minute > window:
                grouped.append(current)
                current = []
            current.append(f)
        grouped.append(current)
    return grouped


def evaluate(
    incidents: Sequence[Incident], found: Sequence[Found], window: int, days: float
) -> Evaluation:
    kinds = {kind: KindScore() for kind in KINDS}
    for incident in incidents:
        score = kinds[incident.kind]
        score.incidents += 1
        hits = sorted(f.minute for f in found if _hits(incident, f, window))
        if hits:
            score.detected += 1
            score.delays.append((hits[0] - incident.start) // window)
    grouped = alarms(found, window)
    false_alarms: dict[str, int] = defaultdict(int)
    for alarm in grouped:
        if not any(_hits(i, f, window) for i in incidents for f in alarm):
            false_alarms[alarm[0].service] += 1
    return Evaluation(kinds, len(grouped), dict(false_alarms), days)
