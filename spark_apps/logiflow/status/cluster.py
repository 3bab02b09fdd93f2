"""A Helm release's health as the Kubernetes API reports it.

Reads the release's custom resources (selected by the chart's ``app.kubernetes.io/instance``
label, so any release or override name works) and the ETL's driver pod, and turns each into a
``Check``: Strimzi's ``Ready`` condition for Kafka, KafkaTopics and KafkaUsers, ECK's health for
Elasticsearch and Kibana, the Spark Operator's application state, and the driver pod's phase and
restarts. The ``evaluate_*`` functions are pure (a resource as a dict in, a check out); the
reading is in ``cluster_checks``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logiflow.errors import ConfigError, ServiceUnreachableError
from logiflow.status.checks import DEGRADED, FAILED, OK, Check, Level

Resource = dict[str, Any]

# The Spark Operator's application states: running is healthy; these are on their way there.
SPARK_STARTING = {"", "SUBMITTED", "PENDING_RERUN", "INVALIDATING"}
ES_LEVELS: dict[str, Level] = {"green": OK, "yellow": DEGRADED}


def _name(resource: Resource) -> str:
    return str(resource.get("metadata", {}).get("name", "?"))


def _status(resource: Resource) -> dict[str, Any]:
    return resource.get("status") or {}


def evaluate_ready_condition(component: str, resource: Resource) -> Check:
    """Strimzi resources: healthy when the ``Ready`` condition is ``True``."""
    conditions = _status(resource).get("conditions") or []
    by_type = {c.get("type"): c for c in conditions}
    ready = by_type.get("Ready")
    if ready is not None and ready.get("status") == "True":
        return Check(component, _name(resource), "Ready", OK)
    if not conditions:
        return Check(component, _name(resource), "no status", FAILED, "not reconciled yet")
    worst = by_type.get("NotReady") or ready or conditions[-1]
    detail = ": ".join(str(v) for v in (worst.get("reason"), worst.get("message")) if v)
    return Check(component, _name(resource), str(worst.get("type", "NotReady")), FAILED, detail)


def evaluate_eck_health(component: str, resource: Resource) -> Check:
    """ECK Elasticsearch and Kibana: ``health`` green is healthy, yellow degraded."""
    status = _status(resource)
    health = str(status.get("health") or "unknown")
    phase = status.get("phase")
    nodes = status.get("availableNodes")
    detail = ", ".join(
        part
        for part in (
            f"phase {phase}" if phase else "",
            f"{nodes} nodes available" if nodes is not None else "",
        )
        if part
    )
    return Check(component, _name(resource), health, ES_LEVELS.get(health, FAILED), detail)


def evaluate_spark_application(resource: Resource) -> Check:
    """Running is healthy, (re)submitting degraded; anything else (failed, completed: a
    streaming job must not end) is a failure."""
    status = _status(resource)
    state = str((status.get("applicationState") or {}).get("state") or "")
    error = str((status.get("applicationState") or {}).get("errorMessage") or "")
    attempts = status.get("submissionAttempts")
    detail = error or (f"{attempts} submission attempts" if attempts else "")
    if state == "RUNNING":
        level: Level = OK
    elif state in SPARK_STARTING:
        level = DEGRADED
    else:
        level = FAILED
    return Check("SparkApplication", _name(resource), state or "not submitted", level, detail)


def _last_termination(container: dict[str, Any]) -> str:
    terminated = (container.get("lastState") or {}).get("terminated") or {}
    waiting = (container.get("state") or {}).get("waiting") or {}
    return str(waiting.get("reason") or terminated.get("reason") or "")


def evaluate_driver_pod(pod: Resource, max_restarts: int) -> Check:
    """Running with every container ready, and no more than ``max_restarts`` restarts."""
    status = _status(pod)
    phase = str(status.get("phase") or "Unknown")
    containers = status.get("containerStatuses") or []
    restarts = sum(int(c.get("restartCount") or 0) for c in containers)
    reasons = sorted({r for r in map(_last_termination, containers) if r})
    detail = f"{restarts} restarts" + (f" (last: {', '.join(reasons)})" if reasons else "")
    if restarts > max_restarts or phase in ("Failed", "Unknown"):
        level: Level = FAILED
    elif phase == "Running" and all(c.get("ready") for c in containers):
        level = OK
    else:
        level = DEGRADED
    return Check("driver pod", _name(pod), phase, level, detail)


@dataclass(frozen=True)
class ResourceKind:
    """A custom resource kind the chart creates, and how its health is judged."""

    component: str
    group: str
    version: str
    plural: str
    required: bool
    evaluate: Callable[[Resource], Check]


KINDS = (
    ResourceKind(
        "Kafka",
        "kafka.strimzi.io",
        "v1",
        "kafkas",
        True,
        lambda r: evaluate_ready_condition("Kafka", r),
    ),
    ResourceKind(
        "KafkaTopic",
        "kafka.strimzi.io",
        "v1",
        "kafkatopics",
        False,
        lambda r: evaluate_ready_condition("KafkaTopic", r),
    ),
    ResourceKind(
        "KafkaUser",
        "kafka.strimzi.io",
        "v1",
        "kafkausers",
        False,
        lambda r: evaluate_ready_condition("KafkaUser", r),
    ),
    ResourceKind(
        "Elasticsearch",
        "elasticsearch.k8s.elastic.co",
        "v1",
        "elasticsearches",
        True,
        lambda r: evaluate_eck_health("Elasticsearch", r),
    ),
    ResourceKind(
        "Kibana",
        "kibana.k8s.elastic.co",
        "v1",
        "kibanas",
        False,
        lambda r: evaluate_eck_health("Kibana", r),
    ),
    ResourceKind(
        "SparkApplication",
        "sparkoperator.k8s.io",
        "v1beta2",
        "sparkapplications",
        True,
        evaluate_spark_application,
    ),
)


def kubernetes_client(kubeconfig: Path | None, context: str | None) -> Any:
    """An API client: in-cluster credentials inside a pod (unless a kubeconfig or context is
    given), else the kubeconfig (``--kubeconfig``, ``$KUBECONFIG`` or ~/.kube/config)."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    try:
        if kubeconfig is None and context is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config()
            return client.ApiClient()
        return config.new_client_from_config(
            config_file=str(kubeconfig) if kubeconfig else None, context=context
        )
    except (ConfigException, OSError) as exc:
        raise ConfigError(
            f"no Kubernetes credentials ({exc}): pass --kubeconfig/--context or run in a pod"
        ) from exc


