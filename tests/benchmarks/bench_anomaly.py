"""The anomaly detector measured on the real pipeline: precision, recall and detection delay per
incident type over simulated days, and what it costs.

`make bench-anomaly` (or ``.venv/bin/python tests/benchmarks/bench_anomaly.py --days 3``)
starts the local Kafka and Elasticsearch on free ports and produces ``--days`` of generated
traffic with the labelled incidents of ``logiflow.anomaly.scenario`` (two of each kind a day).
It then runs ``logiflow etl --until-caught-up`` over it twice, each time in its own cpuacct
cgroup (needs root): without anomaly detection, then with it. From the second run's anomaly
documents it prints, per incident kind, recall and delay (windows from the incident's start to
its first detection), then the alarms, precision and false alarms per service and day; and the
cost: the detector's added CPU per event (the difference between the runs) and its state on
disk per tracked series (the anomalies query's RocksDB checkpoint over the series it judged).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
from pathlib import Path
from typing import Any

import yaml
from bench_job_cpu import DEFAULT_LOGIFLOW, accounted_input, run_config, run_job

# The script's folder is first on sys.path when it runs: its sibling packages import by name.
from confluent_kafka import Producer
from e2e.stack import etl_config_file, start_servers
from elasticsearch import Elasticsearch, helpers

from logiflow.anomaly import labels
from logiflow.anomaly.evaluation import KINDS, Evaluation, Found, evaluate
from logiflow.anomaly.scenario import Scenario, scenario, services
from logiflow.config import LogiflowConfig
from logiflow.contract import aggregates as agg
from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.contract.kafka_records import record_key
from logiflow.ingest.generator import TrafficGenerator
from logiflow.io.es_client import create_es_client
from logiflow.io.topic_admin import create_topics

MINUTES_TOPIC = "bench-minute-counts"


def produce(config: LogiflowConfig, labelled: Scenario, rate: float, seed: int) -> int:
    producer = Producer({"bootstrap.servers": config.kafka.bootstrap_servers, "linger.ms": 50})
    generator = TrafficGenerator(seed, labelled.profile)
    span = dt.timedelta(days=labelled.days)
    count = 0
    for count, line in enumerate(generator.stream(labelled.start, rate, duration=span), 1):
        key = record_key(line.host, line.service)
        producer.produce(config.kafka.logs_topic, line.line.encode(), key=key)
        if count % 10_000 == 0:
            producer.poll(0)
    if producer.flush(60) != 0:
        raise SystemExit("the traffic could not be produced to Kafka")
    return count


def with_anomalies(config_file: Path) -> Path:
    data = yaml.safe_load(config_file.read_text())
    data["anomaly"] = {"enabled": True, "topic": MINUTES_TOPIC}
    config_file.write_text(yaml.safe_dump(data))
    return config_file


def found_anomalies(es: Elasticsearch, prefix: str) -> list[Found]:
    index = names.index_pattern(prefix, names.ANOMALIES)
    es.indices.refresh(index=index, allow_no_indices=True)
    return labels.found(
        hit["_source"] for hit in helpers.scan(es, index=index, ignore_unavailable=True)
    )


def tracked_series(es: Elasticsearch, prefix: str) -> int:
    """Series the detector judged: distinct (scope, service, endpoint) in the aggregates (a
    composite aggregation: the local node has no scripting)."""
    sources = [
        {"scope": {"terms": {"field": agg.AGG_SCOPE}}},
        {"service": {"terms": {"field": ecs.SERVICE_NAME, "missing_bucket": True}}},
        {"endpoint": {"terms": {"field": ecs.ENDPOINT, "missing_bucket": True}}},
    ]
    query = {"terms": {agg.AGG_SCOPE: [agg.SCOPE_SERVICE, agg.SCOPE_ENDPOINT]}}
    series, after = 0, None
    while True:
        composite: dict[str, Any] = {"sources": sources, "size": 1000}
        if after:
            composite["after"] = after
        response = es.search(
            index=names.index_pattern(prefix, names.AGGREGATES),
            size=0,
            query=query,
            aggs={"series": {"composite": composite}},
        )
        found = response["aggregations"]["series"]
        series += len(found["buckets"])
        after = found.get("after_key")
        if not found["buckets"] or not after:
            return series


def state_bytes(checkpoints: Path) -> int:
    state = checkpoints / "anomalies" / "state"
    return sum(f.stat().st_size for f in state.rglob("*") if f.is_file())


def report(result: Evaluation, labelled: Scenario) -> None:
    print(f"\n{'incident kind':<22} {'incidents':>9} {'recall':>7} {'delay (windows)':>18}")
    for kind in KINDS:
        score = result.kinds[kind]
        delays = score.delays or [0]
        delay = f"mean {statistics.mean(delays):.1f}, max {max(delays)}"
        print(f"{kind:<22} {score.incidents:>9} {score.recall:>7.2f} {delay:>18}")
    print(f"\nalarms {result.alarms}, precision {result.precision:.2f}")
    for service in sorted(services(labelled.incidents)):
        per_day = result.false_alarms_per_service_day(service)
        print(f"false alarms per day, {service:<14} {per_day:.2f}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--rate", type=float, default=5.0, help="mean events per second")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the run without the detector: detection figures only, no added CPU",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    labelled = scenario(today - dt.timedelta(days=args.days + 1), args.days)
    with tempfile.TemporaryDirectory(prefix="logiflow-bench-anomaly-") as tmp:
        directory = Path(tmp)
        servers, config = start_servers(directory / "servers")
        try:
            create_topics(config.kafka, [MINUTES_TOPIC])
            events = produce(config, labelled, args.rate, args.seed)
            print(f"{events:,} events over {args.days} simulated days in {config.kafka.logs_topic}")
            es = create_es_client(config.elasticsearch)
            cpu = {}
            runs = (("bench-off", False), ("bench-on", True))
            for prefix, detect in runs[1:] if args.no_baseline else runs:
                run = run_config(config, directory, prefix)
                config_file = etl_config_file(run, directory / f"{prefix}.yaml", {})
                if detect:
                    with_anomalies(config_file)
                wall, cpu[prefix] = run_job(
                    DEFAULT_LOGIFLOW, config_file, directory / f"{prefix}.log"
                )
                if accounted_input(es, prefix) != events:
                    raise SystemExit(f"{prefix}: the accounting does not add up to {events}")
                print(f"{prefix}: {wall:.0f} s wall, {cpu[prefix]:.0f} s CPU")
            result = evaluate(labelled.incidents, found_anomalies(es, "bench-on"), 60, args.days)
            report(result, labelled)
            series = tracked_series(es, "bench-on")
            stored = state_bytes(Path(run.spark.checkpoint_dir))
            if "bench-off" in cpu:
                added = (cpu["bench-on"] - cpu["bench-off"]) / events * 1e6
                without = cpu["bench-off"] / events * 1e6
                print(f"\nadded CPU per event {added:.1f} µs ({without:.1f} µs without detector)")
            print(f"state {stored / max(series, 1):,.0f} bytes on disk")
            print(f"  per tracked series ({series:,} series, {stored:,} bytes)")
        finally:
            servers.stop()


if __name__ == "__main__":
    main()
