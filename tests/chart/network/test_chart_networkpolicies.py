"""templates/network: only LogiFlow's pods reach Kafka and Elasticsearch."""

from __future__ import annotations

from chart_render import Doc, one

NAME = "lf-logiflow"
CLIENTS = {"app.kubernetes.io/instance": "lf", "logiflow.io/client": "true"}


def test_kafka_listener_admits_only_logiflow_pods(docs: list[Doc]) -> None:
    (listener,) = one(docs, "Kafka")["spec"]["kafka"]["listeners"]
    assert listener["networkPolicyPeers"] == [{"podSelector": {"matchLabels": CLIENTS}}]


def test_client_policy_egress_targets(docs: list[Doc]) -> None:
    policy = one(docs, "NetworkPolicy", f"{NAME}-clients")
    assert policy["spec"]["podSelector"]["matchLabels"] == CLIENTS
    assert policy["spec"]["ingress"] == []  # default deny; DNS is its only egress

    def targets(name: str) -> list[dict[str, str] | None]:
        return [
            rule.get("to", [{}])[0].get("podSelector", {}).get("matchLabels")
            for rule in one(docs, "NetworkPolicy", f"{NAME}-{name}")["spec"]["egress"]
        ]

    # Kafka and Elasticsearch are opened by the policies of the pods that use them.
    assert {"strimzi.io/cluster": NAME, "strimzi.io/kind": "Kafka"} in targets("kafka-clients")
    assert {"elasticsearch.k8s.elastic.co/cluster-name": NAME} in targets("elasticsearch-clients")


def test_every_own_pod_is_selected_by_the_client_policy(docs: list[Doc]) -> None:
    labels = []
    for d in docs:
        if d["kind"] == "Pod":
            labels.append(d["metadata"]["labels"])
        elif d["kind"] in ("Job", "Deployment"):
            labels.append(d["spec"]["template"]["metadata"]["labels"])
        elif d["kind"] == "SparkApplication":
            labels += [
                d["spec"][role]["template"]["metadata"]["labels"] for role in ("driver", "executor")
            ]
    assert labels
    for pod_labels in labels:
        assert CLIENTS.items() <= pod_labels.items()


def test_elasticsearch_admits_clients_kibana_and_eck(docs: list[Doc]) -> None:
    policy = one(docs, "NetworkPolicy", f"{NAME}-elasticsearch")
    http = policy["spec"]["ingress"][0]
    peers = http["from"]
    assert {"podSelector": {"matchLabels": CLIENTS}} in peers
    assert {"podSelector": {"matchLabels": {"kibana.k8s.elastic.co/name": NAME}}} in peers
    assert http["ports"] == [{"port": 9200, "protocol": "TCP"}]


KIBANA_CLIENTS = {"app.kubernetes.io/instance": "lf", "logiflow.io/kibana-client": "true"}


def test_only_the_dashboards_pods_reach_kibana(docs: list[Doc]) -> None:
    kibana = one(docs, "NetworkPolicy", f"{NAME}-kibana")
    (rule,) = kibana["spec"]["ingress"]
    assert {"podSelector": {"matchLabels": KIBANA_CLIENTS}} in rule["from"]
    assert rule["ports"] == [{"port": 5601, "protocol": "TCP"}]
    egress = one(docs, "NetworkPolicy", f"{NAME}-kibana-clients")
    assert egress["spec"]["podSelector"]["matchLabels"] == KIBANA_CLIENTS
    assert egress["spec"]["egress"] == [
        {
            "to": [{"podSelector": {"matchLabels": {"kibana.k8s.elastic.co/name": NAME}}}],
            "ports": [{"port": 5601, "protocol": "TCP"}],
        }
    ]
    # The clients policy itself opens nothing towards Kibana.
    clients = one(docs, "NetworkPolicy", f"{NAME}-clients")
    assert "kibana" not in str(clients["spec"]["egress"])
    labelled = {
        d["metadata"]["name"] for d in docs if KIBANA_CLIENTS.items() <= pod_labels(d).items()
    }
    assert labelled == {f"{NAME}-kibana-dashboards", f"{NAME}-test-kibana-dashboards"}


def pod_labels(doc: Doc) -> dict[str, str]:
    if doc["kind"] == "Pod":
        return dict(doc["metadata"]["labels"])
    if doc["kind"] in ("Job", "Deployment"):
        return dict(doc["spec"]["template"]["metadata"]["labels"])
    return {}