def _list(api: Callable[..., Any], selector: str, what: str, host: str) -> list[Resource]:
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        return list(api(label_selector=selector).get("items") or [])
    except ApiException as exc:
        if exc.status == 404:
            raise LookupError(
                f"the API server does not serve {what} (operator CRD missing?)"
            ) from exc
        if exc.status in (401, 403):
            raise ConfigError(f"the Kubernetes API refused to list {what}: {exc.reason}") from exc
        raise
    except HTTPError as exc:
        raise ServiceUnreachableError("the Kubernetes API", host, str(exc)) from exc


def cluster_checks(api_client: Any, namespace: str, release: str, max_restarts: int) -> list[Check]:
    """One check per custom resource of the release, plus its driver pod."""
    from kubernetes import client

    custom = client.CustomObjectsApi(api_client)
    core = client.CoreV1Api(api_client)
    host = api_client.configuration.host
    selector = f"app.kubernetes.io/instance={release},app.kubernetes.io/part-of=logiflow"
    checks: list[Check] = []
    for kind in KINDS:

        def list_kind(label_selector: str, kind: ResourceKind = kind) -> Any:
            return custom.list_namespaced_custom_object(
                kind.group, kind.version, namespace, kind.plural, label_selector=label_selector
            )

        try:
            found = _list(list_kind, selector, f"{kind.plural}.{kind.group}", host)
        except LookupError as exc:
            checks.append(Check(kind.component, "", "not served", FAILED, str(exc)))
            continue
        if not found and kind.required:
            where = f"namespace {namespace}, release {release}"
            checks.append(Check(kind.component, "", "not found", FAILED, where))
        checks += [kind.evaluate(r) for r in sorted(found, key=_name)]

    def list_pods(label_selector: str) -> Any:
        pods = core.list_namespaced_pod(namespace, label_selector=label_selector)
        return api_client.sanitize_for_serialization(pods)

    drivers = _list(
        list_pods,
        f"app.kubernetes.io/instance={release},logiflow.io/spark-role=driver",
        "pods",
        host,
    )
    if not drivers:
        checks.append(Check("driver pod", "", "not found", FAILED, "no Spark driver pod runs"))
    checks += [evaluate_driver_pod(p, max_restarts) for p in sorted(drivers, key=_name)]
    return checks
