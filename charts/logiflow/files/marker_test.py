"""The chart's `helm test`: push one unique access-log line through the whole pipeline.

Run inside the LogiFlow image by the test Pod (templates/tests/pod.yaml):
    python3 marker_test.py --timeout 300
It ships the line with `logiflow ship` (stdin -> Kafka, as the shipper's KafkaUser), then polls
the events indices with the project's own Elasticsearch client (as the ETL's read/write user)
until a document carrying the marker appears. Exit 0 when found, 1 on timeout. Config and
credentials come from LOGIFLOW_CONFIG and the LOGIFLOW_* variables the chart sets.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

from logiflow.config import load_config
from logiflow.contract import ecs
from logiflow.contract.index_names import EVENTS, index_pattern
from logiflow.io.es_client import connect


def marker_line(marker: str) -> tuple[str, str, str]:
    """An nginx/Apache combined line whose path and user agent both carry the marker."""
    now = datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    path = f"/logiflow-helm-test/{marker}"
    agent = f"logiflow-helm-test/{marker}"
    line = f'127.0.0.1 - - [{now}] "GET {path} HTTP/1.1" 200 2 "-" "{agent}"'
    return line, path, agent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait")
    args = parser.parse_args()

    config = load_config()
    marker = uuid.uuid4().hex
    line, path, agent = marker_line(marker)
    print(f"shipping marker {marker}", flush=True)
    subprocess.run(["logiflow", "ship"], input=line + "\n", text=True, check=True)

    client = connect(config.elasticsearch)
    query = {
        "bool": {
            "should": [
                {"term": {ecs.URL_PATH: path}},
                {"term": {ecs.USER_AGENT_ORIGINAL: agent}},
                {"match_phrase": {ecs.EVENT_ORIGINAL: marker}},
            ],
            "minimum_should_match": 1,
        }
    }
    pattern = index_pattern(config.elasticsearch.index_prefix, EVENTS)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        result = client.search(
            index=pattern, query=query, size=1, ignore_unavailable=True, allow_no_indices=True
        )
        if result["hits"]["hits"]:
            print(f"found marker {marker} in {result['hits']['hits'][0]['_index']}", flush=True)
            return 0
        time.sleep(5)
    print(f"marker {marker} not in {pattern} after {args.timeout:.0f}s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
