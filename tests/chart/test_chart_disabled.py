"""A disabled component renders nothing of its own; the others still render."""

from __future__ import annotations

import pytest
from chart_render import render

OFF_ETL = ["spark.enabled=false", "tests.enabled=false"]


@pytest.mark.parametrize(
    ("switches", "absent_kinds", "absent_components"),
    [
        (["kibana.enabled=false"], {"Kibana"}, {"kibana", "kibana-dashboards"}),
        # The chart's two Deployments: the shipper and Elasticsearch's exporter.
        (
            ["shipper.enabled=false", "monitoring.elasticsearchExporter.enabled=false"],
            {"Deployment"},
            {"shipper", "elasticsearch-exporter"},
        ),
        (["monitoring.elasticsearchExporter.enabled=false"], set(), {"elasticsearch-exporter"}),
        (["esSetup.enabled=false"], set(), {"es-setup"}),
        (["kibanaDashboards.enabled=false"], set(), {"kibana-dashboards"}),
        (["grafanaDashboard.enabled=false"], set(), {"grafana-dashboard"}),
        (["esSetup.enabled=false", "kibanaDashboards.enabled=false"], {"Job"}, {"es-setup"}),
        (["tests.enabled=false"], {"Pod"}, {"test"}),
        (["networkPolicy.enabled=false"], {"NetworkPolicy"}, {"network"}),
        (
            ["monitoring.enabled=false"],
            {"PodMonitor", "PrometheusRule"},
            {"monitoring", "elasticsearch-exporter"},
        ),
        (
            OFF_ETL,
            {"SparkApplication", "Role", "RoleBinding", "ServiceAccount", "PersistentVolumeClaim"},
            {"spark", "test"},
        ),
        (
            [*OFF_ETL, "kafka.enabled=false"],
            {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser"},
            {"kafka"},
        ),
        (
            [
                *OFF_ETL,
                "esSetup.enabled=false",
                "kibana.enabled=false",
                "elasticsearch.enabled=false",
            ],
            {"Elasticsearch", "Kibana", "Job"},
            {"elasticsearch", "kibana", "es-setup", "elasticsearch-exporter"},
        ),
    ],
)
def test_disabled_component_renders_nothing(
    switches: list[str], absent_kinds: set[str], absent_components: set[str]
) -> None:
    docs = render("--set", ",".join(switches))
    kinds = {d["kind"] for d in docs}
    components = {d["metadata"]["labels"]["app.kubernetes.io/component"] for d in docs}
    assert not kinds & absent_kinds, kinds & absent_kinds
    assert not components & absent_components
    assert docs, "the remaining components still render"


def test_everything_off_renders_only_the_config() -> None:
    docs = render(
        "--set",
        ",".join(
            [
                *OFF_ETL,
                "kafka.enabled=false",
                "elasticsearch.enabled=false",
                "kibana.enabled=false",
                "esSetup.enabled=false",
                "shipper.enabled=false",
                "networkPolicy.enabled=false",
                "grafanaDashboard.enabled=false",
            ]
        ),
    )
    assert [d["kind"] for d in docs] == ["ConfigMap"]
