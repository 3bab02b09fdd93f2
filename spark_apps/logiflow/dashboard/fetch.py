"""Runs the panels' searches against Elasticsearch and finds the time range the data covers.

The web server calls these; so do the integration tests and the benchmark. Failures become a
``DashboardDataError`` whose message is shown on the page as is (never a stack trace).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch

from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.dashboard.hourly_distinct import hourly_distinct_search
from logiflow.dashboard.panels import NO_SERVICE, Panel
from logiflow.dashboard.queries import (
    NO_FILTERS,
    Filters,
    PanelData,
    TimeRange,
    auto_interval,
    panel_query,
    panel_rows,
    panel_search,
)
from logiflow.dashboard.rollup_queries import (
    events_part,
    merged_rows,
    needs_top_keys,
    reads_aggregates,
    rollup_rows,
    rollup_search,
    top_keys,
)
from logiflow.dashboard.sampling import DEFAULT_SAMPLE_SIZE, sample_probability
from logiflow.errors import LogiflowError

# What every search of one refresh shares: prefix, range, filters, time zone, bucket width.
SearchArgs = tuple[str, TimeRange, Filters, str, timedelta]


class DashboardDataError(LogiflowError):
    """Elasticsearch could not answer a dashboard query; ``status`` is the HTTP status to give."""

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        self.status = status


def _describe(exc: Exception, where: str) -> DashboardDataError:
    if isinstance(exc, TransportConnectionError | ConnectionTimeout):
        return DashboardDataError(
            f"Elasticsearch is unreachable at {where}; is it running? "
            "(logiflow local up or logiflow run starts one)",
            503,
        )
    if isinstance(exc, ApiError):
        return DashboardDataError(
            f"Elasticsearch at {where} refused the query ({exc.status_code}): {exc.message}", 502
        )
    raise exc


def run_panel(
    client: Elasticsearch,
    panel: Panel,
    prefix: str,
    time_range: TimeRange,
    filters: Filters = NO_FILTERS,
    time_zone: str = "UTC",
    interval: timedelta | None = None,
    where: str = "the configured hosts",
    aggregates: bool = True,
    sample_size: int | None = DEFAULT_SAMPLE_SIZE,
) -> PanelData:
    found = run_panels(
        client,
        [panel],
        prefix,
        time_range,
        filters,
        time_zone,
        where,
        interval,
        aggregates,
        sample_size,
    )
    return found[panel.id]


@dataclass
class _Search:
    """One search of a refresh: the panel it answers and what part of it."""

    panel: Panel
    part: Literal["events", "rollup", "events_part"]
    request: dict[str, Any]


_Answers = dict[tuple[str, str], dict[str, Any]]


def _msearch(client: Elasticsearch, searches: list[_Search], where: str) -> _Answers:
    """Each search's answer by (panel id, part), in one round trip."""
    body: list[dict[str, Any]] = []
    for search in searches:
        request = dict(search.request)
        body.append(
            {
                "index": request.pop("index"),
                "ignore_unavailable": request.pop("ignore_unavailable"),
                "allow_no_indices": request.pop("allow_no_indices"),
            }
        )
        body.append(request)
    if not body:
        return {}
    try:
        answer = client.msearch(searches=body)
    except (TransportConnectionError, ConnectionTimeout, ApiError) as exc:
        raise _describe(exc, where) from exc
    answers: _Answers = {}
    for search, response in zip(searches, answer.body["responses"], strict=True):
        if "error" in response:
            reason = response["error"].get("reason", response["error"])
            raise DashboardDataError(
                f"Elasticsearch at {where} refused the query of panel {search.panel.id!r}: "
                f"{reason}",
                502,
            )
        answers[(search.panel.id, search.part)] = response
    return answers


def _events_in_range(client: Elasticsearch, panel: Panel, args: SearchArgs, where: str) -> int:
    """How many events ``panel``'s search matches: a count, answered from the indexes alone."""
    prefix, time_range, filters = args[:3]
    try:
        response = client.count(
            index=names.index_pattern(prefix, names.EVENTS),
            query=panel_query(panel, time_range, filters),
            ignore_unavailable=True,
            allow_no_indices=True,
        )
    except (TransportConnectionError, ConnectionTimeout, ApiError) as exc:
        raise _describe(exc, where) from exc
    return int(response.body["count"])


def _probabilities(
    client: Elasticsearch,
    panels: Sequence[Panel],
    args: SearchArgs,
    sample_size: int | None,
    where: str,
) -> dict[str, float]:
    """Each panel's sampling probability: 1 unless it samples and the range holds many events."""
    sampling = [p for p in panels if p.samples and p.filterable]
    probability = 1.0
    if sampling and sample_size is not None:
        events = _events_in_range(client, sampling[0], args, where)
        probability = sample_probability(events, sample_size)
    return {p.id: probability if p in sampling else 1.0 for p in panels}


def _first_searches(
    panel: Panel, rolled_up: bool, args: SearchArgs, probability: float
) -> list[_Search]:
    if not rolled_up:
        request = panel_search(panel, *args, probability=probability)
        return [_Search(panel, "events", request)]
    searches = [_Search(panel, "rollup", rollup_search(panel, *args))]
    part = events_part(panel)
    if part is not None and not needs_top_keys(panel):
        prefix, time_range, filters = args[:3]
        request = hourly_distinct_search(part, prefix, time_range, filters) or panel_search(
            part, *args, probability=probability
        )
        searches.append(_Search(panel, "events_part", request))
    return searches


