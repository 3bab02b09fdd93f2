"""The rendered NetworkPolicies allow exactly the intended flows, no more and no fewer.

Every pod the chart runs (read from the rendered Pods, Jobs, Deployments and the SparkApplication's
driver and executor templates) and the pods the operators run for the release (Elasticsearch,
Kibana, Kafka broker and entity operator, with the labels ECK and Strimzi give them) are put
beside bystanders: a pod of the same namespace, a pod of another namespace, the ECK operator,
an ingress controller, Prometheus, CoreDNS and the API server. Each policy is evaluated with
Kubernetes' semantics (a pod selected by a policy of a direction allows in that direction only
what one of those policies' rules allows; policies add up); Strimzi's generated listener policy
is modelled from the Kafka resource's ``networkPolicyPeers``. The flows allowed to or from a
release pod must equal ``intended``: default deny, DNS, Kafka and Elasticsearch for the pods that
use them, Kibana for its clients, Spark's driver and executors among themselves and the driver to
the API server, Prometheus (monitoring.prometheusFrom) to the driver's and the shipper's metrics
ports, and the Spark UI reachable from no one else by default.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from chart_render import PROFILES, Doc, render

NAMESPACE = "logiflow"
NAME = "lf-logiflow"
DNS = {(53, "UDP"), (53, "TCP")}
ANY_PORT = (8080, "TCP")  # a port any pod may open; nobody is meant to reach it
METRICS_PORT = (9108, "TCP")  # config.metrics.port: the LogiFlow exporters'


@dataclass(frozen=True)
class Endpoint:
    name: str
    namespace: str | None  # None: not a pod (the API server)
    labels: tuple[tuple[str, str], ...] = ()
    ports: frozenset[tuple[int, str]] = frozenset()
    release: bool = False  # run for this release (by the chart or by an operator for it)
    roles: frozenset[str] = field(default_factory=frozenset)

    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


NAMESPACE_LABELS = {
    ns: {"kubernetes.io/metadata.name": ns}
    for ns in (NAMESPACE, "other", "elastic-system", "ingress-nginx", "monitoring", "kube-system")
}


def _endpoint(name: str, namespace: str | None, labels: dict[str, str], ports: set, **kw: Any):
    return Endpoint(name, namespace, tuple(sorted(labels.items())), frozenset(ports), **kw)


def own_pods(docs: list[Doc], ui_port: int) -> Iterator[Endpoint]:
    """Every pod the chart defines, with the labels it will run with."""
    for d in docs:
        name = d["metadata"]["name"]
        if d["kind"] == "Pod":
            yield _endpoint(name, NAMESPACE, d["metadata"]["labels"], {ANY_PORT}, release=True)
        elif d["kind"] in ("Job", "Deployment"):
            labels = d["spec"]["template"]["metadata"]["labels"]
            ports = {ANY_PORT, METRICS_PORT} if d["kind"] == "Deployment" else {ANY_PORT}
            yield _endpoint(name, NAMESPACE, labels, ports, release=True)
        elif d["kind"] == "SparkApplication":
            spark_ports = {(7078, "TCP"), (7079, "TCP"), ANY_PORT, METRICS_PORT}
            for role in ("driver", "executor"):
                labels = d["spec"][role]["template"]["metadata"]["labels"]
                ports = spark_ports | ({(ui_port, "TCP")} if role == "driver" else set())
                yield _endpoint(f"{name}-{role}", NAMESPACE, labels, ports, release=True)


def operator_pods(docs: list[Doc], listener: int) -> Iterator[Endpoint]:
    kinds = {d["kind"] for d in docs}
    if "Elasticsearch" in kinds:
        labels = {"elasticsearch.k8s.elastic.co/cluster-name": NAME}
        yield _endpoint(
            "elasticsearch", NAMESPACE, labels, {(9200, "TCP"), (9300, "TCP")}, release=True
        )
    if "Kibana" in kinds:
        labels = {"kibana.k8s.elastic.co/name": NAME}
        yield _endpoint("kibana", NAMESPACE, labels, {(5601, "TCP")}, release=True)
    if "Kafka" in kinds:
        strimzi = {"strimzi.io/cluster": NAME, "strimzi.io/kind": "Kafka"}
        broker_ports = {(listener, "TCP"), (9090, "TCP"), (9091, "TCP")}
        yield _endpoint("kafka-broker", NAMESPACE, strimzi, broker_ports, release=True)
        labels = {**strimzi, "strimzi.io/name": f"{NAME}-entity-operator"}
        yield _endpoint("entity-operator", NAMESPACE, labels, set(), release=True)


def bystanders() -> list[Endpoint]:
    return [
        _endpoint("neighbour", NAMESPACE, {"app": "other"}, {ANY_PORT}),
        _endpoint("outsider", "other", {"app": "other"}, {ANY_PORT}),
        _endpoint("eck-operator", "elastic-system", {"control-plane": "elastic-operator"}, set()),
        _endpoint("ingress-controller", "ingress-nginx", {"app": "ingress-nginx"}, set()),
        _endpoint("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"}, set()),
        _endpoint("coredns", "kube-system", {"k8s-app": "kube-dns"}, DNS),
        _endpoint("apiserver", None, {}, {(443, "TCP"), (6443, "TCP")}),
    ]


# --- Kubernetes NetworkPolicy semantics ------------------------------------------------------


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, f"selector form not modelled: {selector}"
    return selector.get("matchLabels", {}).items() <= labels.items()


# Addresses outside the cluster (the archive's S3 store in the staging profile): no endpoint of
# the model (pods, the API server) lies in them.
EXTERNAL_CIDRS = ("198.51.100.0/24",)


def _peer_matches(peer: dict[str, Any], other: Endpoint) -> bool:
    if "ipBlock" in peer:
        assert set(peer) == {"ipBlock"} and peer["ipBlock"]["cidr"] in EXTERNAL_CIDRS, peer
        return False
    assert set(peer) <= {"podSelector", "namespaceSelector"}, f"peer not modelled: {peer}"
    if other.namespace is None:  # not a pod: only rules without peers reach it
        return False
    if "namespaceSelector" in peer:
        in_namespace = _selects(peer["namespaceSelector"], NAMESPACE_LABELS[other.namespace])
    else:
        in_namespace = other.namespace == NAMESPACE
    return in_namespace and _selects(peer.get("podSelector", {}), other.label_map())


def _rule_allows(rule: dict[str, Any], peers_key: str, other: Endpoint, port: tuple) -> bool:
    peers = rule.get(peers_key) or []
    ports = rule.get("ports") or []
    peer_ok = not peers or any(_peer_matches(p, other) for p in peers)
    port_ok = not ports or any(
        (p["port"], p.get("protocol", "TCP")) == port for p in ports if "port" in p
    )
    return peer_ok and port_ok


def _direction_allows(
    policies: list[dict[str, Any]], direction: str, pod: Endpoint, other: Endpoint, port: tuple
) -> bool:
    if pod.namespace != NAMESPACE:
        return True  # no policy of ours selects pods of other namespaces
    selecting = [
        p["spec"]
        for p in policies
        if direction in p["spec"]["policyTypes"]
        and _selects(p["spec"]["podSelector"], pod.label_map())
    ]
    if not selecting:
        return True
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    return any(
        _rule_allows(rule, peers_key, other, port)
        for spec in selecting
        for rule in spec.get(rules_key) or []
    )


def strimzi_listener_policy(docs: list[Doc], listener: int) -> list[dict[str, Any]]:
    """What Strimzi generates for the brokers: the listener from its networkPolicyPeers, and
    everything from the pods of the same Kafka cluster."""
    kafka = [d for d in docs if d["kind"] == "Kafka"]
    if not kafka:
        return []
    (spec_listener,) = kafka[0]["spec"]["kafka"]["listeners"]
    cluster = {"matchLabels": {"strimzi.io/cluster": NAME}}
    return [
        {
            "spec": {
                "podSelector": {
                    "matchLabels": {"strimzi.io/cluster": NAME, "strimzi.io/kind": "Kafka"}
                },
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": spec_listener["networkPolicyPeers"],
                        "ports": [{"port": listener, "protocol": "TCP"}],
                    },
                    {"from": [{"podSelector": cluster}]},
                ],
            }
        }
    ]


def allowed_flows(docs: list[Doc], values: dict[str, Any]) -> tuple[set, list[Endpoint]]:
    listener = values["listener"]
    endpoints = [
        *own_pods(docs, values["ui_port"]),
        *operator_pods(docs, listener),
        *bystanders(),
    ]
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    policies += strimzi_listener_policy(docs, listener)
    flows = set()
    for src in endpoints:
        for dst in endpoints:
            if src is dst or not (src.release or dst.release) or src.namespace is None:
                continue
            for port in dst.ports:
                if _direction_allows(policies, "Egress", src, dst, port) and _direction_allows(
                    policies, "Ingress", dst, src, port
                ):
                    flows.add((src.name, dst.name, port))
    return flows, endpoints


# --- what is meant to be allowed -------------------------------------------------------------


def _has(endpoint: Endpoint, label: str) -> bool:
    return endpoint.label_map().get(label) == "true"


class Flows:
    """The intended flows, built up one ``allow`` at a time."""

    def __init__(self, endpoints: list[Endpoint]) -> None:
        self.by_name = {e.name: e for e in endpoints}
        self.spark = {e.name: e.label_map().get("logiflow.io/spark-role") for e in endpoints}
        self.set: set[tuple[str, str, tuple[int, str]]] = set()

    def allow(self, src: str, dst: str, ports: Any = None) -> None:
        if src in self.by_name and dst in self.by_name and src != dst:
            for port in ports if ports is not None else self.by_name[dst].ports:
                self.set.add((src, dst, port))

    def own_pod(self, e: Endpoint, listener: int) -> None:
        """What one of the chart's own pods may reach, by its labels."""
        if _has(e, "logiflow.io/kafka-client"):
            self.allow(e.name, "kafka-broker", [(listener, "TCP")])
        if _has(e, "logiflow.io/elasticsearch-client"):
            self.allow(e.name, "elasticsearch", [(9200, "TCP")])
        if _has(e, "logiflow.io/kibana-client"):
            self.allow(e.name, "kibana", [(5601, "TCP")])
        role = self.spark[e.name]
        if role:  # driver <-> executors, on every port
            self.allow(e.name, next(n for n, r in self.spark.items() if r and r != role))
        if role == "driver":
            self.allow(e.name, "apiserver")


