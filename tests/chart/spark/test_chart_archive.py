"""The archive in the chart: off by default; on, the config file carries it (THE config model
accepts it), the SparkApplication its s3a options and the key pair from the user's Secret, and a
NetworkPolicy lets the Spark pods reach the S3 endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from chart_render import find, one, render, render_fails

from logiflow.config import load_config

NAME = "lf-logiflow"
ON = (
    "--set", "archive.enabled=true",
    "--set", "archive.endpoint=http://minio.storage.svc:9000",
    "--set", "archive.bucket=raw-logs",
    "--set", "archive.credentials.secretName=archive-keys",
    "--set", "archive.port=9000",
)  # fmt: skip


def test_off_by_default_leaves_no_trace() -> None:
    docs = render()
    config = yaml.safe_load(one(docs, "ConfigMap", f"{NAME}-config")["data"]["config.yaml"])
    assert "archive" not in config
    app = one(docs, "SparkApplication", f"{NAME}-etl")
    assert not [k for k in app["spec"]["sparkConf"] if "s3a" in k]
    env = app["spec"]["driver"]["template"]["spec"]["containers"][0]["env"]
    assert not [e for e in env if e["name"].startswith("LOGIFLOW_ARCHIVE__")]
    assert not find(docs, "NetworkPolicy", f"{NAME}-archive-clients")


def test_on_the_config_model_reads_it_with_the_keys_from_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = render(*ON)
    text = one(docs, "ConfigMap", f"{NAME}-config")["data"]["config.yaml"]
    assert "secret" not in text.lower()
    app = one(docs, "SparkApplication", f"{NAME}-etl")
    for role in ("driver", "executor"):
        spec = app["spec"][role]["template"]
        env = {e["name"]: e for e in spec["spec"]["containers"][0]["env"]}
        assert env["LOGIFLOW_ARCHIVE__ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"] == {
            "name": "archive-keys", "key": "access-key-id",
        }  # fmt: skip
        assert env["LOGIFLOW_ARCHIVE__SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"] == {
            "name": "archive-keys", "key": "secret-access-key",
        }  # fmt: skip
        assert spec["metadata"]["labels"]["logiflow.io/archive-client"] == "true"
    conf = app["spec"]["sparkConf"]
    assert conf["spark.hadoop.fs.s3a.bucket.raw-logs.endpoint"] == "http://minio.storage.svc:9000"
    assert conf["spark.hadoop.fs.s3a.bucket.raw-logs.path.style.access"] == "true"
    assert not [k for k in conf if k.endswith(("access.key", "secret.key"))]

    path = tmp_path / "config.yaml"
    path.write_text(text)
    monkeypatch.setenv("LOGIFLOW_KAFKA__SASL_USERNAME", f"{NAME}-etl")
    monkeypatch.setenv("LOGIFLOW_KAFKA__SASL_PASSWORD", "from-kafkauser-secret")
    monkeypatch.setenv("LOGIFLOW_ARCHIVE__ACCESS_KEY_ID", "from-archive-keys")
    monkeypatch.setenv("LOGIFLOW_ARCHIVE__SECRET_ACCESS_KEY", "from-archive-keys")
    archive = load_config(path).archive
    assert archive.enabled and archive.url == "s3a://raw-logs/raw"
    assert archive.endpoint == "http://minio.storage.svc:9000"
    assert archive.access_key_id == "from-archive-keys"


def test_the_spark_pods_may_reach_the_endpoint_port() -> None:
    policy = one(render(*ON), "NetworkPolicy", f"{NAME}-archive-clients")
    assert policy["spec"]["podSelector"]["matchLabels"] == {"logiflow.io/archive-client": "true"}
    assert policy["spec"]["egress"] == [{"ports": [{"port": 9000, "protocol": "TCP"}]}]


@pytest.mark.parametrize(
    "setting",
    ["archive.enable=true", "archive.bucket=Not_A_Bucket", "archive.compression=lzma",
     "archive.endpoint=minio:9000"],
)  # fmt: skip
def test_the_schema_catches_typos(setting: str) -> None:
    assert "archive" in render_fails("--set", setting)
