"""templates/kibana: Kibana points at the chart's Elasticsearch, same version."""

from __future__ import annotations

from chart_render import Doc, one


def test_kibana_references_the_elasticsearch_by_name(docs: list[Doc]) -> None:
    es = one(docs, "Elasticsearch")
    kibana = one(docs, "Kibana")
    assert kibana["apiVersion"] == "kibana.k8s.elastic.co/v1"
    assert kibana["spec"]["elasticsearchRef"] == {"name": es["metadata"]["name"]}
    assert kibana["spec"]["version"] == es["spec"]["version"] == "8.19.21"
