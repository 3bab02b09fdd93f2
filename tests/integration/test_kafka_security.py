"""The chart's Kafka security, run for real: TLS, SCRAM-SHA-512 and the KafkaUsers' ACLs.

On Kubernetes every client reaches Kafka over Strimzi's TLS listener with SCRAM credentials, and
the simple authorizer enforces the ACLs the chart's KafkaUsers declare. Here a real broker is
secured the same way (``secured_kafka``): the users and ACLs are taken from the rendered chart,
the clients' settings from the rendered ConfigMap (only addresses, the CA file and the index
prefix are swapped for local ones), and the passwords arrive as environment variables, as the
chart passes them. Then the shipper (confluent-kafka) and the ETL (Spark's Kafka source and the
dead-letter sink) must work with their own users, and be refused, clearly, with the wrong ones.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from kafka_records import read_topic, write_topic
from pyspark.sql import SparkSession
from secured_kafka import SecuredKafka, apply_acls, start_secured_kafka

from logiflow.config import KafkaSettings, LogiflowConfig, load_config
from logiflow.contract.kafka_records import (
    HEADER_SOURCE_OFFSET,
    HEADER_SOURCE_PARTITION,
    HEADER_SOURCE_TOPIC,
)
from logiflow.errors import ConfigError
from logiflow.io.topic_admin import create_topics
from logiflow.job import run_etl
from logiflow.local.servers import LocalStack

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "chart"))
from chart_render import Doc, find, one, render

LOGIFLOW = str(Path(sys.executable).with_name("logiflow"))
NAME = "lf-logiflow"
ETL_USER, SHIPPER_USER, REPLAY_USER = f"{NAME}-etl", f"{NAME}-shipper", f"{NAME}-replay"

ACCESS = (
    '10.1.{i}.7 - - [24/Nov/2026:10:0{m}:1{s} +0000] "GET /orders/{i} HTTP/1.1" 200 {i}12 "-" '
    '"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"'
)
MALFORMED = ["not a log line at all", '{"half": ']


@pytest.fixture(scope="module")
def chart() -> list[Doc]:
    return render()


@pytest.fixture(scope="module")
def secured(chart: list[Doc], tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredKafka]:
    users = find(chart, "KafkaUser")
    assert {u["metadata"]["name"] for u in users} == {ETL_USER, SHIPPER_USER, REPLAY_USER}
    broker = start_secured_kafka(
        tmp_path_factory.mktemp("secured-kafka"), [u["metadata"]["name"] for u in users]
    )
    try:
        topics = {t["metadata"]["name"] for t in find(chart, "KafkaTopic")}
        create_topics(KafkaSettings(bootstrap_servers=broker.plain_bootstrap), sorted(topics))
        apply_acls(broker.admin(), users)
        yield broker
    finally:
        broker.server.stop(grace=10)


def chart_config_file(
    chart: list[Doc], broker: SecuredKafka, local_stack: LocalStack, prefix: str, directory: Path
) -> Path:
    """The chart's config file with local addresses; security settings left as rendered."""
    config: dict[str, Any] = yaml.safe_load(
        one(chart, "ConfigMap", f"{NAME}-config")["data"]["config.yaml"]
    )
    assert config["kafka"]["security_protocol"] == "SASL_SSL"
    config["kafka"]["bootstrap_servers"] = broker.secure_bootstrap
    config["kafka"]["ssl_ca_location"] = str(broker.ca_file)
    config["elasticsearch"] = {"hosts": [local_stack.elasticsearch_url], "index_prefix": prefix}
    config["spark"]["checkpoint_dir"] = str(directory / "checkpoints")
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def credentials(broker: SecuredKafka, user: str, password: str | None = None) -> dict[str, str]:
    """The environment the chart sets from the KafkaUser's Secret."""
    return {
        "LOGIFLOW_KAFKA__SASL_USERNAME": user,
        "LOGIFLOW_KAFKA__SASL_PASSWORD": password or broker.passwords[user],
    }