def _ranked_search(
    panel: Panel, answers: _Answers, args: SearchArgs, probability: float
) -> list[_Search]:
    """The events part restricted to the keys the aggregates ranked (none when none were)."""
    interval = args[-1]
    ranked = top_keys(rollup_rows(panel, answers[(panel.id, "rollup")], interval))
    part = events_part(panel, ranked)
    if not ranked or part is None:
        return []
    request = panel_search(part, *args, probability=probability)
    return [_Search(panel, "events_part", request)]


def _panel_data(panel: Panel, rolled_up: bool, answers: _Answers, interval: timedelta) -> PanelData:
    if not rolled_up:
        return panel_rows(panel, answers[(panel.id, "events")], interval)
    part = events_part(panel)
    from_events = answers.get((panel.id, "events_part"))
    events = panel_rows(part, from_events, interval) if part and from_events else None
    return merged_rows(panel, answers[(panel.id, "rollup")], events, interval)


def run_panels(
    client: Elasticsearch,
    panels: Sequence[Panel],
    prefix: str,
    time_range: TimeRange,
    filters: Filters = NO_FILTERS,
    time_zone: str = "UTC",
    where: str = "the configured hosts",
    interval: timedelta | None = None,
    aggregates: bool = True,
    sample_size: int | None = DEFAULT_SAMPLE_SIZE,
) -> dict[str, PanelData]:
    """Every panel in one ``_msearch`` round trip (what the page asks for at each refresh).

    Panels that read the aggregates (``rollup_queries.py``) and still need events for the keys
    the aggregates ranked (top endpoints' p95) take a second round trip for that part. The
    range is read in whole minutes (``TimeRange.whole_minutes``), the aggregates' grain.
    ``aggregates=False`` reads every panel from its own index, as a host or status-class
    filter does (the tests and the benchmark compare both ways). Panels that sample read a
    random sample of the events when the range holds more than ``sample_size`` of them
    (``sampling.py``; None: never), which a count of the range decides first.
    """
    interval = interval or auto_interval(time_range)
    args = (prefix, time_range.whole_minutes(), filters, time_zone, interval)
    rolled_up = {p.id: aggregates and reads_aggregates(p, filters) for p in panels}
    probability = _probabilities(client, panels, args, sample_size, where)
    first = [
        search
        for p in panels
        for search in _first_searches(p, rolled_up[p.id], args, probability[p.id])
    ]
    answers = _msearch(client, first, where)
    second = [
        search
        for panel in panels
        if rolled_up[panel.id] and needs_top_keys(panel)
        for search in _ranked_search(panel, answers, args, probability[panel.id])
    ]
    answers |= _msearch(client, second, where)
    return {p.id: _panel_data(p, rolled_up[p.id], answers, interval) for p in panels}


def data_coverage(
    client: Elasticsearch, prefix: str, where: str = "the configured hosts"
) -> TimeRange | None:
    """First and last timestamp of events, dead letters and batches; None when there are none.

    Dead letters and batch documents carry the time LogiFlow handled them, events the time they
    happened: replayed old logs sit days before their own accounting.
    """
    kinds = (names.EVENTS, names.DEAD_LETTER, names.BATCHES)
    index = ",".join(names.index_pattern(prefix, kind) for kind in kinds)
    try:
        response = client.search(
            index=index,
            size=0,
            aggs={
                "first": {"min": {"field": ecs.TIMESTAMP}},
                "last": {"max": {"field": ecs.TIMESTAMP}},
            },
            ignore_unavailable=True,
            allow_no_indices=True,
        )
    except (TransportConnectionError, ConnectionTimeout, ApiError) as exc:
        raise _describe(exc, where) from exc
    aggs: dict[str, Any] = response.body.get("aggregations") or {}
    first = (aggs.get("first") or {}).get("value")
    last = (aggs.get("last") or {}).get("value")
    if first is None or last is None:
        return None
    start = datetime.fromtimestamp(first / 1000, UTC)
    # The end is exclusive: one second past the last event keeps it inside the range.
    return TimeRange(start, datetime.fromtimestamp(last / 1000, UTC) + timedelta(seconds=1))


def filter_options(
    client: Elasticsearch, prefix: str, where: str = "the configured hosts"
) -> dict[str, list[str]]:
    """The services (NO_SERVICE for events without one) and hosts the filters can offer."""
    try:
        response = client.search(
            index=names.index_pattern(prefix, names.EVENTS),
            size=0,
            aggs={
                "services": {
                    "terms": {"field": ecs.SERVICE_NAME, "size": 200, "missing": NO_SERVICE}
                },
                "hosts": {"terms": {"field": ecs.HOST_NAME, "size": 200}},
            },
            ignore_unavailable=True,
            allow_no_indices=True,
        )
    except (TransportConnectionError, ConnectionTimeout, ApiError) as exc:
        raise _describe(exc, where) from exc
    aggs: dict[str, Any] = response.body.get("aggregations") or {}
    return {
        name: sorted(b["key"] for b in (aggs.get(name) or {}).get("buckets", []))
        for name in ("services", "hosts")
    }
