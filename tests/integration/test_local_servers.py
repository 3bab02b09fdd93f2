"""The embedded default's servers and artifact cache, exercised for real.

Covers: both servers come up healthy, a produce/consume round trip through the broker,
Elasticsearch indexes and searches, status reports them (also through the CLI), ``down`` stops
them and leaves no process, topics are created idempotently, the cache is reused and corruption
is caught by checksum, and a Spark streaming read through the Kafka connector.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from confluent_kafka import Consumer, Producer
from elasticsearch import Elasticsearch
from pyspark.sql import SparkSession
from rich.console import Console

from logiflow.config import KafkaSettings, LocalSettings, LogiflowConfig, load_config
from logiflow.errors import ArtifactError, ServiceUnreachableError
from logiflow.io.topic_admin import create_topics
from logiflow.local import artifacts
from logiflow.local.elasticsearch_server import elasticsearch_ready
from logiflow.local.kafka_server import kafka_ready, new_cluster_id
from logiflow.local.process import LocalServerError, free_port
from logiflow.local.servers import LocalServers, LocalStack
from streaming_runs import run_until_caught_up

pytestmark = pytest.mark.integration

# The console script installed next to this interpreter, as users run it.
LOGIFLOW = [str(Path(sys.executable).parent / "logiflow")]


def _processes_with(marker: str) -> list[int]:
    """Pids of live processes whose environment names ``marker`` (our server marker)."""
    pids = []
    needle = f"LOGIFLOW_LOCAL_SERVER={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def _free_settings(tmp_path: Path, **extra: object) -> LocalSettings:
    return load_config(
        overrides={
            "local": {
                "state_dir": str(tmp_path / "state"),
                "kafka_port": free_port(),
                "kafka_controller_port": free_port(),
                "elasticsearch_port": free_port(),
                "kafka_heap": "256m",
                "elasticsearch_heap": "512m",
                **extra,
            }
        }
    ).local


def test_servers_are_healthy_and_status_reports_them(local_stack: LocalStack) -> None:
    assert kafka_ready(local_stack.kafka_bootstrap)
    assert elasticsearch_ready(local_stack.elasticsearch_url)
    status = local_stack.servers.status()
    assert status["kafka"].state == "running"
    assert status["kafka"].address == local_stack.kafka_bootstrap
    assert status["elasticsearch"].state == "running"
    assert status["elasticsearch"].address == local_stack.elasticsearch_url
    assert local_stack.config.kafka.bootstrap_servers == local_stack.kafka_bootstrap
    assert local_stack.config.elasticsearch.hosts == [local_stack.elasticsearch_url]
    # Everything stays on loopback.
    assert local_stack.kafka_bootstrap.startswith("127.0.0.1:")
    assert local_stack.elasticsearch_url.startswith("http://127.0.0.1:")


def test_broker_logs_to_a_file_under_the_state_dir(local_stack: LocalStack) -> None:
    log = local_stack.servers.settings.state_dir / "kafka" / "logs" / "server.log"
    assert "Kafka Server started" in log.read_text()
    # log4j2 writes to the file only: nothing of the broker's log reaches its console output.
    console = (local_stack.servers.settings.state_dir / "kafka" / "kafka.out").read_text()
    assert "Kafka Server started" not in console


def test_produce_consume_round_trip(local_stack: LocalStack, kafka_topic: str) -> None:
    producer = Producer(
        {"bootstrap.servers": local_stack.kafka_bootstrap, "enable.idempotence": True}
    )
    sent = {f"key-{i}": f"line {i} {uuid.uuid4()}" for i in range(20)}
    for key, value in sent.items():
        producer.produce(kafka_topic, key=key, value=value)
    assert producer.flush(30) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": local_stack.kafka_bootstrap,
            "group.id": f"{kafka_topic}-reader",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([kafka_topic])
    received: dict[str, str] = {}
    deadline = time.monotonic() + 60
    try:
        while len(received) < len(sent) and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            received[message.key().decode()] = message.value().decode()
    finally:
        consumer.close()
    assert received == sent


def test_create_topics_is_idempotent(local_stack: LocalStack, unique_name: str) -> None:
    topics = [f"{unique_name}-a", f"{unique_name}-b"]
    assert sorted(create_topics(local_stack.config.kafka, topics)) == topics
    assert create_topics(local_stack.config.kafka, topics) == []


def test_pipeline_config_topics_exist(
    local_stack: LocalStack, pipeline_config: LogiflowConfig
) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": local_stack.kafka_bootstrap})
    existing = admin.list_topics(timeout=10).topics
    assert pipeline_config.kafka.logs_topic in existing
    assert pipeline_config.kafka.dead_letter_topic in existing
    assert pipeline_config.kafka.bootstrap_servers == local_stack.kafka_bootstrap


def test_elasticsearch_indexes_and_searches(es_client: Elasticsearch, unique_name: str) -> None:
    # integ-test-zip has no rest-root module, so `GET /` (client.info/ping) is not there.
    nodes = es_client.nodes.info(node_id="_local")
    (node,) = nodes["nodes"].values()
    assert node["version"] == load_config().local.elasticsearch_version
    es_client.index(index=unique_name, id="1", document={"message": "hello"}, refresh=True)
    hits = es_client.search(index=unique_name, query={"match": {"message": "hello"}})
    assert hits["hits"]["total"]["value"] == 1
    health = es_client.cluster.health()
    assert health["status"] in ("green", "yellow")


def test_cli_status_json_reports_the_stack(local_stack: LocalStack) -> None:
    env = {
        **os.environ,
        "LOGIFLOW_LOCAL__STATE_DIR": str(local_stack.servers.settings.state_dir),
        "LOGIFLOW_LOCAL__KAFKA_PORT": str(local_stack.config.local.kafka_port),
        "LOGIFLOW_LOCAL__ELASTICSEARCH_PORT": str(local_stack.config.local.elasticsearch_port),
    }
    result = subprocess.run(
        [*LOGIFLOW, "local", "status", "--json"], env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["kafka"]["state"] == "running"
    assert status["kafka"]["bootstrap_servers"] == local_stack.kafka_bootstrap
    assert status["elasticsearch"]["state"] == "running"
    assert status["elasticsearch"]["url"] == local_stack.elasticsearch_url


def test_spark_reads_the_topic_through_the_kafka_connector(
    spark: SparkSession, local_stack: LocalStack, kafka_topic: str, tmp_path: Path
) -> None:
    producer = Producer({"bootstrap.servers": local_stack.kafka_bootstrap})
    for i in range(5):
        producer.produce(kafka_topic, value=f"event {i}")
    assert producer.flush(30) == 0
    stream = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", local_stack.kafka_bootstrap)
        .option("subscribe", kafka_topic)
        .option("startingOffsets", "earliest")
        .load()
        .selectExpr("CAST(value AS STRING) AS value")
    )
    writer = stream.writeStream.format("memory").queryName(kafka_topic.replace("-", "_"))
    run_until_caught_up(writer, str(tmp_path / "checkpoint"))
    rows = spark.sql(f"SELECT value FROM {kafka_topic.replace('-', '_')}").collect()
    assert sorted(r.value for r in rows) == [f"event {i}" for i in range(5)]


def _wait_gone(marker: str, timeout: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout
    while (pids := _processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.3)
    return pids


def _cli_json_status(env: dict[str, str]) -> dict[str, dict[str, object]]:
    result = subprocess.run([*LOGIFLOW, "local", "status", "--json"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _assert_monitoring_up(status: dict[str, dict[str, object]]) -> None:
    """The local Prometheus is ready, Elasticsearch's exporter reports the cluster's health."""
    prometheus, exporter = status["prometheus"], status["elasticsearch_exporter"]
    assert prometheus["state"] == exporter["state"] == "running"
    assert requests.get(f"{prometheus['url']}/-/ready", timeout=10).status_code == 200
    metrics = requests.get(f"{exporter['url']}/metrics", timeout=30).text
    assert 'elasticsearch_cluster_health_status{cluster="' in metrics


def test_lifecycle_from_separate_processes_leaves_no_process(tmp_path: Path) -> None:
    """One state dir through the ways a user ends the servers; none leaves a process behind.

    1. ``local up --foreground`` then Ctrl-C (SIGINT): the command stops what it started.
    2. ``local up`` (detached), ``status`` and ``down`` from other processes.
    3. A foreground owner killed with SIGKILL: its servers die with it (no orphans).
    Restarts reuse the formatted Kafka storage and the Elasticsearch data directory.
    """
    settings = _free_settings(tmp_path)
    env = {
        **os.environ,
        "LOGIFLOW_LOCAL__STATE_DIR": str(settings.state_dir),
        "LOGIFLOW_LOCAL__KAFKA_PORT": str(settings.kafka_port),
        "LOGIFLOW_LOCAL__KAFKA_CONTROLLER_PORT": str(settings.kafka_controller_port),
        "LOGIFLOW_LOCAL__ELASTICSEARCH_PORT": str(settings.elasticsearch_port),
        "LOGIFLOW_LOCAL__KAFKA_HEAP": settings.kafka_heap,
        "LOGIFLOW_LOCAL__ELASTICSEARCH_HEAP": settings.elasticsearch_heap,
        "LOGIFLOW_LOCAL__PROMETHEUS_PORT": str(free_port()),
        "LOGIFLOW_LOCAL__ELASTICSEARCH_EXPORTER_PORT": str(free_port()),
    }
    marker = str(settings.state_dir.resolve())
    servers = LocalServers(settings, Console(stderr=True))
    owner: subprocess.Popen[str] | None = None
    try:
        # 1. Foreground, then Ctrl-C.
        owner = subprocess.Popen([*LOGIFLOW, "local", "up", "--foreground"], env=env,
                                 stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                 text=True)  # fmt: skip
        assert owner.stderr is not None
        for line in owner.stderr:
            if "press Ctrl-C" in line:
                break
        else:
            pytest.fail(f"local up --foreground exited with {owner.wait()}")
        status = _cli_json_status(env)
        assert status["kafka"]["state"] == "running"
        assert status["elasticsearch"]["state"] == "running"
        assert status["kafka"]["bootstrap_servers"] == f"127.0.0.1:{settings.kafka_port}"
        owner.send_signal(signal.SIGINT)
        # typer reports Ctrl-C as 130, but cli.main.run drops the code returned in
        # non-standalone mode (exit 0); either way it must not be an error exit.
        assert owner.wait(120) in (0, 130)
        assert _processes_with(marker) == []

        # 2. Detached, with the local Prometheus and Elasticsearch's exporter: the command exits,
        # the servers stay until `down`, which stops Prometheus and the exporter too.
        up = subprocess.run([*LOGIFLOW, "local", "up", "--prometheus"], env=env,
                            capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        assert up.returncode == 0, up.stderr
        assert {s.state for s in servers.status().values()} == {"running"}
        _assert_monitoring_up(_cli_json_status(env))
        assert kafka_ready(f"127.0.0.1:{settings.kafka_port}")
        # Topics created by the first `up` survived the restart.
        assert (
            create_topics(
                KafkaSettings(bootstrap_servers=servers.kafka_bootstrap), ["logiflow-logs"]
            )
            == []
        )
        down = subprocess.run([*LOGIFLOW, "local", "down"], env=env, capture_output=True,
                              text=True, timeout=120, check=False)  # fmt: skip
        assert down.returncode == 0, down.stderr
        assert _processes_with(marker) == []
        assert {s.state for s in servers.status().values()} == {"stopped"}
        with pytest.raises(ServiceUnreachableError, match=r"Kafka is unreachable at 127\.0\.0\.1"):
            servers.require_healthy()
        again = subprocess.run([*LOGIFLOW, "local", "down"], env=env, capture_output=True,
                               text=True, timeout=60, check=False)  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert "was not running" in again.stderr

        # 3. Owner killed outright.
        script = (
            "import time\n"
            "from logiflow.config import LocalSettings\n"
            "from logiflow.local.servers import LocalServers\n"
            f"settings = LocalSettings.model_validate_json({settings.model_dump_json()!r})\n"
            "LocalServers(settings).start(foreground=True)\n"
            "print('ready', flush=True)\n"
            "time.sleep(600)\n"
        )
        owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                                 text=True)  # fmt: skip
        assert owner.stdout is not None
        assert owner.stdout.readline().strip() == "ready"
        assert len(_processes_with(marker)) >= 2
        owner.kill()
        owner.wait(10)
        assert _wait_gone(marker) == []
    finally:
        if owner is not None and owner.poll() is None:
            owner.kill()
        servers.stop(grace=5)


def test_start_failure_names_the_service_and_quotes_its_log(tmp_path: Path) -> None:
    # An impossible heap makes the JVM refuse to start: the error must say which and why.
    settings = _free_settings(tmp_path, kafka_heap="1k")
    servers = LocalServers(settings, Console(stderr=True))
    with pytest.raises(LocalServerError) as raised:
        servers.start(timeout=60)
    message = str(raised.value)
    assert "Kafka at 127.0.0.1:" in message
    assert "heap" in message.lower()
    marker = str(settings.state_dir.resolve())
    # Whatever the failed start had launched (Elasticsearch) was stopped again.
    assert _processes_with(marker) == []


def test_port_in_use_is_a_clear_error(local_stack: LocalStack, tmp_path: Path) -> None:
    settings = _free_settings(tmp_path)
    settings = settings.model_copy(update={"kafka_port": local_stack.config.local.kafka_port})
    with pytest.raises(LocalServerError, match=r"port \d+ on 127\.0\.0\.1 is already in use"):
        LocalServers(settings, Console(stderr=True)).start(timeout=30)


def test_artifact_cache_is_reused_and_corruption_is_detected(tmp_path: Path) -> None:
    shared = load_config().local
    # The shared cache already holds everything (the session stack used it): nothing to fetch.
    assert artifacts.ensure_kafka(shared).fetched is False
    assert artifacts.ensure_elasticsearch(shared).fetched is False
    assert artifacts.ensure_connectors(shared).fetched is False

    # Work on a private copy: other test runs use the shared cache at the same time.
    cache = tmp_path / "cache"
    source = artifacts.ensure_connectors(shared).path
    shutil.copytree(source, cache / source.name)
    shutil.copytree(shared.cache_dir / "m2", cache / "m2")
    settings = shared.model_copy(update={"cache_dir": cache})
    installed = artifacts.ensure_connectors(settings)
    assert installed.fetched is False
    assert installed.path == cache / source.name

    jar = next((installed.path / "libs").glob("kafka-clients-*.jar"))
    good = jar.read_bytes()
    jar.write_bytes(good[:-10] + b"corrupted!")
    with pytest.raises(ArtifactError, match=f"{jar.name} fails its checksum"):
        artifacts.verify(installed.path)
    # Using the cache repairs it from verified sources.
    repaired = artifacts.ensure_connectors(settings)
    assert repaired.fetched is True
    assert jar.read_bytes() == good
    artifacts.verify(repaired.path)


def test_corrupted_download_is_detected_by_published_checksum(tmp_path: Path) -> None:
    shared = load_config().local
    artifact = artifacts.elasticsearch_artifact(shared.elasticsearch_version)
    cached = shared.cache_dir / "downloads" / artifact.file_name
    copy = tmp_path / artifact.file_name
    shutil.copyfile(cached, copy)
    for sidecar in cached.parent.glob(artifact.file_name + ".sha*"):
        shutil.copyfile(sidecar, tmp_path / sidecar.name)
    console = Console(stderr=True)
    assert artifacts.download_verified(artifact, copy, console) is False

    with open(copy, "r+b") as handle:
        handle.seek(1000)
        handle.write(b"\0" * 16)
    # The damaged file is detected and fetched again from Maven Central, then verified.
    assert artifacts.download_verified(artifact, copy, console) is True
    assert artifacts.download_verified(artifact, copy, console) is False


def test_download_of_a_missing_artifact_names_it_and_its_url(tmp_path: Path) -> None:
    missing = artifacts.MavenArtifact("org.elasticsearch.distribution.integ-test-zip",
                                      "elasticsearch", "0.0.0-no-such-version", "zip")  # fmt: skip
    with pytest.raises(ArtifactError) as raised:
        artifacts.download_verified(missing, tmp_path / "x.zip", Console(stderr=True))
    assert missing.coordinates in str(raised.value)
    assert missing.url in str(raised.value)


def test_cluster_ids_are_valid_for_the_storage_tool() -> None:
    # One id in 64 would start with "-" if drawn naively; the storage tool rejects those.
    ids = [new_cluster_id() for _ in range(2000)]
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
    assert len(set(ids)) == len(ids)
