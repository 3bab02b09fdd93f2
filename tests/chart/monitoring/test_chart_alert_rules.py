"""templates/monitoring/prometheusrule.yaml: the alerts parse, fire and stay silent as meant.

Prometheus's own ``promtool`` (Debian's prometheus package; ``make promtool`` installs it) checks
the rendered rule groups of every profile and runs the unit tests beside this file
(``*_alerts.yaml``) against the default render. Those tests pin each alert's expression, ``for``
and labels; the annotation texts are checked here instead (promtool would compare their rendered
``$value`` digit for digit), so the copy promtool tests carries no annotations.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import PROFILES, REPO, Doc, find, one, render, run

from logiflow.contract import metrics

HERE = Path(__file__).parent
RUNBOOK = REPO / "docs" / "runbook.md"
ALERTS = {
    "LogiflowConsumerLagGrowing",
    "LogiflowNoBatch",
    "LogiflowDeadLetterRateHigh",
    "LogiflowElasticsearchRejections",
    "LogiflowElasticsearchOutage",
    "LogiflowQueryRestarts",
    "LogiflowAnomalyDetected",
    "LogiflowSparkDriverDown",
    "LogiflowKafkaUnderReplicatedPartitions",
    "LogiflowElasticsearchNotGreen",
    "LogiflowElasticsearchWriteRejections",
}
ELASTICSEARCH_ALERTS = {"LogiflowElasticsearchNotGreen", "LogiflowElasticsearchWriteRejections"}
# Only with anomaly detection on (anomaly.enabled), which the staging profile turns on.
ANOMALY_ALERT = "LogiflowAnomalyDetected"
WITH_ANOMALIES = ("--set", "anomaly.enabled=true")


def deployed_alerts(docs: list[Doc]) -> set[str]:
    config = yaml.safe_load(one(docs, "ConfigMap", "lf-logiflow-config")["data"]["config.yaml"])
    return ALERTS if config.get("anomaly", {}).get("enabled") else ALERTS - {ANOMALY_ALERT}


def promtool() -> Path:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is not installed: run `make promtool`", pytrace=False)
    return Path(found)


def rules_of(docs: list[Doc]) -> list[dict[str, Any]]:
    return [r for g in one(docs, "PrometheusRule")["spec"]["groups"] for r in g["rules"]]


def write_rules(docs: list[Doc], target: Path, annotations: bool = True) -> Path:
    groups = yaml.safe_load(yaml.safe_dump(one(docs, "PrometheusRule")["spec"]["groups"]))
    if not annotations:
        for rule in (r for g in groups for r in g["rules"]):
            rule.pop("annotations", None)
    path = target / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}))
    return path


def promtool_unit_tests(docs: list[Doc], work: Path) -> Any:
    write_rules(docs, work, annotations=False)
    tests = sorted(HERE.glob("*_alerts.yaml"))
    for test in tests:
        shutil.copy(test, work)
    return run([promtool(), "test", "rules", *(t.name for t in tests)], cwd=work)


def test_every_profile_has_every_alert_and_promtool_accepts_them(
    profile: str, docs: list[Doc], tmp_path: Path
) -> None:
    expected = deployed_alerts(docs)
    assert {r["alert"] for r in rules_of(docs)} == expected
    checked = run([promtool(), "check", "rules", write_rules(docs, tmp_path)])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(expected)} rules found" in checked.stdout


def test_each_alert_fires_and_stays_silent_as_its_unit_tests_say(tmp_path: Path) -> None:
    result = promtool_unit_tests(render(*WITH_ANOMALIES), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == 3


def test_the_unit_tests_catch_a_changed_threshold(tmp_path: Path) -> None:
    docs = render(*WITH_ANOMALIES, "--set", "monitoring.rules.noBatch.seconds=3600")
    result = promtool_unit_tests(docs, tmp_path)
    assert result.returncode != 0
    assert "LogiflowNoBatch" in result.stdout + result.stderr


def test_each_alert_has_a_severity_texts_and_a_runbook_section(docs: list[Doc]) -> None:
    anchors = {
        m.group(1).lower() for m in re.finditer(r"^## (\w+)", RUNBOOK.read_text(), re.MULTILINE)
    }
    for rule in rules_of(docs):
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        notes = rule["annotations"]
        assert notes["summary"] and notes["description"], rule["alert"]
        url, _, anchor = notes["runbook_url"].partition("#")
        assert url.endswith("/docs/runbook.md")
        assert anchor == rule["alert"].lower() and anchor in anchors, rule["alert"]


def contract_series() -> set[str]:
    names: set[str] = set()
    for metric in metrics.ALL:
        names.add(metric.sample_name)
        if metric.kind == metrics.HISTOGRAM:
            names |= {f"{metric.name}_{suffix}" for suffix in ("bucket", "sum", "count")}
    return names


def test_every_logiflow_series_a_rule_uses_is_in_the_contract(docs: list[Doc]) -> None:
    used = {name for rule in rules_of(docs) for name in re.findall(r"\blogiflow_\w+", rule["expr"])}
    assert used, "the rules use LogiFlow's own series"
    assert used <= contract_series(), used - contract_series()


def test_thresholds_and_switches_come_from_the_values() -> None:
    docs = render(
        "--set",
        "monitoring.rules.noBatch.seconds=120,monitoring.rules.noBatch.severity=warning,"
        "monitoring.rules.queryRestarts.enabled=false",
        # --set reads 0.2 as a string, which the schema refuses.
        "--set-json",
        "monitoring.rules.deadLetterRate.ratio=0.2",
    )
    rules = {r["alert"]: r for r in rules_of(docs)}
    assert "LogiflowQueryRestarts" not in rules
    assert rules["LogiflowNoBatch"]["expr"].endswith("> 120")
    assert rules["LogiflowNoBatch"]["labels"]["severity"] == "warning"
    assert rules["LogiflowDeadLetterRateHigh"]["expr"].endswith("> 0.2")


def test_alerts_follow_what_is_deployed() -> None:
    no_kafka_metrics = {r["alert"] for r in rules_of(render("--set", "kafka.metrics=false"))}
    assert no_kafka_metrics == ALERTS - {"LogiflowKafkaUnderReplicatedPartitions", ANOMALY_ALERT}
    assert {r["alert"] for r in rules_of(render(*WITH_ANOMALIES))} == ALERTS
    switched_off = render(*WITH_ANOMALIES, "--set", "monitoring.rules.anomalies.enabled=false")
    assert {r["alert"] for r in rules_of(switched_off)} == ALERTS - {ANOMALY_ALERT}
    no_etl = render("--set", "spark.enabled=false,tests.enabled=false")
    assert {r["alert"] for r in rules_of(no_etl)} == {
        "LogiflowKafkaUnderReplicatedPartitions",
        *ELASTICSEARCH_ALERTS,
    }
    no_exporter = render("--set", "monitoring.elasticsearchExporter.enabled=false")
    assert {r["alert"] for r in rules_of(no_exporter)} == ALERTS - ELASTICSEARCH_ALERTS - {
        ANOMALY_ALERT
    }
    off = render("--set", "monitoring.rules.enabled=false")
    assert not find(off, "PrometheusRule") and find(off, "PodMonitor")


@pytest.mark.parametrize("profile_name", sorted(PROFILES))
def test_rules_select_this_release_only(profile_name: str) -> None:
    for rule in rules_of(render(*PROFILES[profile_name])):
        assert 'namespace="logiflow"' in rule["expr"], rule["alert"]
        assert 'job="lf-logiflow-' in rule["expr"], rule["alert"]
