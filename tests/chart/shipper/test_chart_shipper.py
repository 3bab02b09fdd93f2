"""templates/shipper: optional demo traffic, writing as the shipper KafkaUser only."""

from __future__ import annotations

from chart_render import PROFILES, find, one, render


def test_shipper_off_by_default_on_in_kind() -> None:
    assert not find(render(), "Deployment")
    deployment = one(render(*PROFILES["kind"]), "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["logiflow"]
    env = {e["name"]: e for e in container["env"]}
    assert env["LOGIFLOW_KAFKA__SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == (
        "lf-logiflow-shipper")
    assert not any(name.startswith("LOGIFLOW_ELASTICSEARCH__") for name in env)
