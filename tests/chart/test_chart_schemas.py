"""Every rendered object of every profile against the schemas of the versions we pin.

Custom resources: the CRDs of Strimzi 1.2.0, ECK 3.5.0, Spark Operator 2.5.2 and the Prometheus
Operator 0.93.0 (PodMonitor, PrometheusRule) (../shared/crds),
strict about unknown fields. Core objects: Kubernetes 1.34 strict schemas. Pod templates the
CRDs leave open (ECK podTemplate, SparkApplication driver/executor template) are checked as core
PodTemplates, so a typo there fails here too rather than on a cluster.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import KUBERNETES_VERSION, PROFILES, Doc, render, run, tools_python
from chart_schemas import (
    CORE_TEMPLATE,
    CRD_TEMPLATE,
    core_schema_file,
    write_core_schemas,
    write_crd_schemas,
)

CUSTOM_GROUPS = (
    "kafka.strimzi.io",
    "elasticsearch.k8s.elastic.co",
    "kibana.k8s.elastic.co",
    "sparkoperator.k8s.io",
    "monitoring.coreos.com",
)


def is_custom(doc: Doc) -> bool:
    return doc["apiVersion"].split("/")[0] in CUSTOM_GROUPS


def embedded_pod_templates(doc: Doc) -> list[Doc]:
    """Pod templates inside CRs whose CRD schema accepts anything there."""
    found: list[tuple[str, dict[str, Any]]] = []
    spec = doc.get("spec", {})
    if doc["kind"] == "Elasticsearch":
        found += [
            (f"nodeset-{n['name']}", n["podTemplate"])
            for n in spec["nodeSets"]
            if "podTemplate" in n
        ]
    if doc["kind"] == "Kibana" and "podTemplate" in spec:
        found.append(("kibana", spec["podTemplate"]))
    if doc["kind"] == "SparkApplication":
        found += [
            (role, spec[role]["template"])
            for role in ("driver", "executor")
            if "template" in spec.get(role, {})
        ]
    return [
        {
            "apiVersion": "v1",
            "kind": "PodTemplate",
            "metadata": {"name": f"{doc['metadata']['name']}-{what}"},
            "template": template,
        }
        for what, template in found
    ]


def all_profile_docs() -> dict[str, list[Doc]]:
    return {name: render(*args) for name, args in PROFILES.items()}


@pytest.fixture(scope="session")
def schema_dirs(work_dir: Path, crd_root: Path) -> tuple[Path, Path]:
    located = run(
        [
            tools_python(),
            "-c",
            "import kubernetes_validate, pathlib; "
            "print(pathlib.Path(kubernetes_validate.__file__).parent)",
        ]
    )
    assert located.returncode == 0, located.stderr
    source = (
        Path(located.stdout.strip())
        / "kubernetes-json-schema"
        / f"v{KUBERNETES_VERSION}-local-strict"
    )
    assert source.is_dir(), f"kubernetes-validate has no schemas for {KUBERNETES_VERSION}"
    files = {core_schema_file("PodTemplate", "v1")}
    for docs in all_profile_docs().values():
        files |= {core_schema_file(d["kind"], d["apiVersion"]) for d in docs if not is_custom(d)}
    core_dir, crd_dir = work_dir / "k8s", work_dir / "crd"
    write_core_schemas(source, core_dir, files)
    written = write_crd_schemas(crd_root, crd_dir)
    for kind in ("Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser"):
        assert ("kafka.strimzi.io/v1", kind) in written
    assert ("sparkoperator.k8s.io/v1beta2", "SparkApplication") in written
    for kind in ("PodMonitor", "ServiceMonitor", "PrometheusRule"):
        assert ("monitoring.coreos.com/v1", kind) in written
    return core_dir, crd_dir


def validate(kubeconform: Any, schema_dirs: tuple[Path, Path], docs: list[Doc]) -> dict[str, Any]:
    core_dir, crd_dir = schema_dirs
    result = kubeconform(
        "-strict",
        "-summary",
        "-output",
        "json",
        "-kubernetes-version",
        KUBERNETES_VERSION,
        "-schema-location",
        f"{core_dir}/{CORE_TEMPLATE}",
        "-schema-location",
        f"{crd_dir}/{CRD_TEMPLATE}",
        "-",
        stdin=yaml.safe_dump_all(docs),
    )
    report = json.loads(result.stdout)
    report["returncode"] = result.returncode
    return report


def test_every_object_matches_its_pinned_schema(
    kubeconform: Any, schema_dirs: tuple[Path, Path], profile: str, docs: list[Doc]
) -> None:
    extra = [t for d in docs if is_custom(d) for t in embedded_pod_templates(d)]
    report = validate(kubeconform, schema_dirs, docs + extra)
    problems = [r for r in report["resources"] if r["status"] != "statusValid"]
    assert not problems, json.dumps(problems, indent=2)
    assert report["summary"]["valid"] == len(docs) + len(extra)
    assert report["summary"]["skipped"] == 0
    assert report["returncode"] == 0
    # All five operator APIs really went through the CRD schemas.
    kinds = {d["kind"] for d in docs if is_custom(d)}
    assert {
        "Kafka",
        "KafkaNodePool",
        "KafkaTopic",
        "KafkaUser",
        "Elasticsearch",
        "Kibana",
        "SparkApplication",
        "PodMonitor",
        "PrometheusRule",
    } <= kinds
    assert len(extra) >= 4


def test_optional_replay_job_matches_its_schema(
    kubeconform: Any, schema_dirs: tuple[Path, Path]
) -> None:
    """The replay Job is off in every profile, so it is rendered and checked on its own."""
    jobs = [d for d in render("--set", "deadLetterReplay.enabled=true") if d["kind"] == "Job"]
    assert len(jobs) == 3  # es-setup, the Kibana dashboards hook and the replay
    report = validate(kubeconform, schema_dirs, jobs)
    assert report["returncode"] == 0, json.dumps(report["resources"], indent=2)
    assert report["summary"]["valid"] == 3


@pytest.mark.parametrize(
    ("kind", "mutate", "message"),
    [
        ("Kafka", lambda d: d["spec"]["kafka"].update(listners=[]), "listners"),
        ("KafkaTopic", lambda d: d["spec"].update(partitions="six"), "partitions"),
        ("SparkApplication", lambda d: d["spec"]["driver"].update(memroy="1g"), "memroy"),
        ("Elasticsearch", lambda d: d["spec"].update(nodeSet=[]), "nodeSet"),
        ("Kibana", lambda d: d["spec"]["elasticsearchRef"].update(nam="x"), "nam"),
        (
            "Job",
            lambda d: d["spec"]["template"]["spec"].update(restartPolice="Never"),
            "restartPolice",
        ),
        ("NetworkPolicy", lambda d: d["spec"].update(podSelecter={}), "podSelecter"),
        (
            "PodMonitor",
            lambda d: d["spec"]["podMetricsEndpoints"][0].update(intervall="1m"),
            "intervall",
        ),
        ("PrometheusRule", lambda d: d["spec"]["groups"][0].update(rule=[]), "rule"),
    ],
)
def test_schemas_reject_unknown_fields(
    kubeconform: Any, schema_dirs: tuple[Path, Path], kind: str, mutate: Any, message: str
) -> None:
    """The validation above can fail: a misspelt field in any kind is caught."""
    doc = next(d for d in render(*PROFILES["default"]) if d["kind"] == kind)
    broken = json.loads(json.dumps(doc))
    mutate(broken)
    report = validate(kubeconform, schema_dirs, [broken])
    assert report["summary"]["invalid"] == 1, report
    assert message in json.dumps(report["resources"])


def test_embedded_pod_templates_are_checked(
    kubeconform: Any, schema_dirs: tuple[Path, Path]
) -> None:
    spark = next(d for d in render() if d["kind"] == "SparkApplication")
    spark["spec"]["driver"]["template"]["spec"]["containers"][0]["volumeMount"] = []
    report = validate(kubeconform, schema_dirs, embedded_pod_templates(spark))
    assert report["summary"]["invalid"] == 1, report
