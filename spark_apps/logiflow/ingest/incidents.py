"""Labelled incidents for ``logiflow generate``: what to break, when, and the label saying so.

Each flag takes ``AT+LENGTH[:SERVICE[@ENDPOINT][:VALUE]]``, seconds from the start of the run:

====================== ==================================== ==================================
flag                   VALUE (default)                      effect on the generated traffic
====================== ==================================== ==================================
``--error-burst``      share of requests answered 5xx (0.5) failing and 4x slower
``--latency-spike``    factor the latency is multiplied by  slower, same status mix
                       (3)
``--traffic-drop``     share of requests that still arrive  thinned (SERVICE is required)
                       (0.2)
====================== ==================================== ==================================

``@ENDPOINT`` is an endpoint template (``/products/{id}``) and narrows an error burst or a
latency spike to that endpoint. The labels are ``anomaly.evaluation.Incident`` values: the same
ground truth ``make bench-anomaly`` scores the detector with, written as JSON lines by
``logiflow generate --labels FILE`` and read by ``logiflow anomalies --labels FILE``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from logiflow.anomaly.evaluation import ERROR_BURST, LATENCY_REGRESSION, TRAFFIC_DROP, Incident
from logiflow.errors import ConfigError
from logiflow.ingest.generator import ErrorBurst, TrafficDrop

_SPEC_RE = re.compile(
    r"^(?P<at>\d+(\.\d+)?)s?\+(?P<length>\d+(\.\d+)?)s?"
    r"(:(?P<service>[A-Za-z0-9_.-]+)?(@(?P<endpoint>/[^:]*))?)?(:(?P<value>\d+(\.\d+)?))?$"
)
# Per kind: the flag, the default VALUE, and the VALUE's bounds.
_KINDS = {
    ERROR_BURST: ("--error-burst", 0.5, (0.0, 1.0)),
    LATENCY_REGRESSION: ("--latency-spike", 3.0, (1.0, 1000.0)),
    TRAFFIC_DROP: ("--traffic-drop", 0.2, (0.0, 1.0)),
}
_EXAMPLES = {
    ERROR_BURST: "30+60 (every service, from 30 s for 60 s) or 10+20:storefront@/products/{id}:0.8",
    LATENCY_REGRESSION: "30+120:orders-api:4",
    TRAFFIC_DROP: "60+300:catalog-api:0.1",
}


@dataclass(frozen=True)
class IncidentSpec:
    """One incident, relative to the start of the run."""

    kind: str
    at: float
    length: float
    service: str | None = None
    endpoint: str | None = None
    value: float | None = None  # None: the kind's default

    @classmethod
    def parse(cls, kind: str, text: str) -> IncidentSpec:
        flag, _, (low, high) = _KINDS[kind]
        match = _SPEC_RE.match(text.strip())
        value = float(match["value"]) if match and match["value"] else None
        problem = (
            "expected AT+LENGTH[:SERVICE[@ENDPOINT][:VALUE]] in seconds"
            if match is None
            else f"VALUE must lie in [{low:g}, {high:g}]"
            if value is not None and not low <= value <= high
            else "a traffic drop needs a SERVICE"
            if kind == TRAFFIC_DROP and not match["service"]
            else "an ENDPOINT needs a SERVICE"
            if match["endpoint"] and not match["service"]
            else "a traffic drop thins a whole service, not an ENDPOINT"
            if kind == TRAFFIC_DROP and match["endpoint"]
            else None
        )
        if problem or match is None:
            raise ConfigError(f"{flag} {text!r}: {problem}, e.g. {_EXAMPLES[kind]}")
        return cls(
            kind, float(match["at"]), float(match["length"]),
            match["service"] or None, match["endpoint"] or None, value,
        )  # fmt: skip

    @property
    def magnitude(self) -> float:
        return self.value if self.value is not None else _KINDS[self.kind][1]

    def effect(self, start: dt.datetime) -> ErrorBurst | TrafficDrop:
        """What the generator does, for a run that starts at ``start``."""
        begin = start + dt.timedelta(seconds=self.at)
        length = dt.timedelta(seconds=self.length)
        if self.kind == TRAFFIC_DROP:
            assert self.service is not None  # parse() demands one
            return TrafficDrop(begin, length, self.service, kept_share=self.magnitude)
        if self.kind == ERROR_BURST:
            return ErrorBurst(begin, length, self.service, self.magnitude, 4.0, self.endpoint)
        return ErrorBurst(begin, length, self.service, 0.0, self.magnitude, self.endpoint)

    def labels(self, start: dt.datetime, services: tuple[str, ...]) -> list[Incident]:
        """The ground truth: one label per service the incident hits (every one when none is
        named)."""
        first = int((start + dt.timedelta(seconds=self.at)).timestamp())
        end = first + max(round(self.length), 1)
        hit = (self.service,) if self.service else services
        return [Incident(self.kind, service, first, end, self.endpoint) for service in hit]
