"""The Elasticsearch sink on a real node: per-document failures become dead letters, replays
overwrite instead of duplicating, and an unreachable node is waited out: the batch is written
once the node answers."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from datetime import datetime
from urllib.parse import urlsplit

from elasticsearch import Elasticsearch
from es_documents import count_documents
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from logiflow.config import LogiflowConfig
from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.io.es_client import connect
from logiflow.io.es_setup import setup_elasticsearch
from logiflow.io.sink_elasticsearch import event_index, write_documents
from logiflow.local.process import free_port

SCHEMA = T.StructType(
    [
        T.StructField(ecs.DOC_ID, T.StringType()),
        T.StructField(ecs.TIMESTAMP, T.TimestampType()),
        T.StructField(ecs.SOURCE_IP, T.StringType()),
        T.StructField(ecs.HTTP_RESPONSE_STATUS_CODE, T.LongType()),
        T.StructField(ecs.EVENT_ORIGINAL, T.StringType()),
        T.StructField(ecs.KAFKA_TOPIC, T.StringType()),
        T.StructField(ecs.KAFKA_PARTITION, T.IntegerType()),
        T.StructField(ecs.KAFKA_OFFSET, T.LongType()),
        T.StructField(ecs.KAFKA_TIMESTAMP, T.TimestampType()),
        T.StructField(ecs.OUTCOME, T.StringType()),
    ]
)


def _events(spark: SparkSession, topic: str) -> DataFrame:
    day1, day2 = datetime(2026, 11, 23, 23, 59, 59), datetime(2026, 11, 24, 0, 0, 1)
    rows = [
        (f"{topic}-0-0", day1, "10.1.2.3", 200, "line a", topic, 0, 0, day1, "indexed"),
        (f"{topic}-0-1", day2, "::1", 404, "line b", topic, 0, 1, day2, "indexed"),
        # Not an IP: the node refuses the document (400 mapper_parsing_exception).
        (f"{topic}-1-0", day2, "not-an-ip", 500, "line c", topic, 1, 0, day2, "indexed"),
    ]
    # Several partitions: the writes really happen in parallel tasks, one client each.
    return spark.createDataFrame(rows, SCHEMA).repartition(3)


def test_rejected_documents_become_dead_letters_and_replay_does_not_duplicate(
    spark: SparkSession, pipeline_config: LogiflowConfig, es_client: Elasticsearch
) -> None:
    settings = pipeline_config.elasticsearch
    prefix = settings.index_prefix
    setup_elasticsearch(connect(settings), settings)
    df = _events(spark, pipeline_config.kafka.logs_topic)

    first = write_documents(df, event_index(prefix), settings)
    second = write_documents(df, event_index(prefix), settings)  # a replayed batch

    assert (first.written, first.rejected) == (2, 1)
    assert (second.written, second.rejected) == (2, 1)
    # Which one and why, for the job's dead-letter topic.
    [rejection] = first.rejections
    assert rejection.doc_id == f"{pipeline_config.kafka.logs_topic}-1-0"
    assert rejection.reason.startswith("rejected by Elasticsearch (400)")
    assert "not-an-ip" in rejection.reason
    events = names.index_pattern(prefix, names.EVENTS)
    dead = names.index_pattern(prefix, names.DEAD_LETTER)
    assert count_documents(es_client, events) == 2
    assert count_documents(es_client, dead) == 1
    # Daily indices by @timestamp in UTC.
    assert count_documents(es_client, f"{prefix}-events-2026.11.23") == 1
    assert count_documents(es_client, f"{prefix}-events-2026.11.24") == 1
    letter = es_client.search(index=dead)["hits"]["hits"][0]
    assert letter["_id"] == f"{pipeline_config.kafka.logs_topic}-1-0"
    assert letter["_index"] == f"{prefix}-deadletter-2026.11.24"
    source = letter["_source"]
    assert source["event.original"] == "line c"
    assert "rejected by Elasticsearch (400)" in source["error.message"]
    assert "not-an-ip" in source["error.message"]
    assert source["kafka.offset"] == 0 and source["kafka.partition"] == 1
    indexed = es_client.get(
        index=f"{prefix}-events-2026.11.23", id=f"{pipeline_config.kafka.logs_topic}-0-0"
    )
    assert indexed["_source"]["source.ip"] == "10.1.2.3"
    assert "_logiflow_outcome" not in indexed["_source"]
    assert indexed["_source"]["@timestamp"] == "2026-11-23T23:59:59.000Z"


class _Plug:
    """A TCP forwarder to the real node, plugged in on a port where nothing listened before."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.target = target
        self.server = socket.create_server(("127.0.0.1", port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:  # closed
                return
            upstream = socket.create_connection(self.target)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.server.close()


def test_unreachable_elasticsearch_is_waited_out_and_the_batch_written_once_it_answers(
    spark: SparkSession, pipeline_config: LogiflowConfig, es_client: Elasticsearch
) -> None:
    port = free_port()
    settings = pipeline_config.elasticsearch.model_copy(
        update={
            "hosts": [f"http://127.0.0.1:{port}"],
            "initial_backoff_seconds": 0.1,
            "max_backoff_seconds": 0.5,
        }
    )
    df = _events(spark, pipeline_config.kafka.logs_topic).where("`source.ip` != 'not-an-ip'")
    results: list[object] = []
    writer = threading.Thread(
        target=lambda: results.append(
            write_documents(df, event_index(settings.index_prefix), settings)
        )
    )
    writer.start()
    time.sleep(10)  # nothing listens: every attempt is refused, and the batch waits
    assert writer.is_alive() and not results
    real = urlsplit(es_client.transport.node_pool.get().base_url)
    plug = _Plug(port, (real.hostname or "127.0.0.1", real.port or 9200))
    try:
        writer.join(120)
        assert not writer.is_alive()
    finally:
        plug.close()
    [counts] = results
    assert counts.written == 2  # type: ignore[attr-defined]
    pattern = names.index_pattern(settings.index_prefix, names.EVENTS)
    assert count_documents(es_client, pattern) == 2


def test_a_partition_written_as_many_chunks_in_flight_together_counts_every_document(
    spark: SparkSession, pipeline_config: LogiflowConfig, es_client: Elasticsearch
) -> None:
    # One partition of 60 documents in chunks of 4, three requests in flight: 15 requests whose
    # answers come back in any order; two refused documents sit in different chunks.
    settings = pipeline_config.elasticsearch.model_copy(
        update={"bulk_chunk_size": 4, "bulk_concurrency": 3}
    )
    setup_elasticsearch(connect(settings), settings)
    topic, when = pipeline_config.kafka.logs_topic, datetime(2026, 11, 24, 12, 0, 0)
    refused = {9, 42}
    rows = [
        (f"{topic}-0-{n}", when, "not-an-ip" if n in refused else f"10.0.0.{n}", 200,
         f"line {n}", topic, 0, n, when, "indexed")
        for n in range(60)
    ]  # fmt: skip
    df = spark.createDataFrame(rows, SCHEMA).coalesce(1)

    counts = write_documents(df, event_index(settings.index_prefix), settings)

    assert (counts.written, counts.rejected) == (58, 2)
    assert sorted(r.doc_id for r in counts.rejections) == sorted(f"{topic}-0-{n}" for n in refused)
    prefix = settings.index_prefix
    assert count_documents(es_client, names.index_pattern(prefix, names.EVENTS)) == 58
    assert count_documents(es_client, names.index_pattern(prefix, names.DEAD_LETTER)) == 2
