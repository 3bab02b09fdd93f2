"""What is in Elasticsearch, as plain data: the queries behind ``logiflow report`` and the live
view of ``logiflow run``.

Pure functions over an ``elasticsearch`` client and an index prefix; they print nothing. Index
names and accounting fields come from ``logiflow.contract.index_names``, event fields from
``logiflow.contract.ecs``. Missing indices count as empty (a fresh cluster has none yet).
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass
from typing import Any

from elasticsearch import AuthorizationException, Elasticsearch

from logiflow.contract import ecs
from logiflow.contract import index_names as names

STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


@dataclass(frozen=True)
class EndpointStats:
    endpoint: str
    requests: int
    errors: int

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "error_rate": round(self.error_rate, 6)}


@dataclass(frozen=True)
class Traffic:
    """Requests among events (those with an HTTP status), by class, errors, top endpoints."""

    requests: int
    errors: int
    status_classes: dict[str, int]
    top_endpoints: list[EndpointStats]

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class BatchTotals:
    """Sums over the ETL's per-micro-batch accounting documents (events query)."""

    batches: int = 0
    input: int = 0
    indexed: int = 0
    filtered: int = 0
    dead_letter: int = 0


@dataclass(frozen=True)
class Report:
    index_prefix: str
    events_indexed: int
    dead_letters: int
    batches: BatchTotals
    traffic: Traffic
    first_event: str | None = None
    last_event: str | None = None

    def as_json(self) -> dict[str, Any]:
        """Stable keys for scripts (documented in ``logiflow report --help``)."""
        return {
            "index_prefix": self.index_prefix,
            "events_indexed": self.events_indexed,
            "dead_letters": self.dead_letters,
            "filtered": self.batches.filtered,
            "batches": asdict(self.batches),
            "requests": self.traffic.requests,
            "errors": self.traffic.errors,
            "error_rate": round(self.traffic.error_rate, 6),
            "status_classes": self.traffic.status_classes,
            "top_endpoints": [e.as_dict() for e in self.traffic.top_endpoints],
            "first_event": self.first_event,
            "last_event": self.last_event,
        }


def refresh_before_counting(client: Elasticsearch, prefix: str, refresh_interval: str) -> None:
    """Make everything written so far countable: refresh LogiFlow's indices, or, for a user
    without the ``maintenance`` privilege (the chart's writer and reader), wait one refresh
    interval, after which every earlier write is searchable.

    Without it a count right after the ETL (``etl --until-caught-up``, then ``report``) can miss
    the last second of writes, or all of them with a longer ``refresh_interval``.
    """
    patterns = ",".join(names.index_pattern(prefix, kind) for kind in names.KINDS)
    try:
        client.indices.refresh(index=patterns, ignore_unavailable=True, allow_no_indices=True)
    except AuthorizationException:
        time.sleep(time_value_seconds(refresh_interval))


