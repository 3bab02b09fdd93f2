"""Counting documents in tests: refreshed first, so what was just written is searchable."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch, helpers

from logiflow.report import count


def count_documents(es: Elasticsearch, pattern: str, query: dict[str, Any] | None = None) -> int:
    """Documents in ``pattern`` (matching ``query``); missing indices count as empty."""
    es.indices.refresh(index=pattern, allow_no_indices=True, ignore_unavailable=True)
    return count(es, pattern, query)


def all_documents(es: Elasticsearch, pattern: str) -> dict[str, Any]:
    """Every document of ``pattern`` (refreshed first): id -> source."""
    es.indices.refresh(index=pattern, allow_no_indices=True, ignore_unavailable=True)
    hits = helpers.scan(
        es, index=pattern, query={"query": {"match_all": {}}}, ignore_unavailable=True
    )
    return {hit["_id"]: hit["_source"] for hit in hits}
