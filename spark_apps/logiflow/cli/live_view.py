"""The live view of ``logiflow run``: the figures of one refresh, as a rich table on a terminal
or as one plain status line per refresh in logs.

Events/s in from the logs topic's end offsets; consumer lag = end offsets minus the offsets the
events query has finished; docs/s indexed from the ETL's batch accounts; dead letters,
requests/min, error rate and top endpoints from Elasticsearch (last minute by ``@timestamp``; the
generator stamps lines with the current time).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from confluent_kafka.admin import AdminClient
from elasticsearch import Elasticsearch
from rich.console import Group
from rich.table import Table
from rich.text import Text

from logiflow.cli.progress import RateMeter
from logiflow.cli.run_threads import EtlThread
from logiflow.config import LogiflowConfig
from logiflow.ingest.producer import end_offsets
from logiflow.ingest.traffic import TrafficSender
from logiflow.io.kafka_client import quiet_librdkafka_config
from logiflow.report import LiveSnapshot, live_snapshot


@dataclass
class Sample:
    """The figures of one refresh; None where a service did not answer in time."""

    end_offsets: int | None = None
    processed: int | None = None
    events_in_rate: float = 0.0
    indexed_rate: float = 0.0
    snapshot: LiveSnapshot | None = None
    es_error: str | None = None

    @property
    def lag(self) -> int | None:
        if self.end_offsets is None or self.processed is None:
            return None
        return max(0, self.end_offsets - self.processed)


class LiveView:
    """Gathers the figures for one refresh of the view."""

    def __init__(
        self, config: LogiflowConfig, es: Elasticsearch, etl: EtlThread, sender: TrafficSender
    ) -> None:
        self.config = config
        self.es = es
        self.etl = etl
        self.sender = sender
        self.admin = AdminClient(quiet_librdkafka_config(config.kafka))
        metadata = self.admin.list_topics(timeout=10)
        self.partitions = len(metadata.topics[config.kafka.logs_topic].partitions)
        self.in_meter = RateMeter(window=6)
        self.indexed_meter = RateMeter(window=6)
        self.started = time.monotonic()

    def end_offsets(self) -> int:
        offsets = end_offsets(self.admin, self.config.kafka.logs_topic, self.partitions)
        return sum(offsets.values())

    def sample(self) -> Sample:
        result = Sample()
        try:
            result.end_offsets = self.end_offsets()
            result.events_in_rate = self.in_meter.update(result.end_offsets)
        except Exception:  # a slow broker must not kill the view; the figure shows as "?"
            result.end_offsets = None
        result.processed = self.etl.processed_offsets()
        result.indexed_rate = self.indexed_meter.update(self.etl.result.totals["indexed"])
        try:
            result.snapshot = live_snapshot(self.es, self.config.elasticsearch.index_prefix)
        except Exception as exc:
            result.es_error = str(exc).splitlines()[0][:120]
        return result

    def render(self, sample: Sample, phase: str) -> Group:
        def fmt(value: int | None) -> str:
            return "?" if value is None else f"{value:,}"

        elapsed = time.monotonic() - self.started
        etl_result = self.etl.result
        stats = self.sender.producer.stats
        head = Text.assemble(
            ("LogiFlow ", "bold cyan"),
            (phase, "bold"),
            f"  {elapsed:,.0f}s  ·  Kafka {self.config.kafka.bootstrap_servers}  ·  "
            f"Elasticsearch {', '.join(self.config.elasticsearch.hosts)}  ·  Ctrl-C stops",
        )
        flow = Table(show_header=False, box=None, padding=(0, 2))
        flow.add_column(style="dim")
        flow.add_column(justify="right")
        flow.add_column(style="dim")
        flow.add_column(justify="right")
        lag = sample.lag
        lag_text = "starting" if lag is None else f"{lag:,}"
        flow.add_row(
            "events/s in (Kafka)", f"{sample.events_in_rate:,.0f}",
            "generated", f"{stats.acked:,}",
        )  # fmt: skip
        flow.add_row(
            "docs/s indexed", f"{sample.indexed_rate:,.0f}",
            "consumer lag", lag_text,
        )  # fmt: skip
        snapshot = sample.snapshot
        minute = snapshot.last_minute if snapshot else None
        flow.add_row(
            "events in Elasticsearch", fmt(snapshot.events_indexed if snapshot else None),
            "dead letters", fmt(snapshot.dead_letters if snapshot else None),
        )  # fmt: skip
        flow.add_row(
            "requests/min", fmt(minute.requests if minute else None),
            "error rate (1 min)", f"{minute.error_rate:.1%}" if minute else "?",
        )  # fmt: skip
        flow.add_row(
            "ETL batches", f"{etl_result.batch_count:,}",
            "filtered", f"{etl_result.totals['filtered']:,}",
        )  # fmt: skip
        endpoints = Table(title="top endpoints (last minute)", title_justify="left", box=None)
        endpoints.add_column("endpoint", overflow="fold")
        endpoints.add_column("req/min", justify="right")
        endpoints.add_column("errors", justify="right")
        for endpoint in minute.top_endpoints if minute else []:
            endpoints.add_row(endpoint.endpoint, f"{endpoint.requests:,}", f"{endpoint.errors:,}")
        parts: list[Any] = [head, flow, endpoints]
        if sample.es_error:
            parts.append(Text(f"Elasticsearch: {sample.es_error}", style="yellow"))
        return Group(*parts)

    def status_line(self, sample: Sample) -> str:
        """The plain-text form, one line per refresh, for logs without a terminal."""
        snapshot = sample.snapshot
        return (
            f"t={time.monotonic() - self.started:.0f}s in/s={sample.events_in_rate:.0f} "
            f"indexed/s={sample.indexed_rate:.0f} lag={sample.lag} "
            f"events={snapshot.events_indexed if snapshot else '?'} "
            f"dead_letters={snapshot.dead_letters if snapshot else '?'} "
            f"generated={self.sender.producer.stats.acked}"
        )
