"""manifests/: one pinned set of operator versions, matching the CRDs the chart is proven on."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from chart_render import CHART, REPO, run

OPERATORS = REPO / "manifests" / "operators"


def versions() -> dict[str, str]:
    lines = (OPERATORS / "versions.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_versions_match_shared_crds_and_chart(crd_root: Path) -> None:
    pinned = versions()
    assert {p.name for p in crd_root.iterdir()} == {
        f"strimzi-{pinned['STRIMZI_VERSION']}",
        f"eck-{pinned['ECK_VERSION']}",
        f"spark-operator-{pinned['SPARK_OPERATOR_VERSION']}",
        f"prometheus-operator-{pinned['PROMETHEUS_OPERATOR_VERSION']}",
    }
    annotations = yaml.safe_load((CHART / "Chart.yaml").read_text())["annotations"]
    assert annotations["logiflow.io/strimzi-version"] == pinned["STRIMZI_VERSION"]
    assert annotations["logiflow.io/eck-version"] == pinned["ECK_VERSION"]
    assert annotations["logiflow.io/spark-operator-version"] == pinned["SPARK_OPERATOR_VERSION"]
    assert (
        annotations["logiflow.io/prometheus-operator-version"]
        == pinned["PROMETHEUS_OPERATOR_VERSION"]
    )


def test_scripts_parse_and_use_the_pinned_versions() -> None:
    for script in ("install.sh", "refresh-crds.sh"):
        path = OPERATORS / script
        assert path.stat().st_mode & 0o111, f"{script} is not executable"
        assert run(["bash", "-n", path]).returncode == 0
        text = path.read_text()
        for variable in versions():
            used = re.search(rf"\$(\{{{variable}\}}|{variable}\b)", text)
            assert used, f"{script} ignores {variable}"


def test_spark_operator_watches_the_release_namespace_without_its_own_rbac() -> None:
    values = yaml.safe_load((OPERATORS / "values-spark-operator.yaml").read_text())
    assert values["spark"]["serviceAccount"]["create"] is False
    assert values["spark"]["rbac"]["create"] is False
    assert values["webhook"]["enable"] is True


def test_kind_cluster_is_one_node_of_the_validated_minor() -> None:
    cluster = yaml.safe_load((REPO / "manifests" / "kind" / "cluster.yaml").read_text())
    assert cluster["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    (node,) = cluster["nodes"]
    assert node["image"].startswith("kindest/node:v1.34.")
