"""Dashboard query latency: each panel's search over a day of events at the benchmark's rate.

Run with ``make bench-dashboard`` (or ``.venv/bin/python tests/benchmarks/bench_dashboard.py``;
options: ``--rate`` events/s (default 200, what ``logiflow run`` generates), ``--hours`` of
simulated traffic (default 24), ``--runs`` per query, ``--threshold`` of the verdict in seconds
(default 0.5: "well under a second"), ``--sample-size`` of the sampled event panels, several
to compare them, 0 for none (default ``dashboard.sample_size``'s), ``--es-host`` to use a
running node instead of starting a local one). Not collected by pytest: it prints figures and
a verdict and asserts nothing.

Events are the traffic generator's, written straight to an events index as the ETL would shape
them (the fields the panels read), through the bulk API: the point is the query side, and a day
at 200/s (17 million documents) through Spark would take hours on a small machine. With them go
the per-minute aggregate partials a pipeline with the default 5 s trigger would have written
for the same events: per 5-second batch, one document per (minute window, scope, service,
endpoint) the batch touched, so 12 partials per window and series at a steady rate (the sums
follow ``etl/aggregate_windows.py``; its unit tests pin the real transform), and the hourly
visitor documents (one per hour, service and client address, ``etl/visitor_hours.py``), read back
from the indexed events with a composite aggregation.

Each panel's query then runs ``--runs`` times over the whole range, as the page asks for it
(auto interval), alone and all panels in one refresh; panels backed by the aggregates also run
from the events alone (what a host or status-class filter makes them do). The median and worst
are printed, and a verdict per panel against the threshold. Each line says whether the panel
sampled (its probability) and, for the panels that can, their time over every event. The shard
request cache is off for these indices, so every run is a real search (on a live index, new
documents invalidate that cache at every refresh anyway).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import parallel_bulk
from rich.console import Console

from logiflow.config import ElasticsearchSettings, load_config
from logiflow.contract import aggregates as agg
from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.dashboard.fetch import run_panel, run_panels
from logiflow.dashboard.panels import PANELS, Panel
from logiflow.dashboard.queries import Filters, PanelData, TimeRange
from logiflow.dashboard.sampling import DEFAULT_SAMPLE_SIZE
from logiflow.etl.enrich_geo import country_of
from logiflow.etl.enrich_useragent import classify
from logiflow.ingest.generator import GeneratedLine, TrafficGenerator, TrafficProfile
from logiflow.io.es_setup import Capabilities, desired_objects

PREFIX = "bench-dashboard"
TRIGGER_SECONDS = 5  # the pipeline's default trigger: one batch of partials per 5 s


@functools.cache
def _user_agent(ua: str) -> Any:
    return classify(ua)


def _document(fact: GeneratedLine, seq: int) -> dict[str, Any]:
    ua = _user_agent(fact.user_agent or "")
    code, country = country_of(fact.client_ip) if fact.client_ip else (None, None)
    status = fact.status
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
        ecs.STATUS_CLASS: f"{status // 100}xx" if status else None,
        ecs.IS_ERROR: status >= 400 if status else None,
        ecs.USER_AGENT_ORIGINAL: fact.user_agent,
        ecs.USER_AGENT_NAME: ua.name,
        ecs.USER_AGENT_OS_NAME: ua.os_name,
        ecs.DEVICE_TYPE: ua.device_type,
        ecs.SOURCE_GEO_COUNTRY_ISO_CODE: code,
        ecs.SOURCE_GEO_COUNTRY_NAME: country,
    }


def _series(fact: GeneratedLine) -> list[tuple[str, str | None, str | None]]:
    """The (scope, service, endpoint) series an event counts in."""
    series = [(agg.SCOPE_SERVICE, fact.service, None)]
    if fact.endpoint is not None:
        series.append((agg.SCOPE_ENDPOINT, fact.service, fact.endpoint))
    return series


def _add(sums: list[int], fact: GeneratedLine) -> None:
    status = fact.status or 0
    sums[0] += 1
    sums[1] += fact.status is not None
    sums[2] += 400 <= status <= 499
    sums[3] += 500 <= status <= 599
    sums[4] += fact.body_bytes or 0
    sums[5] += fact.duration_ns is not None
    sums[6] += fact.duration_ns or 0


_SUM_FIELDS = (
    agg.AGG_EVENTS,
    agg.AGG_REQUESTS,
    agg.AGG_STATUS_4XX,
    agg.AGG_STATUS_5XX,
    agg.AGG_BYTES,
    agg.AGG_LATENCY_COUNT,
    agg.AGG_LATENCY_SUM,
)
_Key = tuple[dt.datetime, str, str | None, str | None]


def _partials(batch: dict[_Key, list[int]]) -> Iterator[dict[str, Any]]:
    """One batch's partial documents (ids left to Elasticsearch: nothing is replayed here)."""
    for (window, scope, service, endpoint), sums in batch.items():
        yield {
            "_index": names.monthly_index(PREFIX, names.AGGREGATES, window),
            ecs.TIMESTAMP: window.isoformat(),
            agg.WINDOW_END: (window + dt.timedelta(minutes=1)).isoformat(),
            agg.AGG_SCOPE: scope,
            ecs.SERVICE_NAME: service,
            ecs.ENDPOINT: endpoint,
            **dict(zip(_SUM_FIELDS, sums, strict=True)),
        }