def intended(endpoints: list[Endpoint], values: dict[str, Any]) -> set:
    flows = Flows(endpoints)
    strimzi = [e.name for e in endpoints if "strimzi.io/cluster" in e.label_map()]
    for e in endpoints:
        if e.release:
            flows.allow(e.name, "coredns")
            flows.own_pod(e, values["listener"])
    for a in strimzi:
        flows.allow(a, "apiserver")
        for b in strimzi:
            flows.allow(a, b)
    for client in ("kibana", "eck-operator"):
        flows.allow(client, "elasticsearch", [(9200, "TCP")])
    flows.allow("eck-operator", "kibana")
    for peer in values["kibana_ingress"]:
        flows.allow(peer, "kibana")
    for e in endpoints:
        if values["monitoring"] and e.label_map().get("app.kubernetes.io/component") == "shipper":
            flows.allow("prometheus", e.name, [METRICS_PORT])
        if values["monitoring"] and flows.spark[e.name] == "driver":
            flows.allow("prometheus", e.name, [METRICS_PORT, (values["ui_port"], "TCP")])
    return flows.set


def profile_values(profile: str) -> dict[str, Any]:
    args = PROFILES[profile]
    staging = profile == "staging"
    return {
        "args": args,
        "listener": 9093,
        "ui_port": 4040,
        "kibana_ingress": ["ingress-controller"] if staging else [],
        "monitoring": True,
    }


