"""templates/setup: the es-setup hook runs the CLI's own command as the setup user."""

from __future__ import annotations

from chart_render import Doc, one


def test_hook_runs_logiflow_es_setup(docs: list[Doc]) -> None:
    job = one(docs, "Job", "lf-logiflow-es-setup")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "post-install,post-upgrade"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][0] == "logiflow" and container["command"][-1] == "es-setup"
    env = {e["name"]: e for e in container["env"]}
    assert env["LOGIFLOW_ELASTICSEARCH__PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == (
        "lf-logiflow-es-setup-user"
    )
    assert not any(name.startswith("LOGIFLOW_KAFKA__") for name in env)
    assert job["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
