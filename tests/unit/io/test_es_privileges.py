"""es_privileges: the call list matches requests, and the privilege arithmetic the chart test
and the ETL's start-up check rely on (implied privileges, unmet and spare ones)."""

from __future__ import annotations

from typing import Any

import pytest

from logiflow.errors import ConfigError
from logiflow.io.es_privileges import (
    COMPONENT_CALLS,
    call_named,
    check_own_privileges,
    superfluous,
    unmet,
)


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("GET", "/_cluster/health", "cluster health"),
        ("POST", "/_bulk", "bulk"),
        ("PUT", "/logiflow-events-2026.11.30/_bulk?refresh=false", "bulk"),
        ("POST", "/logiflow-events-*/_search", "search"),
        ("PUT", "/_index_template/logiflow-events", "put index template"),
        ("GET", "/_ilm/policy/logiflow-events", "get ilm policy"),
        ("POST", "/_security/user/_has_privileges", "has privileges"),
        ("DELETE", "/logiflow-events-2026.11.30", None),
        ("POST", "/_refresh", None),  # every index: not a call of LogiFlow's
        ("POST", "/logiflow-events-*,logiflow-batches/_refresh", "refresh"),
    ],
)
def test_requests_are_named_by_their_call(method: str, path: str, name: str | None) -> None:
    assert call_named(method, path) == name


def test_the_writer_role_covers_the_etl_and_its_check_exactly() -> None:
    calls = [*COMPONENT_CALLS["etl"], *COMPONENT_CALLS["check"]]
    writer = ["create_index", "index", "maintenance", "read"]
    assert unmet(calls, ["monitor"], writer) == []
    assert superfluous(calls, ["monitor"], writer) == []
    # write implies index; a second way to create indices is spare; missing read is named.
    assert unmet(calls, ["monitor"], ["create_index", "write", "maintenance", "read"]) == []
    spare = superfluous(calls, ["monitor"], [*writer, "auto_configure"])
    assert spare == ["indices: create_index", "indices: auto_configure"]
    assert unmet(calls, ["monitor"], ["create_index", "index", "maintenance"]) == ["indices: read"]


def test_setup_needs_template_and_lifecycle_privileges() -> None:
    calls = COMPONENT_CALLS["setup"]
    granted = ["monitor", "manage_index_templates", "manage_ilm"]
    assert unmet(calls, granted, []) == [] and superfluous(calls, granted, []) == []
    assert unmet(calls, ["monitor"], []) == [
        "cluster: manage_ilm",
        "cluster: manage_index_templates",
        "cluster: read_ilm or manage_ilm",
    ]
    # Each one alone could go (the others, or manage, still cover the calls).
    assert superfluous(calls, ["manage", *granted], []) == [
        "cluster: manage",
        "cluster: monitor",
        "cluster: manage_index_templates",
        "cluster: manage_ilm",
    ]


class _Security:
    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.asked: dict[str, Any] = {}

    def has_privileges(self, **request: Any) -> dict[str, Any]:
        self.asked = request
        return self.answer


class _Client:
    def __init__(self, answer: dict[str, Any]) -> None:
        self.security = _Security(answer)


def test_the_etl_asks_for_its_least_privileges_and_names_what_is_missing() -> None:
    answer = {
        "username": "logiflow-etl",
        "has_all_requested": False,
        "cluster": {"monitor": True},
        "index": {"acme-*": {"create_index": True, "index": False}},
    }
    client = _Client(answer)
    with pytest.raises(ConfigError, match=r"'logiflow-etl' lacks index on acme-\*, which the etl"):
        check_own_privileges(client, "acme", "etl")  # type: ignore[arg-type]
    assert client.security.asked == {
        "cluster": ["monitor"],
        "index": [{"names": ["acme-*"], "privileges": ["create_index", "index", "maintenance"]}],
    }
    client = _Client({"has_all_requested": True})
    check_own_privileges(client, "acme", "etl")  # type: ignore[arg-type]


def test_backfill_needs_delete_on_the_dead_letter_indices_only() -> None:
    calls = COMPONENT_CALLS["backfill"]
    writer = ["create_index", "index", "maintenance", "read"]
    assert unmet(calls, ["monitor"], writer) == ["indices deadletter-*: delete or write"]
    narrower = {"deadletter-*": ["delete"]}
    assert unmet(calls, ["monitor"], writer, narrower) == []
    assert superfluous(calls, ["monitor"], writer, narrower) == []
    # Granted on every index it covers the dead letters too, and the narrower grant is spare.
    assert unmet(calls, ["monitor"], [*writer, "delete"]) == []
    spare = superfluous(calls, ["monitor"], [*writer, "delete"], narrower)
    assert spare == ["indices: delete", "indices deadletter-*: delete"]
    assert call_named("DELETE", "/_search/scroll") == "clear scroll"
    assert call_named("POST", "/_search/scroll") == "scroll"


def test_backfill_asks_for_delete_on_the_dead_letter_pattern() -> None:
    client = _Client({"has_all_requested": True})
    check_own_privileges(client, "acme", "backfill")  # type: ignore[arg-type]
    assert client.security.asked["index"] == [
        {"names": ["acme-*"], "privileges": ["create_index", "index", "maintenance", "read"]},
        {"names": ["acme-deadletter-*"], "privileges": ["delete"]},
    ]
