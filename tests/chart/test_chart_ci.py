""".gitlab-ci.yml against GitLab's CI schema (vendored by check-jsonschema), wired as documented."""

from __future__ import annotations

import yaml
from chart_render import REPO, run, tool

CI = REPO / ".gitlab-ci.yml"


def test_gitlab_ci_matches_its_schema() -> None:
    result = run([tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", CI])
    assert result.returncode == 0, result.stdout + result.stderr


def test_jobs() -> None:
    ci = yaml.safe_load(CI.read_text())
    assert ci["test"]["script"] == ["bash .ci/run"]
    deploy = " ".join(ci["deploy-staging"]["script"])
    assert "helm upgrade --install" in deploy and "values-staging.yaml" in deploy
    assert "helm test" in deploy
    e2e = " ".join(ci["e2e-kind"]["script"])
    assert "manifests/kind/cluster.yaml" in e2e and "skaffold run -p kind" in e2e
    assert "helm test" in e2e
