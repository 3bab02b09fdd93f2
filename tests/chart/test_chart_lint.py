"""helm lint of every profile, the values schema, and the cross-value checks in validate.yaml."""

from __future__ import annotations

import pytest
from chart_render import CHART, KUBERNETES_VERSION, PROFILES, helm, render_fails


def test_helm_lint_strict(profile: str) -> None:
    result = helm(
        "lint", "--strict", "--kube-version", KUBERNETES_VERSION, str(CHART), *PROFILES[profile]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "kafka.enabeld=false"], "enabeld"),
        (["--set", "kafka.version=4.1.1"], "version"),
        (["--set", "spark.driver.memory=lots"], "memory"),
        (["--set", "image.pullPolicy=Sometimes"], "pullPolicy"),
        (["--set", "config.spark.triggerInterval=5s"], "triggerInterval"),
    ],
)
def test_values_schema_rejects_typos_and_bad_values(args: list[str], message: str) -> None:
    assert message in render_fails(*args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "elasticsearch.enabled=false"], "kibana.enabled needs elasticsearch.enabled"),
        (["--set", "kibana.version=8.18.0"], "must equal elasticsearch.version"),
        (["--set", "kafka.enabled=false"], "spark.enabled needs kafka.enabled"),
        (
            [
                "--set",
                "kafka.enabled=false,spark.enabled=false,tests.enabled=false",
                "--set",
                "shipper.enabled=true",
            ],
            "shipper.enabled needs kafka.enabled",
        ),
        (
            ["-f", str(CHART / "values-kind.yaml"), "--set", "kafka.topics.logs.replicas=3"],
            "exceeds the 1 broker",
        ),
    ],
)
def test_validate_stops_unwired_releases(args: list[str], message: str) -> None:
    assert message in render_fails(*args)