def _with_partials(facts: Iterable[GeneratedLine], counts: dict[str, int]) -> Iterator[dict]:
    """Each event's document, and after each 5-second batch the partials it would write."""
    batch: dict[_Key, list[int]] = defaultdict(lambda: [0] * len(_SUM_FIELDS))
    batch_no = None
    for seq, fact in enumerate(facts):
        arrived = int(fact.timestamp.timestamp()) // TRIGGER_SECONDS
        if batch_no is not None and arrived != batch_no:
            counts["partials"] += len(batch)
            yield from _partials(batch)
            batch.clear()
        batch_no = arrived
        window = fact.timestamp.replace(second=0, microsecond=0)
        for scope, service, endpoint in _series(fact):
            _add(batch[(window, scope, service, endpoint)], fact)
        counts["events"] += 1
        yield _document(fact, seq)
    counts["partials"] += len(batch)
    yield from _partials(batch)


def _documents(
    start: dt.datetime, rate: float, hours: float, counts: dict[str, int]
) -> Iterator[dict[str, Any]]:
    generator = TrafficGenerator(2026, TrafficProfile())
    stream = generator.stream(start, rate, duration=dt.timedelta(hours=hours))
    return _with_partials(stream, counts)


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


def _visitor_documents(es: Elasticsearch) -> Iterator[dict[str, Any]]:
    """The visitor documents the ETL would have written for the events indexed: one per (hour,
    service, client address), read back with a composite aggregation (``etl/visitor_hours.py``
    is the real transform; its unit tests pin it)."""
    sources = [
        {"hour": {"date_histogram": {"field": ecs.TIMESTAMP, "fixed_interval": "1h"}}},
        {"service": {"terms": {"field": ecs.SERVICE_NAME, "missing_bucket": True}}},
        {"client": {"terms": {"field": ecs.CLIENT_IP}}},
    ]
    after = None
    while True:
        composite: dict[str, Any] = {"size": 10_000, "sources": sources}
        if after is not None:
            composite["after"] = after
        response = es.search(
            index=names.index_pattern(PREFIX, names.EVENTS),
            size=0,
            aggs={"seen": {"composite": composite}},
        )
        seen = response["aggregations"]["seen"]
        for bucket in seen["buckets"]:
            hour = dt.datetime.fromtimestamp(bucket["key"]["hour"] / 1000, dt.UTC)
            yield {
                "_index": names.monthly_index(PREFIX, names.AGGREGATES, hour),
                ecs.TIMESTAMP: hour.isoformat(),
                agg.WINDOW_END: (hour + dt.timedelta(hours=1)).isoformat(),
                agg.AGG_SCOPE: agg.SCOPE_VISITOR,
                ecs.SERVICE_NAME: bucket["key"]["service"],
                ecs.CLIENT_IP: bucket["key"]["client"],
            }
        after = seen.get("after_key")
        if after is None or not seen["buckets"]:
            return


