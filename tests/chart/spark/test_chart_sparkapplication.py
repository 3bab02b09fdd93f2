"""templates/spark: the SparkApplication reads exactly what Strimzi and ECK publish."""

from __future__ import annotations

from typing import Any

from chart_render import Doc, one

NAME = "lf-logiflow"


def pod(app: Doc, role: str) -> dict[str, Any]:
    return app["spec"][role]["template"]["spec"]


def test_entry_point_image_and_restart(docs: list[Doc]) -> None:
    app = one(docs, "SparkApplication", f"{NAME}-etl")
    spec = app["spec"]
    assert spec["type"] == "Python" and spec["mode"] == "cluster"
    assert spec["sparkVersion"] == "4.2.0"
    assert spec["mainApplicationFile"] == "local:///opt/logiflow/etl_main.py"
    # Index setup is the setup Job's: the ETL runs without it (es_privileges, the chart roles).
    assert spec["arguments"] == ["--config", "/etc/logiflow/config.yaml", "--skip-es-setup"]
    assert spec["restartPolicy"]["type"] in ("Always", "OnFailure")
    # Jars are baked into the image: nothing is resolved at run time.
    assert not any(k.startswith("spark.jars.packages") for k in spec["sparkConf"])
    assert "deps" not in spec


def test_credentials_and_cas_come_from_the_operators_secrets(docs: list[Doc]) -> None:
    app = one(docs, "SparkApplication", f"{NAME}-etl")
    kafka_user = one(docs, "KafkaUser", f"{NAME}-etl")
    es_user_secret = one(docs, "Elasticsearch")["spec"]["auth"]["fileRealm"][0]["secretName"]
    for role in ("driver", "executor"):
        spec = pod(app, role)
        env = {e["name"]: e for e in spec["containers"][0]["env"]}
        # The User Operator writes the KafkaUser's password to a Secret of the user's name.
        assert env["LOGIFLOW_KAFKA__SASL_USERNAME"]["value"] == kafka_user["metadata"]["name"]
        assert env["LOGIFLOW_KAFKA__SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": kafka_user["metadata"]["name"],
            "key": "password",
        }
        assert env["LOGIFLOW_ELASTICSEARCH__PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": es_user_secret,
            "key": "password",
        }
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["kafka-ca"]["secret"]["secretName"] == f"{NAME}-cluster-ca-cert"
        assert volumes["es-ca"]["secret"]["secretName"] == f"{NAME}-es-http-certs-public"
        for ca in ("kafka-ca", "es-ca"):
            assert volumes[ca]["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]
        assert volumes["checkpoints"]["persistentVolumeClaim"]["claimName"] == f"{NAME}-checkpoints"


def test_least_rbac_for_the_driver(docs: list[Doc]) -> None:
    app = one(docs, "SparkApplication")
    account = app["spec"]["driver"]["serviceAccount"]
    assert one(docs, "ServiceAccount", account)
    role = one(docs, "Role", account)
    binding = one(docs, "RoleBinding", account)
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account, "namespace": "logiflow"}
    ]
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert resources <= {"pods", "configmaps", "services", "persistentvolumeclaims"}
    assert "secrets" not in resources
    assert all("*" not in rule["verbs"] for rule in role["rules"])
    assert not [d for d in docs if d["kind"] in ("ClusterRole", "ClusterRoleBinding")]


def test_prometheus_metrics(docs: list[Doc]) -> None:
    app = one(docs, "SparkApplication")
    conf = app["spec"]["sparkConf"]
    assert conf["spark.ui.prometheus.enabled"] == "true"
    assert conf["spark.metrics.conf.*.sink.prometheusServlet.class"].endswith("PrometheusServlet")
    annotations = app["spec"]["driver"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == conf["spark.ui.port"]
    path = conf["spark.metrics.conf.*.sink.prometheusServlet.path"]
    assert annotations["prometheus.io/path"] == path


def test_checkpoint_volume(docs: list[Doc]) -> None:
    claim = one(docs, "PersistentVolumeClaim", f"{NAME}-checkpoints")
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    app = one(docs, "SparkApplication")
    container = pod(app, "executor")["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["checkpoints"] == "/var/lib/logiflow/checkpoints"


def test_jvms_compile_the_generated_parse_code(docs: list[Doc]) -> None:
    # The same flag the local session sets (spark_session.JIT_JAVA_OPTIONS): without it HotSpot
    # interprets Spark's large generated parse methods.
    from logiflow.spark_session import JIT_JAVA_OPTIONS

    spec = one(docs, "SparkApplication", f"{NAME}-etl")["spec"]
    for role in ("driver", "executor"):
        assert JIT_JAVA_OPTIONS in spec[role]["javaOptions"].split()
