"""The local web dashboard: a Starlette app serving one page and a small JSON API.

Run by ``logiflow dashboard`` (and started by ``logiflow run``); ``serve`` runs it under uvicorn
on ``dashboard.host:dashboard.port``. Every asset comes from installed packages: the page, its
script and style from ``logiflow/dashboard/static``, ``plotly.min.js`` from the plotly wheel, so
the page works with no internet at all.

JSON API (every error is ``{"error": message}`` with a proper status, never a stack trace):

- ``GET /api/meta``      panels, refresh interval, time zone, default range, status classes
- ``GET /api/coverage``  ``{"start", "end"}`` of the indexed data (both null when there is none)
- ``GET /api/options``   services and hosts the filters can offer
- ``GET /api/health``    the live pipeline figures from Prometheus (``pipeline_health``)
- ``GET /api/data``      every panel's rows; ``/api/panels/{id}`` one panel's. Parameters:
  ``start``/``end`` (ISO 8601; default: the last ``default_range_minutes``), ``tz`` (IANA zone),
  ``service``, ``host``, ``status`` (repeat or comma-separate for several values).

With ``metrics.port`` set, the process serves Prometheus metrics there too: data requests and
their time, labelled with the panel id (``all`` for ``/api/data``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from elasticsearch import Elasticsearch
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from logiflow.config import LogiflowConfig
from logiflow.contract import metrics as m
from logiflow.dashboard.fetch import (
    DashboardDataError,
    data_coverage,
    filter_options,
    run_panels,
)
from logiflow.dashboard.panels import PANELS, PANELS_BY_ID, Panel
from logiflow.dashboard.pipeline_health import pipeline_health
from logiflow.dashboard.queries import Filters, PanelData, TimeRange
from logiflow.io.es_client import create_es_client, describe_hosts
from logiflow.metrics.exporter import serve_metrics
from logiflow.metrics.registry import counter, histogram

# The panel label of /api/data, which answers every panel in one round trip.
ALL_PANELS = "all"

STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
# Longer ranges would make even daily buckets too many to draw.
MAX_RANGE = timedelta(days=366 * 5)
_STATIC = resources.files("logiflow.dashboard") / "static"
_PLOTLY_JS = resources.files("plotly") / "package_data" / "plotly.min.js"
_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


class BadParameter(HTTPException):
    def __init__(self, message: str) -> None:
        super().__init__(400, message)


@dataclass(frozen=True)
class DashboardQuery:
    time_range: TimeRange
    filters: Filters
    time_zone: str


def _values(request: Request, name: str) -> tuple[str, ...]:
    found: list[str] = []
    for raw in request.query_params.getlist(name):
        found += [part.strip() for part in raw.split(",") if part.strip()]
    return tuple(found)


def _instant(text: str, name: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.strip().replace(" ", "+"))
    except ValueError:
        raise BadParameter(
            f"{name}={text!r} is not an ISO 8601 time such as 2026-11-24T10:00:00Z"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def parse_query(request: Request, config: LogiflowConfig) -> DashboardQuery:
    """The request's time range, filters and time zone, or a 400 saying what is wrong."""
    params = request.query_params
    now = datetime.now(UTC)
    end = _instant(params["end"], "end") if params.get("end") else now
    default_start = end - timedelta(minutes=config.dashboard.default_range_minutes)
    start = _instant(params["start"], "start") if params.get("start") else default_start
    if end <= start:
        raise BadParameter(f"the time range is empty: end {end} is not after start {start}")
    if end - start > MAX_RANGE:
        raise BadParameter("the time range is longer than five years; pick a shorter one")
    zone = params.get("tz") or config.dashboard.time_zone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadParameter(f"tz={zone!r} is not an IANA time zone such as Europe/Paris") from None
    statuses = _values(request, "status")
    unknown = sorted(set(statuses) - set(STATUS_CLASSES))
    if unknown:
        raise BadParameter(f"status must be among {', '.join(STATUS_CLASSES)}, not {unknown}")
    filters = Filters(_values(request, "service"), _values(request, "host"), statuses)
    return DashboardQuery(TimeRange(start, end), filters, zone)


def _panel_meta(panel: Panel) -> dict[str, Any]:
    return {
        "id": panel.id,
        "title": panel.title,
        "visual": panel.visual,
        "board": panel.board,
        "width": panel.width,
        "filterable": panel.filterable,
        "metrics": [
            {
                "kind": m.kind,
                "label": m.label,
                "unit": m.unit,
                "per_minute": m.per_minute,
                "percents": list(m.percents),
            }
            for m in panel.metrics
        ],
        "splits": [{"kind": s.kind, "field": s.field} for s in panel.splits],
    }


def _asset(path: Any, suffix: str) -> Response:
    return Response(
        path.read_bytes(),
        media_type=_CONTENT_TYPES[suffix],
        headers={"Cache-Control": "no-cache"},
    )


def _page(request: Request) -> Response:
    return _asset(_STATIC / "index.html", ".html")


def _static(request: Request) -> Response:
    name = request.path_params["name"]
    if name == "plotly.min.js":
        return _asset(_PLOTLY_JS, ".js")
    suffix = "." + name.rsplit(".", 1)[-1]
    if name not in ("app.js", "style.css"):
        raise HTTPException(404, f"no asset {name!r}")
    return _asset(_STATIC / name, suffix)


