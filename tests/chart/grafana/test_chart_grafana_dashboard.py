"""templates/grafana: the Grafana dashboard as a ConfigMap for Grafana's dashboard sidecar.

Its queries are run against a real Prometheus in tests/integration/test_metrics.py; here, that
the chart delivers the file as it is, labelled for the sidecar, and that the job it watches
has its streaming metrics on.
"""

from __future__ import annotations

import json

from chart_render import CHART, one, render

NAME = "lf-logiflow"
DASHBOARD = CHART / "dashboards" / "logiflow-grafana.json"


def test_configmap_holds_the_dashboard_file_with_the_sidecar_label() -> None:
    docs = render()
    configmap = one(docs, "ConfigMap", f"{NAME}-grafana-dashboard")
    labels = configmap["metadata"]["labels"]
    assert labels["grafana_dashboard"] == "1"
    assert labels["app.kubernetes.io/component"] == "grafana-dashboard"
    assert labels["app.kubernetes.io/part-of"] == "logiflow"
    delivered = json.loads(configmap["data"]["logiflow-grafana.json"])
    assert delivered == json.loads(DASHBOARD.read_text())
    assert delivered["uid"] == "logiflow-pipeline"


def test_sidecar_labels_and_folder_annotation_come_from_values() -> None:
    docs = render(
        "--set",
        "grafanaDashboard.labels.grafana_dashboard=null,grafanaDashboard.labels.team=ops,"
        "grafanaDashboard.annotations.grafana_folder=LogiFlow",
    )
    metadata = one(docs, "ConfigMap", f"{NAME}-grafana-dashboard")["metadata"]
    assert metadata["labels"]["team"] == "ops"
    assert "grafana_dashboard" not in metadata["labels"]
    assert metadata["annotations"] == {"grafana_folder": "LogiFlow"}


def test_every_panel_asks_for_the_prometheus_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"], panel["title"]


def test_the_etl_has_streaming_metrics_on_and_its_metrics_port_open_to_the_scrapers() -> None:
    docs = render("--set-json", 'networkPolicy.sparkUiFrom=[{"namespaceSelector":{}}]')
    conf = one(docs, "SparkApplication")["spec"]["sparkConf"]
    assert conf["spark.sql.streaming.metricsEnabled"] == "true"
    # The UI (Spark's servlet) to networkPolicy.sparkUiFrom; the scrape of both ports to
    # monitoring.prometheusFrom, by the monitoring policy.
    policy = one(docs, "NetworkPolicy", f"{NAME}-spark-driver")
    ports = {p["port"] for rule in policy["spec"]["ingress"] for p in rule.get("ports", [])}
    assert ports == {4040}
    scrape = one(docs, "NetworkPolicy", f"{NAME}-spark-driver-metrics")
    ports = {p["port"] for rule in scrape["spec"]["ingress"] for p in rule.get("ports", [])}
    assert ports == {4040, 9108}
