"""Flags that several commands share, declared once so their names, help and checks never
drift apart.

Each config flag left unset is None, which ``CliState.config`` drops, so env vars and the YAML
file still apply beneath it. A bad value is a usage error, reported by click the same way for
every command ("Invalid value for '--rate': must be positive", exit code 2).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
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


_AGO_RE = re.compile(r"^(\d+)([smhd])$")
_AGO_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def iso_time(value: str, problem: str) -> datetime:
    """An ISO 8601 date or time in UTC (no zone given: UTC); a usage error "<value> is
    <problem>" otherwise."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is {problem}") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def time_or_ago(value: str | None) -> datetime | None:
    """ISO 8601 (no zone: UTC) or a duration ago such as ``90m``, ``2h``, ``7d``."""
    if value is None:
        return None
    ago = _AGO_RE.match(value.strip())
    if ago:
        return datetime.now(UTC) - timedelta(**{_AGO_UNITS[ago.group(2)]: int(ago.group(1))})
    return iso_time(value, "neither ISO 8601 (2026-11-24T10:00) nor a duration (2h, 7d)")
