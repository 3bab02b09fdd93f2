"""Every Elasticsearch call each LogiFlow component makes, and the privilege each one needs.

One list for three readers: the ETL checks at start-up that its user holds what its calls need
(``has_privileges``, which every user may call about itself, so the check needs no privilege of
its own); the chart test checks that the role the chart gives each component covers exactly
these calls, no more (tests/chart/elasticsearch/test_chart_es_roles.py); and an integration test
records the requests each real component sends to the real local node and checks each is listed
here (tests/integration/test_es_calls.py), so the list cannot fall behind the code.

The privileges are Elasticsearch's documented ones (security privileges reference; each API's
"Prerequisites"): a requirement is met by any of the named privileges, the least first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from elasticsearch import ApiError, Elasticsearch

from logiflow.errors import ConfigError

Component = Literal["etl", "setup", "check", "backfill", "kibana-import", "kibana-check"]
AnyOf = tuple[str, ...]
# Index privileges granted on one of LogiFlow's index patterns narrower than ``<prefix>-*``,
# named by what follows the prefix (``deadletter-*``): pattern -> privileges.
Narrower = Mapping[str, Sequence[str]]
_NONE_NARROWER: Narrower = MappingProxyType({})

_INDEX = r"[^/_][^/]*"  # an index name or pattern: never starts with "_"
_NAME = r"[^/]+"


@dataclass(frozen=True)
class EsCall:
    """One REST call: its methods and path, and the privileges it needs."""

    methods: tuple[str, ...]
    path: str  # a regular expression over the path, without the query string
    cluster: tuple[AnyOf, ...] = ()
    # On LogiFlow's indices (``<prefix>-*``); each requirement met by any of its privileges.
    index: tuple[AnyOf, ...] = ()
    # The indices ``index`` is needed on: "*" (all of LogiFlow's, ``<prefix>-*``) or a narrower
    # pattern, named by what follows ``<prefix>-``.
    on: str = "*"
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", re.compile(self.path))

    def matches(self, method: str, path: str) -> bool:
        return method in self.methods and bool(self._compiled.fullmatch(path.split("?", 1)[0]))


_READ = ("GET", "HEAD")
_READ_BODY = ("GET", "POST")

CALLS: dict[str, EsCall] = {
    # logiflow.io.es_client.check_reachable, by every component that talks to Elasticsearch.
    "cluster health": EsCall(_READ, r"/_cluster/health", cluster=(("monitor",),)),
    # Any user may ask about their own privileges (the ETL's start-up check).
    "has privileges": EsCall(_READ_BODY, r"/_security/user/_has_privileges"),
    # The sink and the batch accounting: "index" operations, into indices the bulk request
    # creates from the templates when the day's index does not exist yet.
    "bulk": EsCall(
        ("POST", "PUT"),
        rf"(/{_INDEX})?/_bulk",
        index=(("index", "write"), ("create_index", "auto_configure")),
    ),
    # The end of `logiflow etl --until-caught-up` (and `logiflow report`): what was written is
    # made searchable before anything counts it.
    "refresh": EsCall(("POST", "GET"), rf"/{_INDEX}/_refresh", index=(("maintenance",),)),
    # logiflow check (helm test): the marker event it waits for.
    "search": EsCall(_READ_BODY, rf"/{_INDEX}/_search", index=(("read",),)),
    # Backfill (as the ETL's user): the dead letters of its range are listed with a scrolled
    # search (above), and those that are events now are deleted by id in bulk requests, which
    # only their body tells from the "index" ones (so a request is always named "bulk").
    "scroll": EsCall(_READ_BODY, r"/_search/scroll(/[^/]+)?", index=(("read",),)),
    "clear scroll": EsCall(("DELETE",), r"/_search/scroll(/[^/]+)?"),
    "delete dead letters": EsCall(
        ("POST", "PUT"), rf"(/{_INDEX})?/_bulk", index=(("delete", "write"),), on="deadletter-*"
    ),
    # logiflow es-setup (the chart's setup Job).
    "ilm status": EsCall(_READ, r"/_ilm/status", cluster=(("read_ilm", "manage_ilm"),)),
    "get ilm policy": EsCall(
        _READ, rf"/_ilm/policy/{_NAME}", cluster=(("read_ilm", "manage_ilm"),)
    ),
    "put ilm policy": EsCall(("PUT",), rf"/_ilm/policy/{_NAME}", cluster=(("manage_ilm",),)),
    "get component template": EsCall(
        _READ, rf"/_component_template/{_NAME}", cluster=(("manage_index_templates",),)
    ),
    "put component template": EsCall(
        ("PUT", "POST"), rf"/_component_template/{_NAME}", cluster=(("manage_index_templates",),)
    ),
    "get index template": EsCall(
        _READ, rf"/_index_template/{_NAME}", cluster=(("manage_index_templates",),)
    ),
    "put index template": EsCall(
        ("PUT", "POST"), rf"/_index_template/{_NAME}", cluster=(("manage_index_templates",),)
    ),
}

# What each component calls. The Kibana import and its helm test talk to Kibana only (their
# roles hold Kibana feature privileges, checked in tests/chart/kibana).
COMPONENT_CALLS: dict[Component, tuple[str, ...]] = {
    "etl": ("cluster health", "has privileges", "bulk", "refresh"),
    "setup": (
        "cluster health",
        "ilm status",
        "get ilm policy",
        "put ilm policy",
        "get component template",
        "put component template",
        "get index template",
        "put index template",
    ),
    "check": ("cluster health", "search"),
    # `logiflow backfill --skip-es-setup`, as the Airflow DAG runs it with the ETL's user.
    "backfill": (
        "cluster health",
        "has privileges",
        "bulk",
        "refresh",
        "search",
        "scroll",
        "clear scroll",
        "delete dead letters",
    ),
    "kibana-import": (),
    "kibana-check": (),
}

# What a privilege grants besides itself (only the ones LogiFlow's calls can need).
_CLUSTER_IMPLIES = {
    "all": {"monitor", "manage", "manage_ilm", "read_ilm", "manage_index_templates"},
    "manage": {"monitor", "manage_ilm", "read_ilm", "manage_index_templates"},
    "manage_ilm": {"read_ilm"},
}
_INDEX_IMPLIES = {
    "all": {
        "manage", "write", "index", "delete", "read", "create_index", "auto_configure",
        "maintenance",
    },
    "manage": {"create_index", "auto_configure", "maintenance"},
    "write": {"index", "delete"},
}  # fmt: skip


def _grants(granted: Iterable[str], requirement: AnyOf, implies: dict[str, set[str]]) -> bool:
    held = set(granted)
    for privilege in granted:
        held |= implies.get(privilege, set())
    return any(option in held for option in requirement)


def requirements(calls: Iterable[str]) -> tuple[set[AnyOf], set[tuple[str, AnyOf]]]:
    """The cluster and index requirements of ``calls`` (names from ``CALLS``); each index one
    with the pattern it is needed on ("*": all of LogiFlow's indices)."""
    cluster: set[AnyOf] = set()
    index: set[tuple[str, AnyOf]] = set()
    for name in calls:
        cluster.update(CALLS[name].cluster)
        index.update((CALLS[name].on, requirement) for requirement in CALLS[name].index)
    return cluster, index


def _index_label(on: str) -> str:
    return "indices" if on == "*" else f"indices {on}"


def unmet(
    calls: Iterable[str],
    cluster: Iterable[str],
    index: Iterable[str],
    narrower: Narrower = _NONE_NARROWER,
) -> list[str]:
    """The requirements of ``calls`` that ``cluster`` privileges, ``index`` privileges on all of
    LogiFlow's indices and ``narrower`` ones on some of them leave unmet."""
    cluster, index = list(cluster), list(index)
    need_cluster, need_index = requirements(calls)
    missing = [
        f"cluster: {' or '.join(r)}"
        for r in sorted(need_cluster)
        if not _grants(cluster, r, _CLUSTER_IMPLIES)
    ]
    missing += [
        f"{_index_label(on)}: {' or '.join(r)}"
        for on, r in sorted(need_index)
        if not _grants([*index, *narrower.get(on, ())], r, _INDEX_IMPLIES)
    ]
    return missing


def superfluous(
    calls: Iterable[str],
    cluster: Iterable[str],
    index: Iterable[str],
    narrower: Narrower = _NONE_NARROWER,
) -> list[str]:
    """The privileges that could be taken away with ``calls`` still all covered."""
    calls, cluster, index = list(calls), list(cluster), list(index)
    spare = [
        f"cluster: {p}"
        for p in cluster
        if not unmet(calls, [c for c in cluster if c != p], index, narrower)
    ]
    spare += [
        f"indices: {p}"
        for p in index
        if not unmet(calls, cluster, [i for i in index if i != p], narrower)
    ]
    for on, granted in narrower.items():
        for p in granted:
            fewer = {**narrower, on: [g for g in granted if g != p]}
            if not unmet(calls, cluster, index, fewer):
                spare.append(f"{_index_label(on)}: {p}")
    return spare


def call_named(method: str, path: str) -> str | None:
    """The name in ``CALLS`` of a request, or None when no listed call matches it."""
    return next((name for name, call in CALLS.items() if call.matches(method, path)), None)


def _least(requirement_set: set[AnyOf]) -> list[str]:
    return sorted({requirement[0] for requirement in requirement_set})


def check_own_privileges(client: Elasticsearch, index_prefix: str, component: Component) -> None:
    """Raise ConfigError naming what this user lacks for ``component``'s calls.

    Clusters without security (the embedded default) have no such API and pass; so does every
    user that holds the privileges, whatever role grants them.
    """
    need_cluster, need_index = requirements(COMPONENT_CALLS[component])
    # "*": every LogiFlow index, as the chart's roles name them; or a narrower pattern.
    patterns = sorted({on for on, _ in need_index})
    try:
        answer = client.security.has_privileges(
            cluster=_least(need_cluster),
            index=[
                {
                    "names": [f"{index_prefix}-{on}"],
                    "privileges": _least({r for o, r in need_index if o == on}),
                }
                for on in patterns
            ],
        )
    except ApiError as exc:
        if _no_security(exc):
            return
        raise
    if answer.get("has_all_requested", True):
        return
    missing = [name for name, held in answer.get("cluster", {}).items() if not held]
    for pattern, privileges in answer.get("index", {}).items():
        missing += [f"{name} on {pattern}" for name, held in privileges.items() if not held]
    raise ConfigError(
        f"the Elasticsearch user {answer.get('username', '?')!r} lacks {', '.join(missing)}, "
        f"which the {component} needs (logiflow.io.es_privileges lists its calls); grant them, "
        "as the chart's roles do"
    )


def _no_security(exc: ApiError) -> bool:
    """The cluster has no security API (a minimal distribution) or has security turned off."""
    if exc.status_code in (400, 404, 405, 410, 501):
        return True
    return exc.status_code == 500 and "security" in str(exc.message).lower()
