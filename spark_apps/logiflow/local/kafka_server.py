"""The embedded default's Kafka: one KRaft process that is both broker and controller.

It listens on 127.0.0.1 only and keeps its configuration, data and logs under
``<local.state_dir>/kafka``. Its storage is formatted once with a fresh cluster id; log4j2 writes
the broker log to ``kafka/logs/server.log``. Automatic topic creation is off so a typo in a topic
name fails instead of silently creating a new topic (``logiflow.io.topic_admin`` creates them).

With ``local.kafka_metrics_port`` set, the broker runs Strimzi's metrics reporter, as the chart's
brokers do, on that port (with the chart's allow-list), and writes its scrape target for the
local Prometheus: the same ``kafka_server_*`` series the alerts and Grafana panels read.
"""

from __future__ import annotations

import base64
import contextlib
import subprocess
import uuid
from pathlib import Path

from rich.console import Console

from logiflow.config import KafkaSettings, LocalSettings
from logiflow.io.kafka_client import quiet_librdkafka_config
from logiflow.local import artifacts
from logiflow.local.process import (
    DEFAULT_STOP_GRACE,
    LOOPBACK,
    SMALL_MACHINE_JVM_OPTIONS,
    LocalServerError,
    ServerName,
    ServerProcess,
    java_home,
)
from logiflow.local.prometheus_config import targets_dir, write_target

