"""Reads anomaly documents back (``logiflow anomalies``): newest first, optionally one service;
or all of a time range, to score against labels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch, helpers

from logiflow.contract import anomalies as a
from logiflow.contract import index_names as names


def recent_anomalies(
    es: Elasticsearch,
    prefix: str,
    since: datetime | None = None,
    service: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The ``limit`` newest anomaly documents from ``since`` on (their ``_source``)."""
    filters: list[dict[str, Any]] = []
    if since is not None:
        filters.append({"range": {a.TIMESTAMP: {"gte": since.isoformat()}}})
    if service is not None:
        filters.append({"term": {a.SERVICE: service}})
    response = es.search(
        index=names.index_pattern(prefix, names.ANOMALIES),
        query={"bool": {"filter": filters}},
        sort=[{a.TIMESTAMP: "desc"}, {a.SCORE: "desc"}],
        size=limit,
        ignore_unavailable=True,
        allow_no_indices=True,
    )
    return [hit["_source"] for hit in response["hits"]["hits"]]


def anomalies_between(
    es: Elasticsearch, prefix: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Every anomaly document with ``start <= @timestamp < end`` (their ``_source``), for
    scoring against labels: all of them, however many."""
    return [
        hit["_source"]
        for hit in helpers.scan(
            es,
            index=names.index_pattern(prefix, names.ANOMALIES),
            query={"query": {"range": {a.TIMESTAMP: _between(start, end)}}},
            ignore_unavailable=True,
            allow_no_indices=True,
        )
    ]


def _between(start: datetime, end: datetime) -> dict[str, str]:
    return {"gte": start.isoformat(), "lt": end.isoformat()}
