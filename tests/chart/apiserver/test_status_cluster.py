"""``logiflow status`` against the real kube-apiserver: the release's own objects (the chart's
default render, created for real in their own namespace), their status patched to healthy and
to each failure, and the command's table, JSON and exit code read back.

No operator runs, so the tests write each status the way Strimzi, ECK and the Spark Operator
would. Elasticsearch is pointed at a closed port: the progress row must say it could not be
reached without failing the command.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from chart_render import Doc, render
from rich.console import Console
from typer.testing import CliRunner

from logiflow.cli import status_cmd
from logiflow.cli.main import app
from logiflow.status.cluster import KINDS

NAMESPACE = "status"
RELEASE = "lf"
NAME = "lf-logiflow"
DRIVER = f"{NAME}-etl-driver"
KIND_OF = {k.component: k for k in KINDS}

READY = {"conditions": [{"type": "Ready", "status": "True"}]}
HEALTHY: dict[str, dict[str, Any]] = {
    "Kafka": READY,
    "KafkaTopic": READY,
    "KafkaUser": READY,
    "Elasticsearch": {"health": "green", "phase": "Ready", "availableNodes": 3},
    "Kibana": {"health": "green", "availableNodes": 1},
    "SparkApplication": {
        "applicationState": {"state": "RUNNING"},
        "driverInfo": {"podName": DRIVER},
    },
}
RUNNING_POD = {
    "phase": "Running",
    "containerStatuses": [
        {
            "name": "spark-kubernetes-driver",
            "ready": True,
            "restartCount": 0,
            "image": "logiflow",
            "imageID": "",
            "state": {"running": {}},
        }
    ],
}


class Release:
    """The release's objects on the API server, and how to set their status."""

    def __init__(self, apiserver: Any) -> None:
        from kubernetes import client

        self.custom = client.CustomObjectsApi(apiserver.api_client)
        self.core = client.CoreV1Api(apiserver.api_client)
        self.objects: list[Doc] = [
            d for d in render() if d["kind"] in KIND_OF and d["kind"] != "KafkaNodePool"
        ]

    def create(self) -> None:
        self.core.create_namespace({"metadata": {"name": NAMESPACE}})
        for doc in self.objects:
            kind = KIND_OF[doc["kind"]]
            self.custom.create_namespaced_custom_object(
                kind.group, kind.version, NAMESPACE, kind.plural, doc
            )
        self.create_driver()

    def create_driver(self) -> None:
        self.core.create_namespaced_pod(
            NAMESPACE,
            {
                "metadata": {
                    "name": DRIVER,
                    "labels": {
                        "app.kubernetes.io/instance": RELEASE,
                        "logiflow.io/spark-role": "driver",
                    },
                },
                "spec": {"containers": [{"name": "spark-kubernetes-driver", "image": "logiflow"}]},
            },
        )

    def set_status(self, kind: str, status: dict[str, Any], name: str | None = None) -> None:
        for doc in self.objects:
            if doc["kind"] == kind and name in (None, doc["metadata"]["name"]):
                spec = KIND_OF[kind]
                found = doc["metadata"]["name"]
                current = self.custom.get_namespaced_custom_object(
                    spec.group, spec.version, NAMESPACE, spec.plural, found
                )
                # The whole status is replaced (not merged), as an operator writes it.
                current["status"] = status
                self.custom.replace_namespaced_custom_object_status(
                    spec.group, spec.version, NAMESPACE, spec.plural, found, current
                )

    def set_driver(self, status: dict[str, Any]) -> None:
        self.core.patch_namespaced_pod_status(DRIVER, NAMESPACE, {"status": status})

    def all_healthy(self) -> None:
        for kind, status in HEALTHY.items():
            self.set_status(kind, status)
        try:
            self.core.read_namespaced_pod(DRIVER, NAMESPACE)
        except Exception:
            self.create_driver()
        self.set_driver(RUNNING_POD)


@pytest.fixture(scope="module")
def release(apiserver: Any) -> Release:
    created = Release(apiserver)
    created.create()
    return created


@pytest.fixture
def healthy(release: Release) -> Iterator[Release]:
    release.all_healthy()
    yield release


