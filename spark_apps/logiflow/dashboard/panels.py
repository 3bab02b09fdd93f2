"""The dashboards' panels, defined once: what each one counts, over which index, split how.

Both renderings read this model: ``queries.py`` turns a panel into the Elasticsearch request the
local web dashboard runs (and the tests check against ground truth), ``kibana.py`` turns it into
Lens visualizations for Kibana. A panel names its fields from ``logiflow.contract`` only.

A panel is one or more ``Metric`` values computed per bucket of its ``Split`` chain (outer split
first); no split means one value over the whole time range.

A panel whose numbers the per-minute aggregates also hold names their ``scope``
(``Panel.aggregates``) and, per metric, the aggregate fields it sums (``Rollup``): the local
dashboard then reads those metrics from ``<prefix>-aggregates-*`` (about 1,440 partial documents
a day per series instead of every event) and the rest from the events (``rollup_queries.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from logiflow.contract import aggregates as agg
from logiflow.contract import anomalies, ecs
from logiflow.contract import derived_fields as derived
from logiflow.contract import index_names as names

# Shown for events that carry no service, and for other terms splits over a field some
# documents lack, so those documents still count, visibly.
NO_SERVICE = ecs.NO_SERVICE
UNKNOWN = "(unknown)"

MetricKind = Literal["count", "cardinality", "sum", "percentiles", "ratio"]
SplitKind = Literal["date_histogram", "terms", "hour_weekday"]
Visual = Literal["stacked_bar", "line", "bar", "table", "heatmap", "metric"]
Board = Literal["overview", "pipeline"]


@dataclass(frozen=True)
class Condition:
    """``field`` equals one of ``values`` (a term filter, or KQL ``field : "value"``)."""

    field: str
    values: tuple[str | int | bool, ...]


@dataclass(frozen=True)
class Rollup:
    """The same metric from the aggregate partials: the sum of ``fields`` (added together),
    divided by the sum of ``over`` for a ratio."""

    fields: tuple[str, ...]
    over: str | None = None


@dataclass(frozen=True)
class Metric:
    """One number per bucket.

    ``ratio``: documents matching ``numerator`` over all documents of the bucket (0 when empty).
    ``percentiles``: one value per entry of ``percents``. ``per_minute``: a count shown as a rate
    per minute, whatever the bucket width.
    """

    kind: MetricKind
    label: str
    field: str | None = None
    percents: tuple[float, ...] = ()
    numerator: Condition | None = None
    per_minute: bool = False
    unit: str = ""
    rollup: Rollup | None = None  # how the aggregates give the same number, if they can
    # A distinct count whose values the aggregates also keep per hour, under this scope
    # (``dashboard/hourly_distinct.py``).
    hourly_scope: str | None = None


@dataclass(frozen=True)
class Split:
    """Buckets: by time, by the values of a field, or by (weekday, hour) in a time zone."""

    kind: SplitKind
    field: str
    size: int = 10
    missing: str | None = None  # bucket label of documents without the field


@dataclass(frozen=True)
class Panel:
    id: str
    title: str
    index: names.Kind
    metrics: tuple[Metric, ...]
    splits: tuple[Split, ...] = ()
    visual: Visual = "bar"
    board: Board = "overview"
    time_field: str = ecs.TIMESTAMP
    # Always applied (e.g. only the events query's accounting documents).
    fixed: tuple[Condition, ...] = ()
    width: Literal[1, 2] = 1  # grid columns on the page and in Kibana (of 2)
    # The aggregates' scope ("service" or "endpoint") whose partials hold the metrics that have
    # a rollup; None: the panel reads its own index only.
    aggregates: str | None = None
    # Over many events the panel's events search reads a random sample of them (``sampling.py``):
    # its numbers are estimates already (percentiles) or a distribution's ranking and shares.
    samples: bool = False

    @property
    def filterable(self) -> bool:
        """Service, host and status-class filters exist on events only."""
        return self.index == names.EVENTS


# What the aggregates sum. Every ratio is over all events, as the events panels count it; an
# error is a status >= 400 (``logiflow.is_error``), that is 4xx + 5xx.
_EVENTS_SUM = Rollup((agg.AGG_EVENTS,))
_BYTES_SUM = Rollup((agg.AGG_BYTES,))


_COUNT = Metric("count", "Events")
_TIME = Split("date_histogram", ecs.TIMESTAMP)
_BY_SERVICE = Split("terms", ecs.SERVICE_NAME, size=20, missing=NO_SERVICE)

PANELS: tuple[Panel, ...] = (
    Panel(
        "requests_per_minute",
        "Requests per minute by service",
        names.EVENTS,
        (Metric("count", "Requests/min", per_minute=True, rollup=_EVENTS_SUM),),
        (_TIME, _BY_SERVICE),
        "stacked_bar",
        width=2,
        aggregates=agg.SCOPE_SERVICE,
    ),
    Panel(
        "error_rate",
        "4xx and 5xx rate",
        names.EVENTS,
        (
            Metric(
                "ratio",
                "4xx rate",
                numerator=Condition(ecs.STATUS_CLASS, ("4xx",)),
                rollup=Rollup((agg.AGG_STATUS_4XX,), over=agg.AGG_EVENTS),
            ),
            Metric(
                "ratio",
                "5xx rate",
                numerator=Condition(ecs.STATUS_CLASS, ("5xx",)),
                rollup=Rollup((agg.AGG_STATUS_5XX,), over=agg.AGG_EVENTS),
            ),
        ),
        (_TIME,),
        "line",
        aggregates=agg.SCOPE_SERVICE,
    ),
    Panel(
        "unique_visitors",
        "Unique visitors and bytes served",
        names.EVENTS,
        (
            # client.ip: the client's address wherever the line names it (X-Forwarded-For, a JSON
            # client_ip, else the peer address), so JSON API logs count too.
            Metric(
                "cardinality",
                "Unique visitors",
                field=ecs.CLIENT_IP,
                hourly_scope=agg.SCOPE_VISITOR,
            ),
            Metric(
                "sum",
                "Bytes served",
                field=ecs.HTTP_RESPONSE_BODY_BYTES,
                unit="bytes",
                rollup=_BYTES_SUM,
            ),
            Metric("count", "Requests", rollup=_EVENTS_SUM),
        ),
        (),
        "metric",
        aggregates=agg.SCOPE_SERVICE,
    ),
    Panel(
        "bytes_served",
        "Bytes served",
        names.EVENTS,
        (
            Metric(
                "sum", "Bytes", field=ecs.HTTP_RESPONSE_BODY_BYTES, unit="bytes", rollup=_BYTES_SUM
            ),
        ),
        (_TIME,),
        "bar",
        aggregates=agg.SCOPE_SERVICE,
    ),
    Panel(
        "latency",
        "Latency percentiles (where logs carry it)",
        names.EVENTS,
        (
            Metric(
                "percentiles", "Latency", field=ecs.EVENT_DURATION, percents=(50, 95, 99), unit="ns"
            ),
        ),
        (_TIME,),
        "line",
        samples=True,
    ),
    Panel(
        "top_endpoints",
        "Top endpoints",
        names.EVENTS,
        (
            Metric("count", "Requests", rollup=_EVENTS_SUM),
            Metric(
                "ratio",
                "Error rate",
                numerator=Condition(ecs.IS_ERROR, (True,)),
                rollup=Rollup((agg.AGG_STATUS_4XX, agg.AGG_STATUS_5XX), over=agg.AGG_EVENTS),
            ),
            # Percentiles do not merge across partials: from the events of the top endpoints.
            Metric(
                "percentiles", "p95 latency", field=ecs.EVENT_DURATION, percents=(95,), unit="ns"
            ),
        ),
        (Split("terms", ecs.ENDPOINT, size=10),),
        "table",
        width=2,
        aggregates=agg.SCOPE_ENDPOINT,
        samples=True,
    ),
    Panel(
        "browsers",
        "Browsers",
        names.EVENTS,
        (_COUNT,),
        (Split("terms", ecs.USER_AGENT_NAME, size=10, missing=UNKNOWN),),
        samples=True,
    ),
    Panel(
        "operating_systems",
        "Operating systems",
        names.EVENTS,
        (_COUNT,),
        (Split("terms", ecs.USER_AGENT_OS_NAME, size=10, missing=UNKNOWN),),
        samples=True,
    ),
    Panel(
        "device_types",
        "Device types",
        names.EVENTS,
        (_COUNT,),
        (Split("terms", ecs.DEVICE_TYPE, size=10, missing=UNKNOWN),),
        samples=True,
    ),
    Panel(
        "countries",
        "Traffic by country",
        names.EVENTS,
        (_COUNT,),
        (Split("terms", ecs.SOURCE_GEO_COUNTRY_NAME, size=15, missing=UNKNOWN),),
        samples=True,
    ),
    Panel(
        "access_heatmap",
        "Access time (weekday x hour)",
        names.EVENTS,
        (Metric("count", "Events", rollup=_EVENTS_SUM),),
        (Split("hour_weekday", ecs.TIMESTAMP),),
        "heatmap",
        width=2,
        aggregates=agg.SCOPE_SERVICE,
    ),
    Panel(
        "anomalies",
        "Anomalies found (docs/anomalies.md)",
        names.ANOMALIES,
        (Metric("count", "Anomalous windows"),),
        (
            Split("terms", ecs.SERVICE_NAME, size=20, missing=NO_SERVICE),
            Split("terms", anomalies.METRIC, size=10),
        ),
        "table",
        width=2,
    ),
    Panel(
        "dead_letters",
        "Dead letters by reason",
        names.DEAD_LETTER,
        (Metric("count", "Dead letters"),),
        (Split("terms", derived.ERROR_MESSAGE_KEYWORD, size=10, missing=UNKNOWN),),
        board="pipeline",
        width=2,
    ),
    Panel(
        "batches",
        "Pipeline accounting per batch",
        names.BATCHES,
        (
            Metric("sum", "Input", field=names.COUNT_INPUT),
            Metric("sum", "Indexed", field=names.COUNT_INDEXED),
            Metric("sum", "Filtered", field=names.COUNT_FILTERED),
            Metric("sum", "Dead letters", field=names.COUNT_DEAD_LETTER),
        ),
        (Split("date_histogram", names.BATCH_TIMESTAMP),),
        "line",
        board="pipeline",
        time_field=names.BATCH_TIMESTAMP,
        fixed=(Condition(names.BATCH_QUERY, (names.EVENTS_QUERY,)),),
        width=2,
    ),
)

PANELS_BY_ID: dict[str, Panel] = {panel.id: panel for panel in PANELS}
