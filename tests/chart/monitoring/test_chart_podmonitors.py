"""templates/monitoring/podmonitor-*.yaml and Kafka Exporter: every component is scraped where it
serves its metrics, and the monitoring objects follow their switches."""

from __future__ import annotations

import base64

import yaml
from chart_render import Doc, find, one, render

from logiflow.local.kafka_server import METRICS_ALLOW_LIST

NAME = "lf-logiflow"


def endpoints(doc: Doc) -> list[tuple[object, str, str]]:
    """(port name or number, path, job) of each endpoint of a PodMonitor."""
    return [
        (
            e.get("port", e.get("portNumber")),
            e["path"],
            next(r["replacement"] for r in e["relabelings"] if r["targetLabel"] == "job"),
        )
        for e in doc["spec"]["podMetricsEndpoints"]
    ]


def test_the_driver_is_scraped_for_logiflow_and_spark_metrics(docs: list[Doc]) -> None:
    monitor = one(docs, "PodMonitor", f"{NAME}-spark-driver")
    assert endpoints(monitor) == [
        (9108, "/metrics", f"{NAME}-etl"),
        (4040, "/metrics/prometheus", f"{NAME}-spark-driver"),
        (4040, "/metrics/executors/prometheus", f"{NAME}-spark-executors"),
    ]
    spark = one(docs, "SparkApplication")
    driver = spark["spec"]["driver"]["template"]
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= driver["metadata"]["labels"].items()
    )
    (container,) = driver["spec"]["containers"]
    assert {"name": "metrics", "containerPort": 9108, "protocol": "TCP"} in container["ports"]
    executor = spark["spec"]["executor"]["template"]
    assert not monitor["spec"]["selector"]["matchLabels"].items() <= (
        executor["metadata"]["labels"].items()
    )
    assert spark["spec"]["sparkConf"]["spark.ui.port"] == "4040"