@pytest.fixture(scope="module")
def kubeconfig(apiserver: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return apiserver.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config")


@pytest.fixture(autouse=True)
def wide_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """The table 160 columns wide, so no name in it wraps. The CLI's console is made at import,
    and on a pytest-xdist worker it kept 80 columns whatever COLUMNS CliRunner set later."""
    monkeypatch.setattr(status_cmd, "out", Console(width=160))


def status(kubeconfig: Path, *extra: str) -> Any:
    args = ["status", "--kubeconfig", str(kubeconfig), "-n", NAMESPACE, "--release", RELEASE]
    # Nothing listens on port 9: the progress row must say so and not fail the command.
    args += ["--es-host", "http://127.0.0.1:9", *extra]
    return CliRunner().invoke(app, args)


def test_a_healthy_release_exits_0_and_lists_every_object(
    healthy: Release, kubeconfig: Path
) -> None:
    result = status(kubeconfig, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["healthy"] is True and report["failed"] == []
    rows = {(c["component"], c["name"]): c for c in report["checks"]}
    for doc in healthy.objects:
        assert rows[(doc["kind"], doc["metadata"]["name"])]["level"] == "ok", doc["kind"]
    assert rows[("driver pod", DRIVER)]["detail"] == "0 restarts"
    assert rows[("SparkApplication", f"{NAME}-etl")]["state"] == "RUNNING"
    progress = rows[("ETL", "progress")]
    assert progress["level"] == "unknown"
    assert "Elasticsearch not reachable at http://127.0.0.1:9" in progress["detail"]
    topics = [c for c in report["checks"] if c["component"] == "KafkaTopic"]
    users = [c for c in report["checks"] if c["component"] == "KafkaUser"]
    assert len(topics) == 2 and len(users) == 3


def test_the_table_names_every_object(healthy: Release, kubeconfig: Path) -> None:
    result = status(kubeconfig)
    assert result.exit_code == 0, result.output
    for word in ("Kafka", "Elasticsearch", "Kibana", "SparkApplication", "driver pod", DRIVER):
        assert word in result.stdout
    assert "unhealthy" not in result.stderr


Break = Callable[[Release], None]
FAILURES: list[tuple[str, Break, str, str]] = [
    (
        "kafka-not-ready",
        lambda r: r.set_status(
            "Kafka",
            {
                "conditions": [
                    {
                        "type": "NotReady",
                        "status": "True",
                        "reason": "Timeout",
                        "message": "brokers not ready",
                    }
                ]
            },
        ),
        f"Kafka {NAME}",
        "NotReady Timeout: brokers not ready",
    ),
    (
        "topic-not-ready",
        lambda r: r.set_status(
            "KafkaTopic",
            {"conditions": [{"type": "Ready", "status": "False", "reason": "KafkaError"}]},
            name="logiflow-logs",
        ),
        "KafkaTopic logiflow-logs",
        "Ready KafkaError",
    ),
    (
        "elasticsearch-red",
        lambda r: r.set_status("Elasticsearch", {"health": "red", "phase": "ApplyingChanges"}),
        f"Elasticsearch {NAME}",
        "red phase ApplyingChanges",
    ),
    (
        "kibana-red",
        lambda r: r.set_status("Kibana", {"health": "red"}),
        f"Kibana {NAME}",
        "red",
    ),
    (
        "spark-failed",
        lambda r: r.set_status(
            "SparkApplication",
            {
                "applicationState": {"state": "FAILED", "errorMessage": "driver container failed"},
                "driverInfo": {"podName": DRIVER},
            },
        ),
        f"SparkApplication {NAME}-etl",
        "FAILED driver container failed",
    ),
    (
        "driver-restarts",
        lambda r: r.set_driver(
            {
                "containerStatuses": [
                    {
                        **RUNNING_POD["containerStatuses"][0],
                        "restartCount": 3,
                        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}},
                    }
                ]
            }
        ),
        f"driver pod {DRIVER}",
        "Running 3 restarts (last: OOMKilled)",
    ),
    (
        "driver-gone",
        lambda r: r.core.delete_namespaced_pod(DRIVER, NAMESPACE, grace_period_seconds=0),
        "driver pod",
        "not found no Spark driver pod runs",
    ),
]


@pytest.mark.parametrize(
    ("breakage", "label", "said"), [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES]
)
def test_each_failure_exits_1_and_is_named(
    healthy: Release, kubeconfig: Path, breakage: Break, label: str, said: str
) -> None:
    breakage(healthy)
    result = status(kubeconfig, "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["healthy"] is False
    assert report["failed"] == [label]
    assert f"unhealthy: {label}: {said}" in result.stderr


def test_degraded_is_shown_but_does_not_fail(healthy: Release, kubeconfig: Path) -> None:
    healthy.set_status("Elasticsearch", {"health": "yellow"})
    healthy.set_status(
        "SparkApplication",
        {"applicationState": {"state": "PENDING_RERUN"}, "driverInfo": {"podName": DRIVER}},
    )
    result = status(kubeconfig, "--json")
    assert result.exit_code == 0, result.output
    levels = {c["component"]: c["level"] for c in json.loads(result.stdout)["checks"]}
    assert levels["Elasticsearch"] == levels["SparkApplication"] == "degraded"


def test_restarts_up_to_the_allowed_count_pass(healthy: Release, kubeconfig: Path) -> None:
    restarted = {**RUNNING_POD["containerStatuses"][0], "restartCount": 2}
    healthy.set_driver({"containerStatuses": [restarted]})
    assert status(kubeconfig, "--max-restarts", "2").exit_code == 0
    assert status(kubeconfig, "--max-restarts", "1").exit_code == 1


def test_another_release_finds_nothing_and_says_so(healthy: Release, kubeconfig: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            *("status", "--kubeconfig", str(kubeconfig), "-n", NAMESPACE),
            *("--release", "other", "--es-host", "http://127.0.0.1:9", "--json"),
        ],
    )
    assert result.exit_code == 1
    assert json.loads(result.stdout)["failed"] == [
        "Kafka",
        "Elasticsearch",
        "SparkApplication",
        "driver pod",
    ]
