"""Runs the panels' searches against Elasticsearch and finds the time range the data covers.

The web server calls these; so do the integration tests and the benchmark. Failures become a
``DashboardDataError`` whose message is shown on the page as is (never a stack trace).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch

from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.dashboard.panels import NO_SERVICE, Panel
from logiflow.dashboard.queries import (
    NO_FILTERS,
    Filters,
    PanelData,
    TimeRange,
    auto_interval,
    panel_rows,
    panel_search,
)
from logiflow.errors import LogiflowError


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
) -> PanelData:
    interval = interval or auto_interval(time_range)
    request = panel_search(panel, prefix, time_range, filters, time_zone, interval)
    try:
        response = client.search(**request)
    except (TransportConnectionError, ConnectionTimeout, ApiError) as exc:
        raise _describe(exc, where) from exc
    return panel_rows(panel, dict(response.body), interval)


def run_panels(
    client: Elasticsearch,
    panels: Sequence[Panel],
    prefix: str,
    time_range: TimeRange,
    filters: Filters = NO_FILTERS,
    time_zone: str = "UTC",
    where: str = "the configured hosts",
) -> dict[str, PanelData]:
    """Every panel in one ``_msearch`` round trip (what the page asks for at each refresh)."""
    interval = auto_interval(time_range)
    searches: list[dict[str, Any]] = []
    for panel in panels:
        request = panel_search(panel, prefix, time_range, filters, time_zone, interval)
        searches.append(
            {
                "index": request.pop("index"),
                "ignore_unavailable": request.pop("ignore_unavailable"),
                "allow_no_indices": request.pop("allow_no_indices"),
            }
        )
        searches.append(request)
    try:
        answer = client.msearch(searches=searches)
    except (TransportConnectionError, ConnectionTimeout, ApiError) as exc:
        raise _describe(exc, where) from exc
    results: dict[str, PanelData] = {}
    for panel, response in zip(panels, answer.body["responses"], strict=True):
        if "error" in response:
            reason = response["error"].get("reason", response["error"])
            raise DashboardDataError(
                f"Elasticsearch at {where} refused the query of panel {panel.id!r}: {reason}", 502
            )
        results[panel.id] = panel_rows(panel, response, interval)
    return results


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