def time_value_seconds(interval: str) -> float:
    """An Elasticsearch time value of the form ``refresh_interval`` takes (500ms, 1s, 1m)."""
    match = re.fullmatch(r"([0-9]+)(ms|s|m)", interval)
    if match is None:
        raise ValueError(f"not a time value like 1s, 500ms or 1m: {interval!r}")
    return int(match.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[match.group(2)]


def count(client: Elasticsearch, index: str, query: dict[str, Any] | None = None) -> int:
    response = client.count(
        index=index, query=query or None, ignore_unavailable=True, allow_no_indices=True
    )
    return int(response["count"])


def _traffic_aggs(top: int) -> dict[str, Any]:
    is_error = {"term": {ecs.IS_ERROR: True}}
    return {
        "requests": {"filter": {"exists": {"field": ecs.HTTP_RESPONSE_STATUS_CODE}}},
        "errors": {"filter": is_error},
        "status_classes": {"terms": {"field": ecs.STATUS_CLASS, "size": 10}},
        "endpoints": {
            "terms": {"field": ecs.ENDPOINT, "size": top},
            "aggs": {"errors": {"filter": is_error}},
        },
    }


def _traffic(aggregations: dict[str, Any]) -> Traffic:
    classes = dict.fromkeys(STATUS_CLASSES, 0)
    for bucket in aggregations["status_classes"]["buckets"]:
        classes[str(bucket["key"])] = int(bucket["doc_count"])
    endpoints = [
        EndpointStats(str(b["key"]), int(b["doc_count"]), int(b["errors"]["doc_count"]))
        for b in aggregations["endpoints"]["buckets"]
    ]
    return Traffic(
        requests=int(aggregations["requests"]["doc_count"]),
        errors=int(aggregations["errors"]["doc_count"]),
        status_classes=classes,
        top_endpoints=endpoints,
    )


def traffic(
    client: Elasticsearch, prefix: str, *, top: int = 10, since: str | None = None
) -> Traffic:
    """Traffic among indexed events; ``since`` is an ES date-math lower bound on @timestamp."""
    query: dict[str, Any] = (
        {"range": {ecs.TIMESTAMP: {"gte": since}}} if since else {"match_all": {}}
    )
    response = client.search(
        index=names.index_pattern(prefix, names.EVENTS),
        size=0,
        query=query,
        aggs=_traffic_aggs(top),
        track_total_hits=False,
        ignore_unavailable=True,
        allow_no_indices=True,
    )
    aggregations = response.get("aggregations")
    if not aggregations:
        return Traffic(0, 0, dict.fromkeys(STATUS_CLASSES, 0), [])
    return _traffic(aggregations)


def batch_totals(client: Elasticsearch, prefix: str) -> BatchTotals:
    sums = {
        "input": names.COUNT_INPUT,
        "indexed": names.COUNT_INDEXED,
        "filtered": names.COUNT_FILTERED,
        "dead_letter": names.COUNT_DEAD_LETTER,
    }
    response = client.search(
        index=names.batches_index(prefix),
        size=0,
        query={"term": {names.BATCH_QUERY: names.EVENTS_QUERY}},
        aggs={key: {"sum": {"field": path}} for key, path in sums.items()},
        track_total_hits=True,
        ignore_unavailable=True,
        allow_no_indices=True,
    )
    aggregations = response.get("aggregations")
    if not aggregations:
        return BatchTotals()
    return BatchTotals(
        batches=int(response["hits"]["total"]["value"]),
        **{key: int(aggregations[key]["value"] or 0) for key in sums},
    )


def event_time_range(client: Elasticsearch, prefix: str) -> tuple[str | None, str | None]:
    response = client.search(
        index=names.index_pattern(prefix, names.EVENTS),
        size=0,
        aggs={
            "first": {"min": {"field": ecs.TIMESTAMP}},
            "last": {"max": {"field": ecs.TIMESTAMP}},
        },
        track_total_hits=False,
        ignore_unavailable=True,
        allow_no_indices=True,
    )
    aggregations = response.get("aggregations") or {}
    first = (aggregations.get("first") or {}).get("value_as_string")
    last = (aggregations.get("last") or {}).get("value_as_string")
    return first, last


def build_report(client: Elasticsearch, prefix: str, *, top: int = 10) -> Report:
    """Everything ``logiflow report`` shows, in a handful of requests."""
    first, last = event_time_range(client, prefix)
    return Report(
        index_prefix=prefix,
        events_indexed=count(client, names.index_pattern(prefix, names.EVENTS)),
        dead_letters=count(client, names.index_pattern(prefix, names.DEAD_LETTER)),
        batches=batch_totals(client, prefix),
        traffic=traffic(client, prefix, top=top),
        first_event=first,
        last_event=last,
    )


@dataclass(frozen=True)
class LiveSnapshot:
    """What the live view shows from Elasticsearch, refreshed every couple of seconds."""

    events_indexed: int
    dead_letters: int
    last_minute: Traffic


def live_snapshot(client: Elasticsearch, prefix: str, *, top: int = 5) -> LiveSnapshot:
    return LiveSnapshot(
        events_indexed=count(client, names.index_pattern(prefix, names.EVENTS)),
        dead_letters=count(client, names.index_pattern(prefix, names.DEAD_LETTER)),
        last_minute=traffic(client, prefix, top=top, since="now-1m"),
    )
