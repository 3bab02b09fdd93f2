"""Each panel's expected numbers, computed in plain Python from the generator's facts.

Nothing here calls LogiFlow's parsing, enrichment or query code. Browser and OS names come from
the ua-parser library itself and countries from the geoip2fast database itself (the libraries
the ETL uses, called directly), everything else from the facts each line was generated from.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

import ua_parser
from dashboard_corpus import Sent
from geoip2fast import GeoIP2Fast

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def bucket(when: dt.datetime, width: dt.timedelta) -> dt.datetime:
    """Start of the fixed-width (epoch-aligned) bucket holding ``when``."""
    seconds = int(width.total_seconds())
    return dt.datetime.fromtimestamp(int(when.timestamp()) // seconds * seconds, dt.UTC)


def counts_per_bucket_and_service(
    events: Iterable[Sent], width: dt.timedelta, none_label: str
) -> dict[tuple[dt.datetime, str], int]:
    return dict(Counter((bucket(s.fact.timestamp, width), s.service or none_label) for s in events))


def status_rates(events: Iterable[Sent], width: dt.timedelta) -> dict[dt.datetime, tuple]:
    totals: dict[dt.datetime, list[int]] = defaultdict(lambda: [0, 0, 0])
    for s in events:
        t = totals[bucket(s.fact.timestamp, width)]
        t[0] += 1
        t[1] += 400 <= (s.fact.status or 0) < 500
        t[2] += 500 <= (s.fact.status or 0) < 600
    return {key: (c4 / n, c5 / n) for key, (n, c4, c5) in totals.items()}


def bytes_per_bucket(events: Iterable[Sent], width: dt.timedelta) -> dict[dt.datetime, int]:
    totals: dict[dt.datetime, int] = defaultdict(int)
    for s in events:
        totals[bucket(s.fact.timestamp, width)] += s.fact.body_bytes or 0
    return dict(totals)


def top(counter: Counter, size: int) -> list[tuple[str, int]]:
    """Elasticsearch's order: count descending, then key ascending."""
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:size]


def endpoints(events: list[Sent], size: int) -> list[tuple[str, int, float, list[int]]]:
    """(endpoint, requests, error rate, sorted latencies) of the ``size`` busiest endpoints."""
    by_endpoint: dict[str, list[Sent]] = defaultdict(list)
    for s in events:
        by_endpoint[s.fact.endpoint].append(s)
    ranked = top(Counter({k: len(v) for k, v in by_endpoint.items()}), size)
    result = []
    for endpoint, count in ranked:
        group = by_endpoint[endpoint]
        errors = sum((s.fact.status or 0) >= 400 for s in group)
        latencies = sorted(s.fact.duration_ns for s in group if s.fact.duration_ns is not None)
        result.append((endpoint, count, errors / count, latencies))
    return result


def percentile_bounds(values: list[int], percent: float) -> tuple[float, float]:
    """The interval any sensible percentile estimate must fall in (the two ranks around it)."""
    rank = percent / 100 * (len(values) - 1)
    return values[max(math.floor(rank) - 1, 0)], values[min(math.ceil(rank) + 1, len(values) - 1)]


@functools.cache
def _user_agent(ua: str) -> tuple[str | None, str | None]:
    parsed = ua_parser.parse(ua)
    name = parsed.user_agent.family if parsed.user_agent else None
    os_name = parsed.os.family if parsed.os else None
    return (None if name == "Other" else name, None if os_name == "Other" else os_name)


def user_agents(events: Iterable[Sent], part: int, none_label: str) -> Counter:
    return Counter(_user_agent(s.fact.user_agent)[part] or none_label for s in events)


def device_types(events: Iterable[Sent], none_label: str) -> Counter:
    return Counter(s.fact.device_type or none_label for s in events)


@functools.cache
def _geo() -> GeoIP2Fast:
    return GeoIP2Fast(geoip2fast_data_file="geoip2fast-ipv6.dat.gz", verbose=False)


def countries(events: Iterable[Sent], none_label: str) -> Counter:
    def name(ip: str | None) -> str:
        if not ip:
            return none_label
        found = _geo().lookup(ip)
        code = found.country_code
        if not code or code == "--" or len(code) != 2:  # "--": private or reserved
            return none_label
        return found.country_name or none_label

    return Counter(name(s.fact.client_ip) for s in events)


def heatmap(events: Iterable[Sent], zone: str) -> dict[tuple[str, int], int]:
    local = ZoneInfo(zone)
    cells: Counter = Counter()
    for s in events:
        when = s.fact.timestamp.astimezone(local)
        cells[(WEEKDAYS[when.weekday()], when.hour)] += 1
    return dict(cells)


DISTRIBUTION_PANELS = ("browsers", "operating_systems", "device_types", "countries")


def distribution(panel_id: str, events: list[Sent], none_label: str) -> Counter:
    """Events per browser, OS, device type or country: the truth of a distribution panel."""
    if panel_id == "browsers":
        return user_agents(events, 0, none_label)
    if panel_id == "operating_systems":
        return user_agents(events, 1, none_label)
    if panel_id == "device_types":
        return device_types(events, none_label)
    if panel_id == "countries":
        return countries(events, none_label)
    raise ValueError(f"{panel_id} is not a distribution panel")


def where(events: Iterable[Sent], keep: Callable[[Sent], bool]) -> list[Sent]:
    return [s for s in events if keep(s)]
