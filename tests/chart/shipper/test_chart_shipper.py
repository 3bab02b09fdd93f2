"""templates/shipper: optional demo traffic, writing as the shipper KafkaUser only."""

from __future__ import annotations

import yaml
from chart_render import CHART, PROFILES, find, one, render


def test_shipper_off_by_default_on_in_kind() -> None:
    assert not find(render(), "Deployment", "lf-logiflow-shipper")
    deployment = one(render(*PROFILES["kind"]), "Deployment", "lf-logiflow-shipper")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["logiflow"]
    env = {e["name"]: e for e in container["env"]}
    assert env["LOGIFLOW_KAFKA__SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == (
        "lf-logiflow-shipper"
    )
    assert not any(name.startswith("LOGIFLOW_ELASTICSEARCH__") for name in env)


def test_commands_the_chart_runs_exist_in_the_cli() -> None:
    """The shipper's default command, the hook's es-setup and the helm test's ship."""
    import sys
    from pathlib import Path

    from chart_render import run

    values = yaml.safe_load((CHART / "values.yaml").read_text())
    logiflow = Path(sys.executable).parent / "logiflow"
    for command in (values["shipper"]["args"][0], "es-setup", "ship"):
        result = run([logiflow, command, "--help"])
        assert result.returncode == 0, f"logiflow {command}: {result.stderr}"
