"""templates/tests: `helm test` ships a marker as the shipper and reads it back as the ETL user."""

from __future__ import annotations

import ast

from chart_render import CHART, Doc, one


def test_marker_pod_is_a_test_hook(docs: list[Doc]) -> None:
    pod = one(docs, "Pod", "lf-logiflow-test-marker")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    container = pod["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["LOGIFLOW_KAFKA__SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == (
        "lf-logiflow-shipper"
    )
    assert env["LOGIFLOW_ELASTICSEARCH__PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == (
        "lf-logiflow-es-etl-user"
    )
    script = one(docs, "ConfigMap", "lf-logiflow-test-marker")["data"]["marker_test.py"]
    assert script == (CHART / "files" / "marker_test.py").read_text()
    assert container["command"][:2] == ["python3", "/opt/logiflow-test/marker_test.py"]


def test_marker_script_uses_the_projects_names() -> None:
    tree = ast.parse((CHART / "files" / "marker_test.py").read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert {"load_config", "connect", "index_pattern", "EVENTS", "fields"} <= imported


def test_dashboards_pod_checks_the_imported_file_as_the_viewer(docs: list[Doc]) -> None:
    pod = one(docs, "Pod", "lf-logiflow-test-kibana-dashboards")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    container = pod["spec"]["containers"][0]
    assert container["command"][3:] == [
        "kibana-check",
        "--file",
        "/etc/logiflow/kibana/saved-objects.ndjson",
    ]
    env = {e["name"]: e for e in container["env"]}
    assert env["LOGIFLOW_KIBANA__PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == (
        "lf-logiflow-kibana-viewer-user"
    )
    assert not any(n.startswith(("LOGIFLOW_KAFKA__", "LOGIFLOW_ELASTICSEARCH__")) for n in env)
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["saved-objects"]["configMap"]["name"] == "lf-logiflow-kibana-saved-objects"
    assert volumes["kibana-ca"]["secret"]["secretName"] == "lf-logiflow-kb-http-certs-public"
