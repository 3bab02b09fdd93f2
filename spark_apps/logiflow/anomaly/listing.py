"""Reads anomaly documents back (``logiflow anomalies``): newest first, optionally one service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch

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