def _add_visitor_documents(es: Elasticsearch, out: Console) -> None:
    es.indices.refresh(index=f"{PREFIX}-*")
    scope = {"term": {agg.AGG_SCOPE: agg.SCOPE_VISITOR}}
    aggregates = names.index_pattern(PREFIX, names.AGGREGATES)
    if es.count(index=aggregates, query=scope)["count"]:
        return
    began = time.monotonic()
    written = 0
    for ok, item in parallel_bulk(es, _visitor_documents(es), thread_count=2, chunk_size=5000):
        if not ok:
            raise SystemExit(f"bulk failed: {item}")
        written += 1
    es.indices.refresh(index=aggregates)
    out.print(f"{written:,} visitor documents written in {time.monotonic() - began:,.0f} s")


def _ready_for_timing(es: Elasticsearch, out: Console) -> None:
    """Visitor documents in, no request cache, one segment per shard."""
    _add_visitor_documents(es, out)
    # Identical size-0 searches would otherwise be answered from the shard request cache after
    # the first run: what is timed here is the search itself, as after every new refresh.
    es.indices.put_settings(index=f"{PREFIX}-*", settings={"index.requests.cache.enable": False})
    es.indices.forcemerge(index=f"{PREFIX}-*", max_num_segments=1, wait_for_completion=True)


def _load(
    es: Elasticsearch, start: dt.datetime, rate: float, hours: float, out: Console
) -> dict[str, int]:
    es.indices.delete(index=f"{PREFIX}-*", ignore_unavailable=True, allow_no_indices=True)
    _install_templates(es)
    began = time.monotonic()
    counts = {"events": 0, "partials": 0}
    documents = _documents(start, rate, hours, counts)
    bulk = parallel_bulk(es, documents, thread_count=2, chunk_size=5000, request_timeout=120)
    for written, (ok, item) in enumerate(bulk, start=1):
        if not ok:
            raise SystemExit(f"bulk failed: {item}")
        if written % 500_000 == 0:
            out.print(f"  {written:,} documents written ({time.monotonic() - began:,.0f} s)")
    _ready_for_timing(es, out)
    out.print(
        f"{counts['events']:,} events and {counts['partials']:,} aggregate partials written"
        f" in {time.monotonic() - began:,.0f} s"
    )
    return counts


def _timed(action: Any, runs: int) -> tuple[float, float]:
    action()  # warm-up: the first search loads field data and caches
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), max(times)


def _verdict(median_ms: float, threshold_s: float) -> str:
    return "ok" if median_ms <= threshold_s * 1000 else "SLOW"


def _figures(timed: tuple[float, float]) -> str:
    return f"{timed[0]:8.1f} / {timed[1]:8.1f}"


def _sampled(data: PanelData) -> str:
    return f"p={data.sampled:.3g}" if data.sampled is not None else "exact"


def _panel_line(
    es: Elasticsearch,
    panel: Panel,
    time_range: TimeRange,
    runs: int,
    threshold_s: float,
    sample_size: int | None,
) -> tuple[str, bool]:
    """The panel's figures as the page asks, from the events alone, and unsampled; and if ok."""

    def run(**how: Any) -> PanelData:
        return run_panel(es, panel, PREFIX, time_range, **{"sample_size": sample_size, **how})

    timed = _timed(run, runs)
    source = "aggregates" if panel.aggregates else panel.index
    verdict = _verdict(timed[0], threshold_s)
    line = f"  {panel.id:<22} {source:>10} {_sampled(run()):>9} {_figures(timed)} {verdict:>7}"
    from_events = _figures(_timed(lambda: run(aggregates=False), runs)) if panel.aggregates else ""
    line += f"  {from_events:>19}"
    if panel.samples:
        line += f"  {_figures(_timed(lambda: run(sample_size=None), runs))}"
    return line, verdict == "ok"


