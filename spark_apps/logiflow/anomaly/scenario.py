"""Labelled incidents over simulated days, for measuring the detector (``make bench-anomaly``
and the floor test): each day the traffic generator's daily-shaped traffic carries two incidents
of each kind, at fixed hours, on different services, with their labels as ground truth.

=========  ==================  ============================  ===========================
hour UTC   kind                where                         what
=========  ==================  ============================  ===========================
07:00      latency regression  orders-api                    requests 3x slower, 15 min
09:00      error burst         storefront /products/{id}     half answered 5xx, 10 min
14:00      traffic drop        catalog-api                   a fifth arrives, 20 min
17:00      error burst         orders-api                    30% answered 5xx, 8 min
19:00      latency regression  catalog-api                   requests 3x slower, 15 min
20:00      traffic drop        storefront                    a fifth arrives, 15 min
=========  ==================  ============================  ===========================

The first hour of the first day has none (the detector's warm-up).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from logiflow.anomaly.evaluation import ERROR_BURST, LATENCY_REGRESSION, TRAFFIC_DROP, Incident
from logiflow.ingest.generator import ErrorBurst, TrafficDrop, TrafficProfile

_DAILY = (
    (7, 15, LATENCY_REGRESSION, "orders-api", None),
    (9, 10, ERROR_BURST, "storefront", "/products/{id}"),
    (14, 20, TRAFFIC_DROP, "catalog-api", None),
    (17, 8, ERROR_BURST, "orders-api", None),
    (19, 15, LATENCY_REGRESSION, "catalog-api", None),
    (20, 15, TRAFFIC_DROP, "storefront", None),
)
_ERROR_SHARE = {"storefront": 0.5, "orders-api": 0.3}


@dataclass(frozen=True)
class Scenario:
    start: dt.datetime
    days: int
    incidents: tuple[Incident, ...]
    profile: TrafficProfile


def scenario(start: dt.datetime, days: int, clients: int = 500) -> Scenario:
    """``days`` of labelled incidents from ``start`` (midnight UTC)."""
    bursts: list[ErrorBurst] = []
    drops: list[TrafficDrop] = []
    incidents: list[Incident] = []
    for day in range(days):
        for hour, minutes, kind, service, endpoint in _DAILY:
            begin = start + dt.timedelta(days=day, hours=hour)
            length = dt.timedelta(minutes=minutes)
            if kind == TRAFFIC_DROP:
                drops.append(TrafficDrop(begin, length, service, kept_share=0.2))
            elif kind == ERROR_BURST:
                share = _ERROR_SHARE[service]
                bursts.append(ErrorBurst(begin, length, service, share, 1.0, endpoint))
            else:
                bursts.append(ErrorBurst(begin, length, service, 0.0, 3.0))
            first = int(begin.timestamp())
            incidents.append(Incident(kind, service, first, first + minutes * 60, endpoint))
    profile = TrafficProfile(clients=clients, bursts=tuple(bursts), drops=tuple(drops))
    return Scenario(start, days, tuple(incidents), profile)


def services(incidents: Iterable[Incident]) -> set[str]:
    return {i.service for i in incidents}
