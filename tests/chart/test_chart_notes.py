"""templates/NOTES.txt: numbered checks per enabled component, names from the same helpers."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml
from chart_render import CHART, KUBERNETES_VERSION, NAMESPACE, PROFILES, RELEASE, helm


def notes(tmp_path: Path, *args: str) -> str:
    # helm template skips NOTES.txt: in a copy of the chart its text becomes a named template
    # that a ConfigMap renders, with the same values and helpers.
    chart = tmp_path / "logiflow"
    shutil.copytree(CHART, chart)
    source = chart / "templates" / "NOTES.txt"
    (chart / "templates" / "_notes.tpl").write_text(
        '{{- define "notes.body" -}}\n' + source.read_text() + "\n{{- end -}}\n"
    )
    source.unlink()
    (chart / "templates" / "notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\n"
        'data:\n  notes: {{ include "notes.body" . | toJson }}\n'
    )
    result = helm(
        "template",
        RELEASE,
        str(chart),
        "--namespace",
        NAMESPACE,
        "--kube-version",
        KUBERNETES_VERSION,
        "--show-only",
        "templates/notes.yaml",
        *args,
    )
    assert result.returncode == 0, result.stderr
    return str(yaml.safe_load(result.stdout)["data"]["notes"])


def test_numbered_checks_for_every_component(tmp_path: Path) -> None:
    text = notes(tmp_path, *PROFILES["kind"])
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", text, re.M)]
    assert numbers == list(range(1, 8))
    assert "wait kafka/lf-logiflow --for=condition=Ready" in text
    assert "get elasticsearch lf-logiflow" in text
    assert "get sparkapplication lf-logiflow-etl" in text
    assert "helm test lf -n logiflow" in text
    assert "port-forward svc/lf-logiflow-kb-http 5601" in text


def test_disabled_components_have_no_check(tmp_path: Path) -> None:
    text = notes(tmp_path, "--set", "kibana.enabled=false,tests.enabled=false")
    assert "kb-http" not in text and "helm test" not in text
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", text, re.M)]
    assert numbers == list(range(1, len(numbers) + 1))


def test_replay_job_is_named_when_enabled(tmp_path: Path) -> None:
    assert "replay" not in notes(tmp_path / "off")
    text = notes(tmp_path / "on", "--set", "deadLetterReplay.enabled=true")
    assert "logs -f job/lf-logiflow-replay-1" in text


def test_kibana_step_opens_the_dashboards_as_the_viewer(tmp_path: Path) -> None:
    text = notes(tmp_path / "default")
    assert "https://localhost:5601/app/dashboards#/view/logiflow-overview" in text
    assert "https://localhost:5601/app/dashboards#/view/logiflow-pipeline-health" in text
    assert 'Log in as "logiflow-viewer"' in text
    assert "get secret lf-logiflow-kibana-viewer-user" in text
    assert "logs job/lf-logiflow-kibana-dashboards" in text
    assert "WARNING" not in text
    spaced = notes(tmp_path / "space", "--set", "kibanaDashboards.space=ops")
    assert "https://localhost:5601/s/ops/app/dashboards#/view/logiflow-overview" in spaced
    # Data views that read other indices than the configured prefix are pointed out.
    prefixed = notes(tmp_path / "prefix", "--set", "config.elasticsearch.indexPrefix=acme")
    assert "WARNING: their data views read logiflow-" in prefixed
    off = notes(tmp_path / "off", "--set", "kibanaDashboards.enabled=false")
    assert "app/dashboards" not in off and "kibana-dashboards" not in off


def test_status_and_monitoring_are_pointed_out(tmp_path: Path) -> None:
    text = notes(tmp_path / "on", "--set", "monitoring.labels.release=prom")
    assert "logiflow status --namespace logiflow --release lf" in text
    assert 'PrometheusRule "lf-logiflow-alerts"' in text and "release=prom" in text
    assert "docs/runbook.md" in text
    assert "PrometheusRule" not in notes(tmp_path / "off", "--set", "monitoring.enabled=false")
