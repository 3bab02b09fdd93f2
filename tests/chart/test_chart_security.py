"""Every pod this chart defines itself meets the restricted Pod Security Standard, holds no
secret value, and the chart never hands the `elastic` superuser to a LogiFlow pod."""

from __future__ import annotations

import base64
from typing import Any

from chart_render import Doc, render, render_text


def own_pod_specs(docs: list[Doc]) -> list[tuple[str, dict[str, Any]]]:
    specs: list[tuple[str, dict[str, Any]]] = []
    for d in docs:
        name = f"{d['kind']}/{d['metadata']['name']}"
        if d["kind"] == "Pod":
            specs.append((name, d["spec"]))
        elif d["kind"] in ("Job", "Deployment"):
            specs.append((name, d["spec"]["template"]["spec"]))
        elif d["kind"] == "SparkApplication":
            specs += [
                (f"{name}/{role}", d["spec"][role]["template"]["spec"])
                for role in ("driver", "executor")
            ]
    return specs


def test_own_pods_are_restricted(docs: list[Doc]) -> None:
    specs = own_pod_specs(docs)
    assert len(specs) >= 4
    for name, spec in specs:
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod.get("runAsUser", 1) != 0, name
        assert not spec.get("hostNetwork") and not spec.get("hostPID"), name
        for volume in spec.get("volumes", []):
            assert "hostPath" not in volume, name
        for container in spec["containers"]:
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False, name
            assert ctx["capabilities"]["drop"] == ["ALL"], name
            assert "add" not in ctx["capabilities"], name
            assert ctx["readOnlyRootFilesystem"] is True, name
            assert not ctx.get("privileged"), name
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert "/tmp" in mounts, f"{name}: read-only root needs a writable /tmp"


def test_no_secret_values_only_references(docs: list[Doc]) -> None:
    for name, spec in own_pod_specs(docs):
        for container in spec["containers"]:
            for env in container.get("env", []):
                if "PASSWORD" in env["name"]:
                    assert "value" not in env and "secretKeyRef" in env["valueFrom"], name


def test_elastic_superuser_never_used() -> None:
    assert "es-elastic-user" not in render_text()
    users = [
        d for d in render() if d["kind"] == "Secret" and d["type"] == "kubernetes.io/basic-auth"
    ]
    names = {base64.b64decode(d["data"]["username"]).decode() for d in users}
    assert names == {
        "logiflow-etl",
        "logiflow-setup",
        "logiflow-monitor",
        "logiflow-kibana-import",
        "logiflow-viewer",
    }
    assert "elastic" not in names