# The chart's allow-list (templates/kafka/kafka.yaml, metricsConfig): the same series here.
METRICS_ALLOW_LIST = "kafka_server.*,kafka_network.*,kafka_log.*,kafka_controller.*"


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, base64url without padding.

    Like Kafka's own ``Uuid.randomUuid``, never one starting with "-": the storage tool's
    argument parser would take it for an option.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class KafkaServer(ServerProcess):
    name: ServerName = "kafka"
    display = "Kafka"

    def __init__(
        self,
        settings: LocalSettings,
        console: Console,
        *,
        extra_properties: dict[str, str] | None = None,
        scram_users: dict[str, str] | None = None,
    ) -> None:
        """``extra_properties`` are added to (or replace) server.properties; ``scram_users``
        (name -> password) get SCRAM-SHA-512 credentials when the storage is formatted. Both
        serve a broker secured like the chart's (TLS + SCRAM + ACLs) next to the plain one."""
        super().__init__(settings, console)
        self.extra_properties = dict(extra_properties or {})
        self.scram_users = dict(scram_users or {})

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.settings.kafka_port}"

    @property
    def ports(self) -> list[int]:
        metrics = [self.settings.kafka_metrics_port] if self.settings.kafka_metrics_port else []
        return [self.settings.kafka_port, self.settings.kafka_controller_port, *metrics]

    @property
    def target_file(self) -> Path:
        return targets_dir(self.settings) / "kafka.json"

    def _metrics_properties(self) -> dict[str, str]:
        """Strimzi's reporter: Kafka's own metrics and the broker's Yammer ones, on one port."""
        port = self.settings.kafka_metrics_port
        if not port:
            return {}
        return {
            "metric.reporters": "io.strimzi.kafka.metrics.KafkaPrometheusMetricsReporter",
            "kafka.metrics.reporters": "io.strimzi.kafka.metrics.YammerPrometheusMetricsReporter",
            "prometheus.metrics.reporter.listener.enable": "true",
            "prometheus.metrics.reporter.listener": f"http://{LOOPBACK}:{port}",
            "prometheus.metrics.reporter.allowlist": METRICS_ALLOW_LIST,
        }

    def write_target(self) -> None:
        """The broker's metrics as a target of the local Prometheus of this state dir."""
        address = f"{LOOPBACK}:{self.settings.kafka_metrics_port}"
        write_target(self.settings, self.name, address, self.name)

    def stop(self, grace: float = DEFAULT_STOP_GRACE) -> bool:
        with contextlib.suppress(OSError):
            self.target_file.unlink()
        return super().stop(grace)

    @property
    def log_file(self) -> Path:
        return self.dir / "logs" / "server.log"

    @property
    def cluster_id_file(self) -> Path:
        return self.dir / "cluster.id"

    def _write_config(self) -> tuple[Path, Path]:
        s = self.settings
        data_dir = self.dir / "data"
        logs_dir = self.dir / "logs"
        data_dir.mkdir(parents=True, exist_ok=True)
        logs_dir.mkdir(parents=True, exist_ok=True)
        properties = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{LOOPBACK}:{s.kafka_controller_port}",
            "listeners": f"PLAINTEXT://{LOOPBACK}:{s.kafka_port},"
            f"CONTROLLER://{LOOPBACK}:{s.kafka_controller_port}",
            "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{s.kafka_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(data_dir),
            "auto.create.topics.enable": "false",
            "num.partitions": "1",
            # One node: every internal topic has a single replica.
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "min.insync.replicas": "1",
            # Consumers in tests and `logiflow run` should not wait 3 s for a rebalance.
            "group.initial.rebalance.delay.ms": "0",
            "log.retention.hours": "168",
            **self._metrics_properties(),
            **self.extra_properties,
        }
        config = self.dir / "server.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in properties.items()), encoding="utf-8")
        log4j = self.dir / "log4j2.properties"
        log4j.write_text(
            "status = warn\n"
            "appender.file.type = RollingFile\n"
            "appender.file.name = FILE\n"
            f"appender.file.fileName = {self.log_file}\n"
            f"appender.file.filePattern = {logs_dir}/server.log.%i\n"
            "appender.file.layout.type = PatternLayout\n"
            "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
            "appender.file.policies.type = Policies\n"
            "appender.file.policies.size.type = SizeBasedTriggeringPolicy\n"
            "appender.file.policies.size.size = 50MB\n"
            "appender.file.strategy.type = DefaultRolloverStrategy\n"
            "appender.file.strategy.max = 3\n"
            "rootLogger.level = INFO\n"
            "rootLogger.appenderRef.file.ref = FILE\n"
            # The request log and the state-change log are noise at this scale.
            "logger.state.name = state.change.logger\n"
            "logger.state.level = WARN\n",
            encoding="utf-8",
        )
        return config, log4j

    def prepare(self) -> tuple[list[str], dict[str, str], Path]:
        libs = artifacts.ensure_kafka(self.settings, self.console).path / "libs"
        classpath = [f"{libs}/*"]
        if self.settings.kafka_metrics_port:
            reporter = artifacts.ensure_kafka_metrics_reporter(self.settings, self.console)
            classpath.append(f"{reporter.path / 'libs'}/*")
            self.write_target()
        config, log4j = self._write_config()
        java = str(java_home("JAVA_HOME") / "bin" / "java")
        common = [
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}",
            f"-Dkafka.logs.dir={self.dir / 'logs'}",
            "-cp",
            ":".join(classpath),
        ]
        if not (self.dir / "data" / "meta.properties").exists():
            self._format_storage([java, "-Xmx256m", *SMALL_MACHINE_JVM_OPTIONS, *common], config)
        heap = self.settings.kafka_heap
        server = [java, f"-Xms{heap}", f"-Xmx{heap}", *SMALL_MACHINE_JVM_OPTIONS,
                  "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]  # fmt: skip
        return [*server, *common, "kafka.Kafka", str(config)], {}, self.dir

    def _format_storage(self, jvm: list[str], config: Path) -> None:
        cluster_id = self._cluster_id()
        if not cluster_id or cluster_id.startswith("-"):
            cluster_id = new_cluster_id()
            self.cluster_id_file.write_text(cluster_id, encoding="ascii")
        scram = [
            arg
            for user, password in self.scram_users.items()
            for arg in ("--add-scram", f"SCRAM-SHA-512=[name={user},password={password}]")
        ]
        result = subprocess.run(
            [*jvm, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config),
             "--ignore-formatted", *scram],
            capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if result.returncode != 0:
            raise LocalServerError(
                f"formatting Kafka storage in {self.dir / 'data'} failed: "
                f"{(result.stdout + result.stderr).strip()[-2000:]}"
            )

    def healthy(self) -> bool:
        return kafka_ready(self.address, expected_cluster_id=self._cluster_id(), timeout=2.0)

    def _cluster_id(self) -> str | None:
        try:
            return self.cluster_id_file.read_text(encoding="ascii").strip()
        except OSError:
            return None


def kafka_ready(
    bootstrap: str, expected_cluster_id: str | None = None, timeout: float = 5.0
) -> bool:
    """True when a metadata request to ``bootstrap`` succeeds (and the cluster id matches)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    probe = KafkaSettings(bootstrap_servers=bootstrap)
    admin = AdminClient(quiet_librdkafka_config(probe, {"socket.timeout.ms": int(timeout * 1000)}))
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException:
        return False
    if not metadata.brokers:
        return False
    return expected_cluster_id is None or metadata.cluster_id == expected_cluster_id


# librdkafka logs every refused connection while a broker starts; the caller reports instead.
