"""The Elasticsearch role each component gets covers exactly the calls it makes.

The calls and the privileges they need are listed once, in ``logiflow.io.es_privileges`` (and
tests/integration/test_es_calls.py records the real components' requests against that list).
Here each component's role is read from the rendered chart as a pod would get it: the
``LOGIFLOW_ELASTICSEARCH__USERNAME`` of its containers names a users Secret, whose ``roles``
names a role of the roles Secret. A role must meet every requirement of the calls of the
components using it, and hold no privilege those calls could do without. Backfill from the
archive is no chart object: the Airflow DAG runs it as SparkApplications rendered from the ETL's
(spark_apps/airflow_dags), so with the ETL's credentials and role.
"""

from __future__ import annotations

import base64
from typing import Any

import yaml
from chart_render import Doc, one

from logiflow.io.es_privileges import COMPONENT_CALLS, Component, superfluous, unmet

NAME = "lf-logiflow"
# The object that runs each component, as (kind, name).
COMPONENT_OBJECTS: dict[Component, tuple[str, str]] = {
    "etl": ("SparkApplication", f"{NAME}-etl"),
    "setup": ("Job", f"{NAME}-es-setup"),
    "check": ("Pod", f"{NAME}-test-marker"),
    "kibana-import": ("Job", f"{NAME}-kibana-dashboards"),
    "kibana-check": ("Pod", f"{NAME}-test-kibana-dashboards"),
}
# Roles for people, not components: their index privileges serve Kibana's Discover and
# dashboards (read the documents, list the fields), which no LogiFlow code calls.
PEOPLE_INDEX_PRIVILEGES = {"logiflow_viewer": ["read", "view_index_metadata"]}
USERNAME_VARIABLES = ("LOGIFLOW_ELASTICSEARCH__USERNAME", "LOGIFLOW_KIBANA__USERNAME")
# Components run with another's credentials, outside the chart (the DAG's backfill: the ETL's).
RUN_AS: dict[Component, Component] = {"backfill": "etl"}


def _env(node: Any) -> list[dict[str, Any]]:
    """Every env entry anywhere in an object (pod specs, pod templates, the Spark driver's)."""
    if isinstance(node, dict):
        found = list(node["env"]) if isinstance(node.get("env"), list) else []
        return found + [e for value in node.values() for e in _env(value)]
    if isinstance(node, list):
        return [e for value in node for e in _env(value)]
    return []


def _user_secrets(obj: Doc) -> set[str]:
    return {
        entry["valueFrom"]["secretKeyRef"]["name"]
        for entry in _env(obj)
        if entry.get("name") in USERNAME_VARIABLES and "valueFrom" in entry
    }


def role_users(docs: list[Doc]) -> dict[str, list[Component]]:
    """Role name -> the components whose credentials carry it, read from the manifests."""
    secret_role = {
        d["metadata"]["name"]: base64.b64decode(d["data"]["roles"]).decode()
        for d in docs
        if d["kind"] == "Secret" and d.get("type") == "kubernetes.io/basic-auth"
    }
    users: dict[str, list[Component]] = {}
    for component, (kind, name) in COMPONENT_OBJECTS.items():
        objects = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
        for secret in set().union(*(_user_secrets(o) for o in objects)):
            users.setdefault(secret_role[secret], []).append(component)
    for role_components in users.values():
        role_components += [c for c, host in RUN_AS.items() if host in role_components]
    return users


def _privileges(
    role: dict[str, Any], prefix: str
) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """Cluster privileges, index privileges on all of LogiFlow's indices, and those on narrower
    patterns of them (by what follows the prefix)."""
    index: list[str] = []
    narrower: dict[str, list[str]] = {}
    for grant in role.get("indices", []):
        [name] = grant["names"]
        assert name.startswith(f"{prefix}-"), grant  # LogiFlow's indices, nothing else
        if name == f"{prefix}-*":
            index += grant["privileges"]
        else:
            narrower.setdefault(name.removeprefix(f"{prefix}-"), []).extend(grant["privileges"])
    return list(role.get("cluster", [])), index, narrower


def test_every_component_that_calls_elasticsearch_has_a_role(docs: list[Doc]) -> None:
    users = role_users(docs)
    using = {c for components in users.values() for c in components if c not in RUN_AS}
    present = {
        c
        for c, (kind, name) in COMPONENT_OBJECTS.items()
        if any(d["kind"] == kind and d["metadata"]["name"] == name for d in docs)
    }
    assert using == present
    # No other object carries Elasticsearch or Kibana credentials unaccounted for here.
    known = set(COMPONENT_OBJECTS.values())
    strays = [
        (d["kind"], d["metadata"]["name"])
        for d in docs
        if _user_secrets(d) and (d["kind"], d["metadata"]["name"]) not in known
    ]
    assert strays == []


def test_each_role_covers_exactly_the_calls_of_its_components(docs: list[Doc]) -> None:
    roles = yaml.safe_load(one(docs, "Secret", f"{NAME}-es-roles")["stringData"]["roles.yml"])
    for role_name, components in role_users(docs).items():
        calls = [call for c in components for call in COMPONENT_CALLS[c]]
        cluster, index, narrower = _privileges(roles[role_name], "logiflow")
        assert unmet(calls, cluster, index, narrower) == [], (role_name, components)
        spare = superfluous(calls, cluster, index, narrower)
        people = PEOPLE_INDEX_PRIVILEGES.get(role_name, [])
        assert spare == [f"indices: {p}" for p in people], (role_name, components)
        assert sorted(p for p in index if p in people) == sorted(people)


def test_the_etl_role_lacks_what_index_setup_needs(docs: list[Doc]) -> None:
    # The regression this guards: the ETL ran index setup as logiflow_writer at start-up.
    roles = yaml.safe_load(one(docs, "Secret", f"{NAME}-es-roles")["stringData"]["roles.yml"])
    cluster, index, narrower = _privileges(roles["logiflow_writer"], "logiflow")
    assert unmet(COMPONENT_CALLS["setup"], cluster, index, narrower)
    app = one(docs, "SparkApplication", f"{NAME}-etl")
    assert "--skip-es-setup" in app["spec"]["arguments"]


def test_the_writer_may_delete_dead_letters_and_nothing_else(docs: list[Doc]) -> None:
    # Backfill removes the dead letters it turned into events (it warned without this grant).
    roles = yaml.safe_load(one(docs, "Secret", f"{NAME}-es-roles")["stringData"]["roles.yml"])
    cluster, index, narrower = _privileges(roles["logiflow_writer"], "logiflow")
    assert narrower == {"deadletter-*": ["delete"]}
    assert "delete" not in index and "write" not in index
    assert unmet(COMPONENT_CALLS["backfill"], cluster, index, narrower) == []
    assert unmet(COMPONENT_CALLS["backfill"], cluster, index) == [
        "indices deadletter-*: delete or write"
    ]
