"""Dashboard query latency: each panel's search over a day of events at the benchmark's rate.

Run with ``make bench-dashboard`` (or ``.venv/bin/python tests/benchmarks/bench_dashboard.py``;
options: ``--rate`` events/s (default 200, what ``logiflow run`` generates), ``--hours`` of
simulated traffic (default 24), ``--runs`` per query, ``--es-host`` to use a running node
instead of starting a local one). Not collected by pytest: it prints figures and asserts nothing.

Events are the traffic generator's, written straight to an events index as the ETL would shape
them (the fields the panels read), through the bulk API: the point is the query side, and a day
at 200/s (17 million documents) through Spark would take hours on a small machine. Each panel's
query then runs ``--runs`` times over the whole range, as the page asks for it (all panels in
one ``_msearch``, auto interval), and alone; the median and worst are printed. The shard request
cache is off for these indices, so every run is a real search (on a live index, new documents
invalidate that cache at every refresh anyway).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import parallel_bulk
from rich.console import Console

from logiflow.config import ElasticsearchSettings, load_config
from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.dashboard.fetch import run_panel, run_panels
from logiflow.dashboard.panels import PANELS
from logiflow.dashboard.queries import TimeRange
from logiflow.etl.enrich_geo import country_of
from logiflow.etl.enrich_useragent import classify
from logiflow.ingest.generator import GeneratedLine, TrafficGenerator, TrafficProfile
from logiflow.io.es_setup import Capabilities, desired_objects

PREFIX = "bench-dashboard"


@functools.cache
def _user_agent(ua: str) -> Any:
    return classify(ua)


def _document(fact: GeneratedLine, seq: int) -> dict[str, Any]:
    ua = _user_agent(fact.user_agent or "")
    code, country = country_of(fact.client_ip) if fact.client_ip else (None, None)
    status = fact.status or 0
    return {
        "_index": names.daily_index(PREFIX, names.EVENTS, fact.timestamp),
        "_id": str(seq),
        ecs.TIMESTAMP: fact.timestamp.isoformat(),
        ecs.SERVICE_NAME: fact.service,
        ecs.HOST_NAME: fact.host,
        ecs.CLIENT_IP: fact.client_ip,
        ecs.SOURCE_IP: fact.client_ip,
        ecs.URL_PATH: fact.path,
        ecs.ENDPOINT: fact.endpoint,
        ecs.HTTP_REQUEST_METHOD: fact.method,
        ecs.HTTP_RESPONSE_STATUS_CODE: status,
        ecs.HTTP_RESPONSE_BODY_BYTES: fact.body_bytes,
        ecs.EVENT_DURATION: fact.duration_ns,
        ecs.STATUS_CLASS: f"{status // 100}xx",
        ecs.IS_ERROR: status >= 400,
        ecs.USER_AGENT_ORIGINAL: fact.user_agent,
        ecs.USER_AGENT_NAME: ua.name,
        ecs.USER_AGENT_OS_NAME: ua.os_name,
        ecs.DEVICE_TYPE: ua.device_type,
        ecs.SOURCE_GEO_COUNTRY_ISO_CODE: code,
        ecs.SOURCE_GEO_COUNTRY_NAME: country,
    }


def _documents(start: dt.datetime, rate: float, hours: float) -> Iterator[dict[str, Any]]:
    generator = TrafficGenerator(2026, TrafficProfile())
    stream = generator.stream(start, rate, duration=dt.timedelta(hours=hours))
    for seq, fact in enumerate(stream):
        yield _document(fact, seq)


def _install_templates(es: Elasticsearch) -> None:
    settings = ElasticsearchSettings(index_prefix=PREFIX)
    objects = desired_objects(settings, Capabilities(False, ""))
    for name, body in objects["component template"]:
        es.cluster.put_component_template(name=name, template=body["template"])
    for name, body in objects["index template"]:
        es.indices.put_index_template(
            name=name,
            index_patterns=body["index_patterns"],
            composed_of=body["composed_of"],
            priority=body["priority"],
        )


def _load(es: Elasticsearch, start: dt.datetime, rate: float, hours: float, out: Console) -> int:
    es.indices.delete(index=f"{PREFIX}-*", ignore_unavailable=True, allow_no_indices=True)
    _install_templates(es)
    began = time.monotonic()
    written = 0
    for ok, item in parallel_bulk(
        es, _documents(start, rate, hours), thread_count=2, chunk_size=5000, request_timeout=120
    ):
        if not ok:
            raise SystemExit(f"bulk failed: {item}")
        written += 1
        if written % 200_000 == 0:
            out.print(f"  {written:,} events written ({time.monotonic() - began:,.0f} s)")
    es.indices.refresh(index=f"{PREFIX}-*")
    # Identical size-0 searches would otherwise be answered from the shard request cache after
    # the first run: what is timed here is the search itself, as after every new refresh.
    es.indices.put_settings(index=f"{PREFIX}-*", settings={"index.requests.cache.enable": False})
    es.indices.forcemerge(index=f"{PREFIX}-*", max_num_segments=1, wait_for_completion=True)
    out.print(f"{written:,} events written in {time.monotonic() - began:,.0f} s")
    return written


def _timed(action: Any, runs: int) -> tuple[float, float]:
    action()  # warm-up: the first search loads field data and caches
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), max(times)


def measure(es: Elasticsearch, time_range: TimeRange, runs: int, out: Console) -> None:
    out.print(f"\nquery latency over {time_range.start:%Y-%m-%d %H:%M} .. {time_range.end:%H:%M}"
              f" UTC, {runs} runs each (median / worst, ms)")  # fmt: skip
    for panel in PANELS:
        median, worst = _timed(
            lambda panel=panel: run_panel(es, panel, PREFIX, time_range, time_zone="UTC"), runs
        )
        out.print(f"  {panel.id:<22} {median:8.1f} / {worst:8.1f}")
    median, worst = _timed(lambda: run_panels(es, PANELS, PREFIX, time_range), runs)
    out.print(f"  {'every panel (_msearch)':<22} {median:8.1f} / {worst:8.1f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="events per second")
    parser.add_argument("--hours", type=float, default=24.0, help="hours of traffic")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--es-host", help="a running Elasticsearch (default: start a local one)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark's indices")
    args = parser.parse_args(argv)
    out = Console()
    start = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    time_range = TimeRange(start, start + dt.timedelta(hours=args.hours))
    servers = None
    if args.es_host:
        url = args.es_host
    else:
        from logiflow.local.process import free_port
        from logiflow.local.servers import LocalServers

        state = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
        ports = {
            name: free_port()
            for name in ("kafka_port", "kafka_controller_port", "elasticsearch_port")
        }
        config = load_config(overrides={"local": {"state_dir": str(state), **ports}})
        servers = LocalServers(config.local, Console(stderr=True))
        servers.start(foreground=True)  # Kafka too (it comes with the pair), idle here
        url = servers.elasticsearch_url
    es = Elasticsearch(url, request_timeout=300)
    try:
        out.print(f"writing {args.rate:g} events/s for {args.hours:g} h into {url} ...")
        _load(es, start, args.rate, args.hours, out)
        measure(es, time_range, args.runs, out)
        if not args.keep:
            es.indices.delete(index=f"{PREFIX}-*", allow_no_indices=True)
    finally:
        es.close()
        if servers is not None:
            servers.stop()


if __name__ == "__main__":
    sys.exit(main())
