"""Flags that several commands share, declared once so their names and help never drift apart.

Each flag left unset is None, which ``CliState.config`` drops, so env vars and the YAML file
still apply beneath it.
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


def elasticsearch_overrides(es_host: list[str] | None, index_prefix: str | None) -> dict[str, Any]:
    return {"hosts": es_host or None, "index_prefix": index_prefix}


def kafka_overrides(bootstrap_servers: str | None, topic: str | None) -> dict[str, Any]:
    return {"bootstrap_servers": bootstrap_servers, "logs_topic": topic}
