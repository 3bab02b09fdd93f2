"""Flags that several commands share, declared once so their names, help and checks never
drift apart.

Each config flag left unset is None, which ``CliState.config`` drops, so env vars and the YAML
file still apply beneath it. A bad value is a usage error, reported by click the same way for
every command ("Invalid value for '--rate': must be positive", exit code 2).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

EsHosts = Annotated[
    list[str] | None,
    typer.Option("--es-host", help="Elasticsearch URL (repeatable); overrides the config."),
]
IndexPrefix = Annotated[
    str | None, typer.Option("--index-prefix", help="Prefix of every LogiFlow index.")
]
BootstrapServers = Annotated[
    str | None, typer.Option("--bootstrap-servers", help="Kafka bootstrap servers.")
]
LogsTopic = Annotated[
    str | None, typer.Option("--topic", help="Kafka topic of the logs (default: kafka.logs_topic).")
]


def positive(value: float | None) -> float | None:
    """Callback of numeric options that must be > 0 (None: not given)."""
    if value is not None and value <= 0:
        raise typer.BadParameter(f"must be positive, not {value:g}")
    return value


Rate = Annotated[float, typer.Option(help="Generated lines per second.", callback=positive)]
MalformedShare = Annotated[
    float,
    typer.Option(min=0.0, max=1.0, help="Share of garbage lines (0-1), to show dead letters."),
]
Seed = Annotated[int, typer.Option(help="Seed of the traffic generator: same seed, same lines.")]


def elasticsearch_overrides(es_host: list[str] | None, index_prefix: str | None) -> dict[str, Any]:
    return {"hosts": es_host or None, "index_prefix": index_prefix}


def kafka_overrides(bootstrap_servers: str | None, topic: str | None) -> dict[str, Any]:
    return {"bootstrap_servers": bootstrap_servers, "logs_topic": topic}