def test_the_shipper_is_scraped_on_its_declared_port() -> None:
    docs = render("--set", "shipper.enabled=true")
    monitor = one(docs, "PodMonitor", f"{NAME}-shipper")
    assert endpoints(monitor) == [(9108, "/metrics", f"{NAME}-shipper")]
    pod = one(docs, "Deployment", f"{NAME}-shipper")["spec"]["template"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert pod["spec"]["containers"][0]["ports"][0]["containerPort"] == 9108


def test_kafka_and_its_exporter_are_scraped_on_strimzis_metrics_port(docs: list[Doc]) -> None:
    kafka = one(docs, "Kafka", NAME)
    exporter = kafka["spec"]["kafkaExporter"]
    assert exporter["groupRegex"] == "logiflow-.*" and exporter["topicRegex"] == "logiflow-.*"
    assert "enabled" not in exporter
    assert exporter["template"]["pod"]["securityContext"]["runAsNonRoot"] is True
    brokers = one(docs, "PodMonitor", f"{NAME}-kafka")
    assert brokers["spec"]["selector"]["matchLabels"] == {
        "strimzi.io/cluster": NAME,
        "strimzi.io/name": f"{NAME}-kafka",
    }
    assert endpoints(brokers) == [("tcp-prometheus", "/metrics", f"{NAME}-kafka")]
    # The local broker runs the same reporter with the same allow-list (test_metrics.py).
    metrics = kafka["spec"]["kafka"]["metricsConfig"]
    assert metrics["type"] == "strimziMetricsReporter"
    assert metrics["values"]["allowList"] == METRICS_ALLOW_LIST.split(",")
    lag = one(docs, "PodMonitor", f"{NAME}-kafka-exporter")
    assert lag["spec"]["selector"]["matchLabels"]["strimzi.io/name"] == f"{NAME}-kafka-exporter"
    assert endpoints(lag) == [("tcp-prometheus", "/metrics", f"{NAME}-kafka-exporter")]


def test_monitoring_labels_reach_every_monitoring_object() -> None:
    docs = render("--set", "monitoring.labels.release=kube-prometheus-stack")
    objects = find(docs, "PodMonitor") + find(docs, "PrometheusRule")
    assert len(objects) == 5
    for doc in objects:
        assert doc["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        assert doc["metadata"]["labels"]["app.kubernetes.io/component"] == "monitoring"


def test_each_switch_removes_its_object() -> None:
    def monitors(*switches: str) -> set[str]:
        docs = render("--set", ",".join(["shipper.enabled=true", *switches]))
        return {d["metadata"]["name"].removeprefix(f"{NAME}-") for d in find(docs, "PodMonitor")}

    everything = {"spark-driver", "shipper", "kafka", "kafka-exporter", "elasticsearch-exporter"}
    assert monitors() == everything
    for switch, gone in [
        ("monitoring.podMonitors.spark=false", "spark-driver"),
        ("monitoring.podMonitors.shipper=false", "shipper"),
        ("monitoring.podMonitors.kafka=false", "kafka"),
        ("monitoring.podMonitors.kafkaExporter=false", "kafka-exporter"),
        ("kafka.metrics=false", "kafka"),
        ("monitoring.elasticsearchExporter.enabled=false", "elasticsearch-exporter"),
    ]:
        assert monitors(switch) == everything - {gone}, switch
    no_exporter = render("--set", "kafka.kafkaExporter.enabled=false")
    assert "kafkaExporter" not in one(no_exporter, "Kafka")["spec"]
    assert monitors("kafka.kafkaExporter.enabled=false") == everything - {"kafka-exporter"}


def test_without_monitoring_no_metrics_port_is_declared() -> None:
    docs = render("--set", "monitoring.enabled=false,shipper.enabled=true")
    driver = one(docs, "SparkApplication")["spec"]["driver"]["template"]["spec"]
    assert "ports" not in driver["containers"][0]
    assert "ports" not in one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    names = {d["metadata"]["name"] for d in find(docs, "NetworkPolicy")}
    assert not {n for n in names if n.endswith("-metrics")}


def test_elasticsearch_is_scraped_through_its_exporter_as_the_monitor_user(docs: list[Doc]) -> None:
    """ECK serves no metrics: the exporter logs in as logiflow-monitor (cluster `monitor`
    only), trusts ECK's HTTP CA, and its PodMonitor selects its pod alone."""
    monitor = one(docs, "PodMonitor", f"{NAME}-elasticsearch-exporter")
    assert endpoints(monitor) == [("metrics", "/metrics", f"{NAME}-elasticsearch-exporter")]
    deployment = one(docs, "Deployment", f"{NAME}-elasticsearch-exporter")
    pod = deployment["spec"]["template"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "quay.io/prometheuscommunity/elasticsearch-exporter:v1.10.0"
    assert f"--es.uri=https://{NAME}-es-http.logiflow.svc:9200" in container["args"]
    assert "--es.ca=/etc/logiflow/es-ca/ca.crt" in container["args"]
    assert {"name": "metrics", "containerPort": 9114, "protocol": "TCP"} in container["ports"]
    secrets = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert secrets["ES_USERNAME"] == {"name": f"{NAME}-es-monitor-user", "key": "username"}
    assert secrets["ES_PASSWORD"] == {"name": f"{NAME}-es-monitor-user", "key": "password"}
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["es-ca"]["secret"]["secretName"] == f"{NAME}-es-http-certs-public"
    assert pod["spec"]["securityContext"]["runAsUser"] == 65534
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    user = one(docs, "Secret", f"{NAME}-es-monitor-user")
    assert base64.b64decode(user["data"]["roles"]).decode() == "logiflow_monitor"
    roles = yaml.safe_load(one(docs, "Secret", f"{NAME}-es-roles")["stringData"]["roles.yml"])
    assert roles["logiflow_monitor"] == {"cluster": ["monitor"]}
    realm = one(docs, "Elasticsearch")["spec"]["auth"]["fileRealm"]
    assert {"secretName": f"{NAME}-es-monitor-user"} in realm


def test_without_the_exporter_there_is_no_monitor_user() -> None:
    docs = render("--set", "monitoring.elasticsearchExporter.enabled=false")
    assert not find(docs, "Deployment", f"{NAME}-elasticsearch-exporter")
    assert not find(docs, "Secret", f"{NAME}-es-monitor-user")
    roles = yaml.safe_load(one(docs, "Secret", f"{NAME}-es-roles")["stringData"]["roles.yml"])
    assert "logiflow_monitor" not in roles