def logiflow(
    config_file: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """The CLI with the chart's config file and a user's credentials, as a pod runs it."""
    return subprocess.run(
        [LOGIFLOW, "--config", str(config_file), *args],
        capture_output=True, text=True, timeout=180, env={**os.environ, **env},
    )  # fmt: skip


def ship(
    config_file: Path, env: dict[str, str], lines: list[str], directory: Path
) -> subprocess.CompletedProcess[str]:
    log = directory / "access.log"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return logiflow(
        config_file, env, "ship", str(log), "--state-file", str(directory / "positions.json")
    )


def config_as(
    config_file: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> LogiflowConfig:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load_config(config_file)


def test_shipper_and_etl_work_with_their_own_users(
    chart: list[Doc],
    secured: SecuredKafka,
    local_stack: LocalStack,
    spark: SparkSession,
    unique_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config_file = chart_config_file(chart, secured, local_stack, unique_name, tmp_path)
    lines = [ACCESS.format(i=i, m=i % 3, s=i % 10) for i in range(30)] + MALFORMED
    shipped = ship(config_file, credentials(secured, SHIPPER_USER), lines, tmp_path)
    assert shipped.returncode == 0, shipped.stderr

    config = config_as(config_file, credentials(secured, ETL_USER), monkeypatch)
    result = run_etl(config, until_caught_up=True, spark=spark)

    assert result.totals == {"input": 32, "indexed": 30, "filtered": 0, "dead_letter": 2}
    # The dead-letter sink wrote with the ETL's user (read back over the admin listener).
    dead = read_topic(secured.plain_bootstrap, config.kafka.dead_letter_topic or "")
    assert sorted(r.value.decode() for r in dead) == sorted(MALFORMED)
    # Its progress reached the consumer group Kafka's lag tools read, committed as the ETL's
    # own user: the group is under the prefix its KafkaUser's ACL grants.
    assert_group_at_the_end(secured, config.kafka.consumer_group, config.kafka.logs_topic, 32)


def assert_group_at_the_end(
    secured: SecuredKafka, group: str | None, topic: str, records: int
) -> None:
    assert group == "logiflow-etl"
    admin = secured.admin()
    partitions = admin.list_topics(topic, timeout=30).topics[topic].partitions
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in partitions])
    answer = admin.list_consumer_group_offsets([request])[group].result(30)
    assert sum(tp.offset for tp in answer.topic_partitions) == records


def test_wrong_user_or_password_is_refused_clearly(
    chart: list[Doc],
    secured: SecuredKafka,
    local_stack: LocalStack,
    spark: SparkSession,
    unique_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config_file = chart_config_file(chart, secured, local_stack, unique_name, tmp_path)

    # The shipper's user may not see the dead-letter topic: its ACLs are for the logs topic.
    as_shipper = config_as(config_file, credentials(secured, SHIPPER_USER), monkeypatch)
    with pytest.raises(ConfigError, match="logiflow-deadletter"):
        run_etl(as_shipper, until_caught_up=True, spark=spark)

    # A wrong password through the CLI: one line naming Kafka, the address and the user.
    env = credentials(secured, ETL_USER, password="not-the-password")
    result = logiflow(config_file, env, "etl", "--until-caught-up")
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert secured.secure_bootstrap in line and ETL_USER in line and "credentials" in line

    # The same for the shipper (librdkafka's producer), before it sends anything.
    env = credentials(secured, SHIPPER_USER, password="not-the-password")
    result = ship(config_file, env, [ACCESS.format(i=1, m=0, s=1)], tmp_path)
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"error: Kafka at {secured.secure_bootstrap} rejected the credentials")
    assert SHIPPER_USER in line


def test_replay_works_with_its_own_user_only(
    chart: list[Doc],
    secured: SecuredKafka,
    local_stack: LocalStack,
    unique_name: str,
    tmp_path: Path,
) -> None:
    config_file = chart_config_file(chart, secured, local_stack, unique_name, tmp_path)
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))["kafka"]
    # Dead letters as the ETL writes them (set up over the admin listener).
    marker = f"replay me {unique_name}".encode()
    write_topic(secured.plain_bootstrap, config["dead_letter_topic"], [(None, marker, [
        (HEADER_SOURCE_TOPIC, b"logiflow-logs"), (HEADER_SOURCE_PARTITION, b"0"),
        (HEADER_SOURCE_OFFSET, unique_name.encode()),
    ])])  # fmt: skip

    def replay(user: str) -> subprocess.CompletedProcess[str]:
        return logiflow(config_file, credentials(secured, user), "replay-dead-letters")

    # The shipper may write logs but not read dead letters.
    refused = replay(SHIPPER_USER)
    assert refused.returncode == 2
    assert f"not visible on Kafka at {secured.secure_bootstrap} to user" in refused.stderr

    result = replay(REPLAY_USER)
    assert result.returncode == 0, result.stderr
    logs = read_topic(secured.plain_bootstrap, config["logs_topic"])
    assert [r.value for r in logs].count(marker) == 1