def _largest_filters(es: Elasticsearch, time_range: TimeRange) -> dict[str, Filters]:
    """The page's filters at their most expensive: the service, host and status class that
    hold the most events in the range (a filter reads the events it keeps)."""
    fields = {"service": ecs.SERVICE_NAME, "host": ecs.HOST_NAME, "status class": ecs.STATUS_CLASS}
    response = es.search(
        index=names.index_pattern(PREFIX, names.EVENTS),
        size=0,
        query={
            "range": {
                ecs.TIMESTAMP: {
                    "gte": time_range.start.isoformat(),
                    "lt": time_range.end.isoformat(),
                }
            }
        },
        aggs={label: {"terms": {"field": field, "size": 1}} for label, field in fields.items()},
    )
    top = {label: response["aggregations"][label]["buckets"][0]["key"] for label in fields}
    return {
        f"service {top['service']}": Filters(services=(top["service"],)),
        f"host {top['host']}": Filters(hosts=(top["host"],)),
        f"status class {top['status class']}": Filters(status_classes=(top["status class"],)),
    }


def measure(
    es: Elasticsearch,
    time_range: TimeRange,
    runs: int,
    threshold_s: float,
    out: Console,
    sample_size: int | None = DEFAULT_SAMPLE_SIZE,
) -> None:
    out.print(
        f"\nquery latency over {time_range.start:%Y-%m-%d %H:%M} .. {time_range.end:%Y-%m-%d %H:%M}"
        f" UTC, sample size {sample_size}, {runs} runs each, median / worst in ms;"
        f" verdict: median <= {threshold_s:g} s\n"
        f"  {'panel':<22} {'reads':>10} {'sampled':>9} {'as the page asks':>19} verdict"
        f"  {'from events alone':>19}  {'unsampled':>19}"
    )
    slow = []
    for panel in PANELS:
        line, ok = _panel_line(es, panel, time_range, runs, threshold_s, sample_size)
        if not ok:
            slow.append(panel.id)
        out.print(line)
    timed = _timed(
        lambda: run_panels(es, PANELS, PREFIX, time_range, sample_size=sample_size), runs
    )
    verdict = _verdict(timed[0], threshold_s)
    if verdict != "ok":
        slow.append("every panel (refresh)")
    out.print(f"  {'every panel (refresh)':<22} {'':>10} {'':>9} {_figures(timed)} {verdict:>7}")
    for label, filters in _largest_filters(es, time_range).items():
        # The aggregates carry no host or status class, so these panels count the events.
        timed = _timed(
            lambda f=filters: run_panels(
                es, PANELS, PREFIX, time_range, filters=f, sample_size=sample_size
            ),
            runs,
        )
        out.print(
            f"  {'refresh, ' + label:<44} {_figures(timed)} {_verdict(timed[0], threshold_s):>7}"
        )
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    out.print(f"load average (1/5/15 min) at the end: {load}")
    if slow:
        out.print(f"verdict: NOT met; median over {threshold_s:g} s: {', '.join(slow)}")
    else:
        out.print(f"verdict: met; every panel's median is under {threshold_s:g} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="events per second")
    parser.add_argument("--hours", type=float, default=24.0, help="hours of traffic")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--threshold", type=float, default=0.5, help="verdict, seconds")
    parser.add_argument("--es-host", help="a running Elasticsearch (default: start a local one)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark's indices")
    parser.add_argument(
        "--measure-only", action="store_true", help="time the indices a --keep run left"
    )
    parser.add_argument(
        "--sample-size",
        type=int,
        nargs="+",
        default=[DEFAULT_SAMPLE_SIZE],
        help="events a sampled panel reads (0: never sample); several: one measure each",
    )
    args = parser.parse_args(argv)
    out = Console(width=130)
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
        if not args.measure_only:
            out.print(f"writing {args.rate:g} events/s for {args.hours:g} h into {url} ...")
            _load(es, start, args.rate, args.hours, out)
        else:  # indices an interrupted or older run left may lack some of it
            _ready_for_timing(es, out)
        for sample_size in args.sample_size:
            measure(es, time_range, args.runs, args.threshold, out, sample_size or None)
        if not (args.keep or args.measure_only):
            es.indices.delete(index=f"{PREFIX}-*", allow_no_indices=True)
    finally:
        es.close()
        if servers is not None:
            servers.stop()


if __name__ == "__main__":
    sys.exit(main())
