"""The embedded default's health: the local Kafka broker and Elasticsearch node of one state
directory (running by their pid files, and answering or not), then the ETL's progress from its
accounting documents on them."""

from __future__ import annotations

from rich.console import Console

from logiflow.config import LogiflowConfig
from logiflow.errors import LogiflowError
from logiflow.io.es_client import check_reachable, create_es_client
from logiflow.io.kafka_diagnosis import check_kafka
from logiflow.local.process import ServerStatus
from logiflow.local.servers import LocalServers
from logiflow.status.checks import DEGRADED, FAILED, OK, Check, Level
from logiflow.status.progress import progress_checks

ES_HEALTH: dict[str, Level] = {"green": OK, "yellow": DEGRADED}


def has_local_state(config: LogiflowConfig) -> bool:
    """Whether `logiflow local up` (or a local run) ever used this state directory."""
    state_dir = config.local.state_dir
    return (state_dir / "kafka").is_dir() or (state_dir / "elasticsearch").is_dir()


def _server_check(server: ServerStatus, answer: str | None, level: Level) -> Check:
    """``answer``: what the server said when asked, or None when it did not answer."""
    if server.state != "running":
        return Check(server.name, server.address, server.state, FAILED, f"log: {server.log_file}")
    if answer is None:
        return Check(server.name, server.address, "not answering", FAILED, f"pid {server.pid}")
    return Check(server.name, server.address, answer, level, f"pid {server.pid}")


def _kafka_answer(config: LogiflowConfig) -> str | None:
    try:
        return f"{len(check_kafka(config.kafka))} topics"
    except LogiflowError:
        return None


def _elasticsearch_health(config: LogiflowConfig) -> str | None:
    client = create_es_client(config.elasticsearch, max_retries=0)
    try:
        return str(check_reachable(client, config.elasticsearch).get("status", "unknown"))
    except LogiflowError:
        return None
    finally:
        client.close()


def local_checks(config: LogiflowConfig, max_batch_age: float) -> list[Check]:
    """The two servers, then (where Elasticsearch answers) the ETL's last batch and lag."""
    servers = LocalServers(config.local, Console(stderr=True, quiet=True))
    config = servers.apply_to(config)
    report = servers.status()
    # Only a running server is asked: a stopped one would cost a connection timeout.
    kafka = _kafka_answer(config) if report["kafka"].state == "running" else None
    running_es = report["elasticsearch"].state == "running"
    health = _elasticsearch_health(config) if running_es else None
    checks = [
        _server_check(report["kafka"], kafka, OK),
        _server_check(report["elasticsearch"], health, ES_HEALTH.get(health or "", FAILED)),
    ]
    if health is None:
        return checks
    return checks + progress_checks(config, max_batch_age)
