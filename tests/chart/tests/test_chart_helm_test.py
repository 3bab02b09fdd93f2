"""templates/tests: `helm test` runs `logiflow check` (a marker line in as the shipper, read back
as the ETL user; the command itself is tested in tests/integration/test_check_cmd.py) and checks
the Kibana dashboards as the viewer."""

from __future__ import annotations

from chart_render import Doc, one


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
    assert container["command"][0] == "logiflow"
    assert container["command"][3:5] == ["check", "--timeout"]
    assert not any(
        d["kind"] == "ConfigMap" and "test-marker" in d["metadata"]["name"] for d in docs
    )


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
