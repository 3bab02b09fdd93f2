"""templates/kibana: the dashboards hook imports the chart's saved objects into the chart's Kibana.

Every check reads files/kibana/saved-objects.ndjson itself, so it holds for whatever saved
objects the chart ships; only the two dashboard ids are agreed and named here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import (
    CHART,
    KUBERNETES_VERSION,
    NAMESPACE,
    RELEASE,
    Doc,
    find,
    helm,
    one,
    render,
)

from logiflow.config import load_config
from logiflow.io.kibana_import import ids_of_type, read_saved_objects

NAME = "lf-logiflow"
SAVED_OBJECTS = CHART / "files" / "kibana" / "saved-objects.ndjson"
AGREED_DASHBOARDS = {"logiflow-overview", "logiflow-pipeline-health"}
# A ConfigMap holds at most 1 MiB; the chart refuses a file above this (validate.yaml).
CONFIGMAP_FILE_LIMIT = 1_000_000


def hook_job(docs: list[Doc]) -> Doc:
    return one(docs, "Job", f"{NAME}-kibana-dashboards")


def container(job: Doc) -> dict[str, Any]:
    (only,) = job["spec"]["template"]["spec"]["containers"]
    return dict(only)


def mounted_file(pod_spec: dict[str, Any], path: str) -> tuple[str, str]:
    """(volume kind, source name) of the volume holding ``path`` in the first container."""
    mounts = pod_spec["containers"][0]["volumeMounts"]
    mount = next(m for m in mounts if path.startswith(m["mountPath"].rstrip("/") + "/"))
    volume = next(v for v in pod_spec["volumes"] if v["name"] == mount["name"])
    if "configMap" in volume:
        return "configMap", volume["configMap"]["name"]
    return "secret", volume["secret"]["secretName"]


def test_saved_objects_hold_the_agreed_dashboards_and_fit_a_configmap() -> None:
    size = SAVED_OBJECTS.stat().st_size
    assert 0 < size < CONFIGMAP_FILE_LIMIT, f"{SAVED_OBJECTS} is {size} bytes"
    dashboards = set(ids_of_type(read_saved_objects(SAVED_OBJECTS), "dashboard"))
    assert dashboards >= AGREED_DASHBOARDS


def test_configmap_carries_the_file_unchanged(docs: list[Doc]) -> None:
    configmap = one(docs, "ConfigMap", f"{NAME}-kibana-saved-objects")
    assert configmap["data"]["saved-objects.ndjson"].rstrip("\n") == (
        SAVED_OBJECTS.read_text().rstrip("\n")
    )


def test_hook_imports_after_every_install_and_upgrade(docs: list[Doc]) -> None:
    job = hook_job(docs)
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "post-install,post-upgrade"
    setup = one(docs, "Job", f"{NAME}-es-setup")["metadata"]["annotations"]
    assert int(annotations["helm.sh/hook-weight"]) > int(setup["helm.sh/hook-weight"])
    # Re-created on each upgrade (an old Job with the same name would block the new one).
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    spec = job["spec"]["template"]["spec"]
    assert spec["automountServiceAccountToken"] is False
    command = container(job)["command"]
    assert command[:3] == ["logiflow", "--config", "/etc/logiflow/config.yaml"]
    assert command[3:] == ["kibana-import", "--file", "/etc/logiflow/kibana/saved-objects.ndjson"]
    assert mounted_file(spec, command[-1]) == ("configMap", f"{NAME}-kibana-saved-objects")
    env = {e["name"]: e for e in container(job)["env"]}
    for name in ("LOGIFLOW_KIBANA__USERNAME", "LOGIFLOW_KIBANA__PASSWORD"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == f"{NAME}-kibana-import-user"
    # It talks to Kibana only: no Kafka or Elasticsearch identity.
    assert not any(n.startswith(("LOGIFLOW_KAFKA__", "LOGIFLOW_ELASTICSEARCH__")) for n in env)


def test_config_points_at_ecks_kibana_with_its_ca(
    docs: list[Doc], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = one(docs, "ConfigMap", f"{NAME}-config")["data"]["config.yaml"]
    (tmp_path / "config.yaml").write_text(text)
    monkeypatch.setenv("LOGIFLOW_KIBANA__USERNAME", "logiflow-kibana-import")
    monkeypatch.setenv("LOGIFLOW_KIBANA__PASSWORD", "from-basic-auth-secret")
    kibana = load_config(tmp_path / "config.yaml").kibana
    assert kibana.url == f"https://{NAME}-kb-http.{NAMESPACE}.svc:5601"
    assert kibana.space == "default"
    ca = str(kibana.ca_certs)
    spec = hook_job(docs)["spec"]["template"]["spec"]
    assert mounted_file(spec, ca) == ("secret", f"{NAME}-kb-http-certs-public")
    assert "password" not in text


def test_space_reaches_config_and_roles() -> None:
    docs = render("--set", "kibanaDashboards.space=ops")
    config = yaml.safe_load(one(docs, "ConfigMap", f"{NAME}-config")["data"]["config.yaml"])
    assert config["kibana"]["space"] == "ops"
    roles = yaml.safe_load(one(docs, "Secret", f"{NAME}-es-roles")["stringData"]["roles.yml"])
    for role in ("logiflow_kibana_import", "logiflow_viewer"):
        assert roles[role]["applications"][0]["resources"] == ["space:ops"]


def test_switched_off_with_kibana_or_on_its_own() -> None:
    for switch in ("kibanaDashboards.enabled=false", "kibana.enabled=false"):
        docs = render("--set", switch)
        assert not find(docs, "Job", f"{NAME}-kibana-dashboards")
        assert not find(docs, "ConfigMap", f"{NAME}-kibana-saved-objects")
        assert not find(docs, "Secret", f"{NAME}-kibana-import-user")
        assert not find(docs, "Pod", f"{NAME}-test-kibana-dashboards")


def render_with_saved_objects(tmp_path: Path, content: str) -> Any:
    chart = tmp_path / "logiflow"
    shutil.copytree(CHART, chart)
    (chart / "files" / "kibana" / "saved-objects.ndjson").write_text(content)
    return helm(
        "template",
        RELEASE,
        str(chart),
        "--namespace",
        NAMESPACE,
        "--kube-version",
        KUBERNETES_VERSION,
    )


def test_oversized_or_empty_file_stops_the_release(tmp_path: Path) -> None:
    line = json.dumps({"type": "dashboard", "id": "x", "attributes": {"title": "x" * 1000}})
    big = render_with_saved_objects(tmp_path / "big", (line + "\n") * 1100)
    assert big.returncode != 0 and "a ConfigMap holds at most 1 MiB" in big.stderr
    empty = render_with_saved_objects(tmp_path / "empty", "\n")
    assert empty.returncode != 0 and "missing or empty" in empty.stderr


def test_unknown_type_or_bad_line_stops_the_release(tmp_path: Path) -> None:
    workpad = json.dumps({"type": "canvas-workpad", "id": "w", "attributes": {}})
    unknown = render_with_saved_objects(tmp_path / "unknown", workpad + "\n")
    assert unknown.returncode != 0
    assert 'saved object type "canvas-workpad" (line 1' in unknown.stderr
    bad = render_with_saved_objects(tmp_path / "bad", '{"type": "dashboard", "id": "d"}\n{oops\n')
    assert bad.returncode != 0 and "line 2 is not JSON" in bad.stderr


@pytest.mark.parametrize(
    ("value", "message"),
    [("kibanaDashboards.space=My Space", "space"), ("kibanaDashboards.enabeld=true", "enabeld")],
)
def test_schema_rejects_bad_values(value: str, message: str) -> None:
    from chart_render import render_fails

    assert message in render_fails("--set", value)
