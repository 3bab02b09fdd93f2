"""Done-when: a continuously running ``logiflow etl`` rides out the faults of an ordinary week.

One real job runs through the whole module while lines flow at a steady rate; each test breaks
the real servers under it: Elasticsearch stopped for 90 s, a flood-stage disk block, a write
thread pool too small for the load (real 429s), the Kafka broker restarted. After each, every
line produced so far is in Elasticsearch exactly once, the job never exited, and its output
said what was wrong. The module runs its own Kafka and Elasticsearch (the session's stay
untouched), with Elasticsearch's write pool shrunk to one thread and a tiny queue.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests
from confluent_kafka import Producer
from continuous_etl import ContinuousEtl, start_continuous_etl
from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk
from integration_support import local_settings
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from logiflow.config import LogiflowConfig, load_config
from logiflow.contract import metrics as m
from logiflow.io.bulk_retries import CLUSTER_BLOCK
from logiflow.io.topic_admin import create_topics
from logiflow.local.process import free_port
from logiflow.local.servers import LocalServers

# Static node settings (they need a node start): one write thread and a tiny queue, so a burst
# of concurrent bulk requests gets real 429s (es_rejected_execution_exception).
TINY_WRITE_POOL = {"thread_pool.write.size": "1", "thread_pool.write.queue_size": "2"}
ES_OUTAGE_SECONDS = 90


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServers]:
    state_dir = tmp_path_factory.mktemp("outage-stack")
    local = load_config(overrides={"local": local_settings(state_dir)}).local
    stack = LocalServers(local, Console(stderr=True), elasticsearch_node_settings=TINY_WRITE_POOL)
    stack.start(foreground=True)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def es(servers: LocalServers) -> Iterator[Elasticsearch]:
    client = Elasticsearch(servers.elasticsearch_url, request_timeout=30)
    yield client
    client.close()


@pytest.fixture(scope="module")
def etl(
    servers: LocalServers, es: Elasticsearch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ContinuousEtl]:
    workdir = tmp_path_factory.mktemp("outage-etl")
    base = load_config(overrides={"spark": {"checkpoint_dir": str(workdir / "checkpoints")}})
    config: LogiflowConfig = servers.apply_to(base)
    config = config.model_copy(
        update={
            "kafka": config.kafka.model_copy(
                update={"logs_topic": "outage-logs", "dead_letter_topic": "outage-dlq"}
            ),
            "elasticsearch": config.elasticsearch.model_copy(
                # Short back-off: the tests measure riding out, not waiting.
                update={"index_prefix": "outage", "max_backoff_seconds": 5.0}
            ),
            # The job's /metrics, read directly: the sink says it waits there too.
            "metrics": config.metrics.model_copy(update={"port": free_port()}),
        }
    )
    create_topics(config.kafka, [config.kafka.logs_topic, config.kafka.dead_letter_topic])
    job = start_continuous_etl(config, workdir)
    try:
        # Spark started and the first batch written: the tests time faults, not the start-up.
        producer = Producer({"bootstrap.servers": config.kafka.bootstrap_servers})
        job.produce(10, producer)
        assert producer.flush(60) == 0
        job.wait_indexed(es, 10, timeout=600)
        yield job
    finally:
        job.stop()


def _warm_up(etl: ContinuousEtl, es: Elasticsearch) -> None:
    """Lines are flowing and being indexed before the fault."""
    etl.wait_indexed(es, etl.produced + 1, timeout=420)


def _assert_no_crash(etl: ContinuousEtl) -> None:
    etl.assert_running()
    _assert_no_stack_overflow(etl)


def _assert_no_stack_overflow(etl: ContinuousEtl) -> None:
    assert "StackOverflowError" not in etl.output()
    if etl.spark_log.exists():
        assert "StackOverflowError" not in etl.spark_log.read_text(errors="replace")


def test_elasticsearch_stopped_for_90_seconds(
    etl: ContinuousEtl, servers: LocalServers, es: Elasticsearch
) -> None:
    with etl.traffic():
        _warm_up(etl, es)
        retried_before = _retries(etl)
        servers.elasticsearch.stop()
        deadline = time.monotonic() + ES_OUTAGE_SECONDS
        waiting_seen = False
        while time.monotonic() < deadline:
            etl.assert_running()
            waiting_seen = waiting_seen or _metric(etl, m.ETL_SINK_WAITING.name) == 1
            time.sleep(2)
        servers.start(foreground=True)
    etl.assert_every_line_once(es)
    _assert_no_crash(etl)
    output = etl.output()
    assert f"Elasticsearch at {servers.elasticsearch_url}" in output
    assert "unreachable" in output
    # The metrics said so too: waiting during the outage, not after it; the retries counted.
    assert waiting_seen, "logiflow_etl_sink_waiting was never 1 during the outage"
    assert _metric(etl, m.ETL_SINK_WAITING.name) == 0
    assert _retries(etl) > retried_before


def _metric(etl: ContinuousEtl, sample: str) -> float:
    """The sum of ``sample``'s values on the job's own /metrics (0 when absent)."""
    text = requests.get(f"http://127.0.0.1:{etl.config.metrics.port}/metrics", timeout=10).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == sample
    )


def _retries(etl: ContinuousEtl) -> float:
    return _metric(etl, m.ETL_ES_RETRIES.sample_name)


# Absolute sizes are minimum free space: more free space than any disk has puts every index on
# the node over the flood stage. The disk monitor runs every cluster.info.update.interval.
FLOOD_EVERYTHING = {
    "cluster.routing.allocation.disk.watermark.low": "100pb",
    "cluster.routing.allocation.disk.watermark.high": "100pb",
    "cluster.routing.allocation.disk.watermark.flood_stage": "100pb",
    "cluster.info.update.interval": "10s",  # the shortest it accepts
}
READ_ONLY_ALLOW_DELETE = "index.blocks.read_only_allow_delete"


def _blocked_indices(es: Elasticsearch, prefix: str) -> set[str]:
    settings = es.indices.get_settings(index=f"{prefix}-*", name=READ_ONLY_ALLOW_DELETE)
    return {
        name
        for name, found in settings.items()
        if found.get("settings", {})
        .get("index", {})
        .get("blocks", {})
        .get("read_only_allow_delete")
        == "true"
    }


def _wait_for(condition: Callable[[], bool], what: str, etl: ContinuousEtl, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        etl.assert_running()
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f}s"
        time.sleep(1)


def test_flood_stage_block_set_then_cleared(
    etl: ContinuousEtl, servers: LocalServers, es: Elasticsearch
) -> None:
    with etl.traffic(lines_per_second=100):
        _warm_up(etl, es)
        seen = len(etl.output())
        es.cluster.put_settings(persistent=FLOOD_EVERYTHING)
        try:
            _wait_for(lambda: bool(_blocked_indices(es, etl.prefix)), "the block set", etl, 90)
            _wait_for(lambda: CLUSTER_BLOCK in etl.output()[seen:], "the sink blocked", etl, 90)
        finally:
            es.cluster.put_settings(persistent=dict.fromkeys(FLOOD_EVERYTHING))
        # 8.x lifts the block itself once the disk is back under the high watermark.
        _wait_for(lambda: not _blocked_indices(es, etl.prefix), "the block lifted", etl, 90)
    etl.assert_every_line_once(es)
    _assert_no_crash(etl)
    blocked = [line for line in etl.output()[seen:].splitlines() if CLUSTER_BLOCK in line]
    assert f"Elasticsearch at {servers.elasticsearch_url}" in blocked[0]
    print(f"the sink reported the flood-stage block as: {blocked[0]}")


def _hammer(es_url: str, stop: threading.Event) -> None:
    """Concurrent bulk requests from outside the pipeline, to fill the tiny write queue."""
    client = Elasticsearch(es_url, request_timeout=30, max_retries=0)
    documents = [{"_index": "hammer", "_source": {"n": n}} for n in range(200)]
    while not stop.is_set():
        try:
            bulk(client, documents, raise_on_error=False, stats_only=True)
        except Exception:  # 429s and timeouts are the point here
            time.sleep(0.05)
    client.close()


def test_429s_from_a_saturated_write_pool(
    etl: ContinuousEtl, servers: LocalServers, es: Elasticsearch
) -> None:
    with etl.traffic(lines_per_second=100):
        _warm_up(etl, es)
        seen = len(etl.output())
        stop = threading.Event()
        hammers = [
            threading.Thread(target=_hammer, args=(servers.elasticsearch_url, stop), daemon=True)
            for _ in range(6)
        ]
        for hammer in hammers:
            hammer.start()
        try:
            _wait_for(lambda: "answered 429" in etl.output()[seen:], "a 429 for the sink", etl, 120)
            time.sleep(10)  # rejections keep coming for a while
        finally:
            stop.set()
            for hammer in hammers:
                hammer.join(60)
    etl.assert_every_line_once(es)
    _assert_no_crash(etl)
    rejected = [line for line in etl.output()[seen:].splitlines() if "answered 429" in line]
    assert "es_rejected_execution_exception" in rejected[0]
    print(f"the sink reported {len(rejected)} rate-limited 429 lines, e.g. {rejected[0]}")


def test_kafka_broker_restarted(
    etl: ContinuousEtl, servers: LocalServers, es: Elasticsearch
) -> None:
    with etl.traffic(lines_per_second=100):
        _warm_up(etl, es)
        servers.kafka.stop()
        time.sleep(15)
        servers.start(foreground=True)
        time.sleep(10)  # lines keep flowing through the broker that came back
    etl.assert_every_line_once(es)
    _assert_no_crash(etl)


def test_stopped_during_an_outage_it_stops_cleanly_and_resumes(
    etl: ContinuousEtl, servers: LocalServers, es: Elasticsearch
) -> None:
    """Ctrl-C or SIGTERM while the sink waits: the job stops (exit 0), the batch it could not
    write is left uncommitted, and a later run writes it. Last in the module: it ends the job."""
    with etl.traffic(lines_per_second=100):
        _warm_up(etl, es)
    seen = len(etl.output())
    servers.elasticsearch.stop()
    try:
        etl.produce_now(500)
        _wait_for(lambda: "unreachable" in etl.output()[seen:], "the sink waiting", etl, 120)
        etl.process.send_signal(signal.SIGTERM)
        assert etl.process.wait(120) == 0, etl.output()[-4000:]
    finally:
        servers.start(foreground=True)
    _assert_no_stack_overflow(etl)
    caught_up = etl.catch_up()
    assert caught_up.returncode == 0, caught_up.stderr[-4000:]
    etl.assert_every_line_once(es)
