"""A known corpus for the dashboard tests, and how to send it and index it with the real pipeline.

``dashboard_corpus`` generates about 1,500 events (and some garbage lines) with the traffic
generator over the last two days, writes them to a fresh topic (every seventh access line with
no record key, as kcat or Fluent Bit would send it, so it has no service), runs the real ETL
until caught up and refreshes the indices. The generator's facts are the ground truth
(``ground_truth.py``).

The lines go to the topic dealt round-robin into ``BATCHES`` runs, as that many producers
replaying the two days would send them, and the ETL reads one run per micro-batch: each batch
spans the whole two days, so a minute's events land in several batches and the aggregates hold
several partial documents per window, which the panels must sum.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

from elasticsearch import Elasticsearch
from kafka_records import write_topic
from pyspark.sql import SparkSession

from logiflow.config import LogiflowConfig
from logiflow.contract.kafka_records import record_key
from logiflow.ingest.generator import GeneratedLine, TrafficGenerator, TrafficProfile
from logiflow.io.topic_admin import create_topics
from logiflow.job import run_etl
from logiflow.local.servers import LocalStack

SEED = 11
SPAN = dt.timedelta(hours=46)
RATE_PER_SECOND = 1500 / SPAN.total_seconds()
BATCHES = 4
# Panels the corpus leaves empty: anomaly detection is off for it (a day and a half of two
# requests a minute is below every threshold anyway), so the anomalies panel has nothing to
# count and says so. test_anomaly_pipeline.py shows it filled by the real detector.
QUIET_PANELS = ("anomalies",)


@dataclass(frozen=True)
class Sent:
    """One generated line and whether it went to Kafka with a record key."""

    fact: GeneratedLine
    keyed: bool

    @property
    def valid(self) -> bool:
        return self.fact.format != "malformed"

    @property
    def service(self) -> str | None:
        # Access lines carry no service: without a key they have none.
        return self.fact.service if self.keyed or self.fact.format == "json" else None

    @property
    def host(self) -> str | None:
        return self.fact.host if self.keyed or self.fact.format == "json" else None


@dataclass(frozen=True)
class Corpus:
    config: LogiflowConfig
    prefix: str
    sent: list[Sent]
    start: dt.datetime

    @property
    def events(self) -> list[Sent]:
        return [s for s in self.sent if s.valid]


def generate(start: dt.datetime) -> list[Sent]:
    generator = TrafficGenerator(SEED, TrafficProfile(malformed_share=0.02, clients=400))
    sent = []
    for i, fact in enumerate(generator.stream(start, RATE_PER_SECOND, duration=SPAN)):
        sent.append(Sent(fact, keyed=not (fact.format == "combined" and i % 7 == 0)))
    return sent


def index_corpus(
    local_stack: LocalStack, spark: SparkSession, es_client: Elasticsearch, checkpoints: Path
) -> Corpus:
    name = f"t-dashboard-{uuid.uuid4().hex[:8]}"
    base = local_stack.config
    config = base.model_copy(
        update={
            "kafka": base.kafka.model_copy(
                update={"logs_topic": f"{name}-logs", "dead_letter_topic": f"{name}-dlq"}
            ),
            "elasticsearch": base.elasticsearch.model_copy(update={"index_prefix": name}),
            "spark": base.spark.model_copy(update={"checkpoint_dir": str(checkpoints)}),
        }
    )
    create_topics(local_stack.config.kafka, [f"{name}-logs", f"{name}-dlq"])
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=47)).replace(
        minute=0, second=0, microsecond=0
    )
    sent = generate(start)
    in_topic_order = [s for run in range(BATCHES) for s in sent[run::BATCHES]]
    config = config.model_copy(
        update={
            "kafka": config.kafka.model_copy(
                update={"max_offsets_per_trigger": -(-len(sent) // BATCHES)}
            )
        }
    )
    write_topic(
        local_stack.kafka_bootstrap,
        f"{name}-logs",
        (
            (
                record_key(s.fact.host, s.fact.service) if s.keyed else None,
                s.fact.line.encode(),
                None,
            )
            for s in in_topic_order
        ),
    )
    result = run_etl(config, until_caught_up=True, spark=spark)
    assert result.totals["input"] == len(sent), result.totals
    es_client.indices.refresh(index=f"{name}-*")
    return Corpus(config, name, sent, start)
