"""skaffold.yaml against Skaffold's own JSON schema, and wired to the chart and images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import CHART, REPO, TOOLS, helm, run, tool

SKAFFOLD = REPO / "skaffold.yaml"
CONFIG = yaml.safe_load(SKAFFOLD.read_text())


def schema_file() -> Path:
    version = CONFIG["apiVersion"].split("/")[1]
    path = TOOLS / "schemas" / f"skaffold-{version}.json"
    if not path.exists():
        pytest.fail(f"Skaffold schema {path} missing: run `make tools`", pytrace=False)
    return path


def check(path: Path) -> str:
    result = run([tool("check-jsonschema"), "--schemafile", schema_file(), path])
    return ("ok" if result.returncode == 0 else "") + result.stdout + result.stderr


def test_skaffold_yaml_matches_its_schema() -> None:
    assert check(SKAFFOLD).startswith("ok"), check(SKAFFOLD)


def test_schema_check_can_fail(tmp_path: Path) -> None:
    broken = tmp_path / "skaffold.yaml"
    broken.write_text(SKAFFOLD.read_text().replace("valuesFiles:", "valueFiles:"))
    assert "valueFiles" in check(broken)


def releases(profile: str | None) -> list[dict[str, Any]]:
    deploy = (
        CONFIG["deploy"]
        if profile is None
        else next(p for p in CONFIG["profiles"] if p["name"] == profile)["deploy"]
    )
    return deploy["helm"]["releases"]


def test_profiles_build_both_images_and_deploy_the_chart() -> None:
    assert {p["name"] for p in CONFIG["profiles"]} == {"kind", "staging"}
    images = {a["image"]: a["docker"]["dockerfile"] for a in CONFIG["build"]["artifacts"]}
    assert images == {
        "logiflow/spark-etl": "images/spark-etl/Dockerfile",
        "logiflow/shipper": "images/shipper/Dockerfile",
    }
    for profile, values in (
        (None, None),
        ("kind", "values-kind.yaml"),
        ("staging", "values-staging.yaml"),
    ):
        (release,) = releases(profile)
        assert REPO / release["chartPath"] == CHART
        templates = release["setValueTemplates"]
        assert templates["image.repository"] == "{{.IMAGE_REPO_logiflow_spark_etl}}"
        assert templates["shipper.image.tag"] == "{{.IMAGE_TAG_logiflow_shipper}}"
        if values:
            assert release["valuesFiles"] == [f"charts/logiflow/{values}"]


def test_kind_installs_operators_first_and_forwards_kibana() -> None:
    kind = next(p for p in CONFIG["profiles"] if p["name"] == "kind")
    (hook,) = kind["deploy"]["helm"]["hooks"]["before"]
    script = REPO / hook["host"]["command"][0]
    assert script.exists() and script.stat().st_mode & 0o111
    (forward,) = kind["portForward"]
    (release,) = kind["deploy"]["helm"]["releases"]
    rendered = helm(
        "template",
        release["name"],
        str(CHART),
        "--namespace",
        release["namespace"],
        "--kube-version",
        "1.34.0",
        "-f",
        str(CHART / "values-kind.yaml"),
    )
    assert rendered.returncode == 0, rendered.stderr
    kibana = next(d for d in yaml.safe_load_all(rendered.stdout) if d and d["kind"] == "Kibana")
    # ECK names Kibana's HTTP Service <kibana>-kb-http.
    assert forward["resourceName"] == f"{kibana['metadata']['name']}-kb-http"
    assert forward["port"] == 5601 and forward["namespace"] == release["namespace"]