def test_policies_allow_exactly_the_intended_flows(profile: str) -> None:
    values = profile_values(profile)
    docs = render(*values["args"])
    flows, endpoints = allowed_flows(docs, values)
    expected = intended(endpoints, values)
    assert sorted(flows - expected) == [], "allowed but not intended"
    assert sorted(expected - flows) == [], "intended but not allowed"


def test_the_spark_ui_opens_only_to_the_configured_peers() -> None:
    monitoring = {"kubernetes.io/metadata.name": "monitoring"}
    peers = json.dumps([{"namespaceSelector": {"matchLabels": monitoring}}])
    docs = render(
        "--set-json", f"networkPolicy.sparkUiFrom={peers}", "--set", "monitoring.enabled=false"
    )
    flows, _ = allowed_flows(docs, profile_values("default"))
    from_outside = {
        (src, port)
        for src, dst, port in flows
        if dst == f"{NAME}-etl-driver" and src in ("prometheus", "neighbour", "outsider")
    }
    assert from_outside == {("prometheus", (4040, "TCP"))}


def test_without_monitoring_prometheus_reaches_nothing() -> None:
    values = {**profile_values("kind"), "monitoring": False}
    docs = render(*values["args"], "--set", "monitoring.enabled=false")
    flows, endpoints = allowed_flows(docs, values)
    assert not [f for f in flows if f[0] == "prometheus"]
    assert flows == intended(endpoints, values)


def test_prometheus_is_found_by_the_configured_peers() -> None:
    """monitoring.prometheusFrom moves the scrape to another namespace: the default one is shut."""
    peers = json.dumps(
        [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}}}]
    )
    flows, _ = allowed_flows(
        render("--set-json", f"monitoring.prometheusFrom={peers}"), profile_values("default")
    )
    scraped = {(src, port) for src, dst, port in flows if dst == f"{NAME}-etl-driver"}
    assert ("prometheus", METRICS_PORT) not in scraped
    assert {("outsider", METRICS_PORT), ("outsider", (4040, "TCP"))} <= scraped