class _DashboardApi:
    """The JSON endpoints: every answer comes from the configured Elasticsearch."""

    def __init__(self, config: LogiflowConfig, es: Elasticsearch) -> None:
        self.config = config
        self.es = es
        self.prefix = config.elasticsearch.index_prefix
        self.where = describe_hosts(config.elasticsearch)

    def meta(self, request: Request) -> Response:
        settings = self.config.dashboard
        return JSONResponse(
            {
                "panels": [_panel_meta(p) for p in PANELS],
                "refresh_seconds": settings.refresh_seconds,
                "time_zone": settings.time_zone,
                "default_range_minutes": settings.default_range_minutes,
                "status_classes": list(STATUS_CLASSES),
                "index_prefix": self.prefix,
                "elasticsearch": self.where,
            }
        )

    def coverage(self, request: Request) -> Response:
        covered = data_coverage(self.es, self.prefix, self.where)
        if covered is None:
            return JSONResponse({"start": None, "end": None})
        return JSONResponse({"start": covered.start.isoformat(), "end": covered.end.isoformat()})

    def options(self, request: Request) -> Response:
        return JSONResponse(filter_options(self.es, self.prefix, self.where))

    def health(self, request: Request) -> Response:
        return JSONResponse(pipeline_health(self.config))

    def data(self, request: Request) -> Response:
        # Every panel in one request (what the page asks for), counted as panel "all".
        return self._answer(parse_query(request, self.config), list(PANELS), ALL_PANELS)

    def one_panel(self, request: Request) -> Response:
        panel = PANELS_BY_ID.get(request.path_params["panel"])
        if panel is None:
            raise HTTPException(404, f"no panel {request.path_params['panel']!r}")
        return self._answer(parse_query(request, self.config), [panel], panel.id)

    def _answer(self, query: DashboardQuery, panels: list[Panel], label: str) -> Response:
        counter(m.DASHBOARD_REQUESTS).labels(label).inc()
        with histogram(m.DASHBOARD_QUERY_DURATION).labels(label).time():
            found = self._run(query, panels)
        return JSONResponse(
            {
                "start": query.time_range.start.isoformat(),
                "end": query.time_range.end.isoformat(),
                "time_zone": query.time_zone,
                "panels": {key: data.as_json() for key, data in found.items()},
            }
        )

    def _run(self, query: DashboardQuery, panels: list[Panel]) -> dict[str, PanelData]:
        return run_panels(
            self.es,
            panels,
            self.prefix,
            query.time_range,
            query.filters,
            query.time_zone,
            self.where,
            sample_size=self.config.dashboard.sample_size or None,
        )


def create_app(config: LogiflowConfig, client: Elasticsearch | None = None) -> Starlette:
    """The app; ``client`` defaults to one built from ``config.elasticsearch``."""
    es = client or create_es_client(config.elasticsearch, request_timeout=10, max_retries=0)
    api = _DashboardApi(config, es)
    counter(m.DASHBOARD_REQUESTS).labels(ALL_PANELS)
    histogram(m.DASHBOARD_QUERY_DURATION).labels(ALL_PANELS)
    serve_metrics(config, "dashboard")
    return Starlette(
        routes=[
            Route("/", _page),
            Route("/static/{name}", _static),
            Route("/api/meta", api.meta),
            Route("/api/coverage", api.coverage),
            Route("/api/options", api.options),
            Route("/api/data", api.data),
            Route("/api/health", api.health),
            Route("/api/panels/{panel}", api.one_panel),
        ],
        exception_handlers=_exception_handlers(),
    )


def _exception_handlers() -> dict[Any, Callable[..., Any]]:
    def http_error(request: Request, exc: HTTPException) -> Response:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    def data_error(request: Request, exc: DashboardDataError) -> Response:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    def unexpected(request: Request, exc: Exception) -> Response:
        # The page shows this message; the details stay in the server's log.
        return JSONResponse(
            {"error": f"the dashboard server failed: {type(exc).__name__}: {exc}"},
            status_code=500,
        )

    return {HTTPException: http_error, DashboardDataError: data_error, Exception: unexpected}


@dataclass
class BackgroundDashboard:
    """The dashboard served from a daemon thread (``logiflow run``, the browser tests)."""

    server: Any
    thread: threading.Thread
    url: str

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def start_in_background(
    config: LogiflowConfig, url: str, startup_timeout: float = 20.0
) -> BackgroundDashboard:
    """Serve on ``config.dashboard.host:port`` from a thread; returns once it accepts requests."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            host=config.dashboard.host,
            port=config.dashboard.port,
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, name="logiflow-dashboard", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise DashboardDataError(f"the dashboard did not start on {url}", 500)
        time.sleep(0.05)
    return BackgroundDashboard(server, thread, url)


def serve(config: LogiflowConfig, log_level: str = "warning") -> None:
    """Run the dashboard until interrupted."""
    import uvicorn

    uvicorn.run(
        create_app(config),
        host=config.dashboard.host,
        port=config.dashboard.port,
        log_level=log_level,
    )
