"""Hostile input at volume: 10,000 fuzzed lines through the real shipper, Kafka, ETL and
Elasticsearch, with every built-in format and a custom ``log_format`` tried on each line.

The lines (``tests/fuzz_lines.py``, fixed seed): random bytes, invalid UTF-8, NUL bytes, lines of
1 MiB and more (over Kafka's record limit), deeply nested JSON, JSON with 10,000 keys, inputs
built to make each format's pattern backtrack, mutated good lines, and good lines. The proof:
the query does not fail, and every line is accounted for: indexed + dead-lettered (each with a
reason) + filtered = lines shipped, counted in Elasticsearch, not only in the job's own sums.
The CPU cost per line is the benchmark's business (``make bench-fuzz``), not this test's.
"""

from __future__ import annotations

from pathlib import Path

from elasticsearch import Elasticsearch
from es_documents import count_documents
from integration_support import ship_files
from pyspark.sql import SparkSession

from fuzz_lines import ONE_MIB, VALID_PREFIX, expected_valid, fuzz_config, fuzz_lines
from logiflow.config import LogiflowConfig
from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.job import run_etl


def test_fuzzed_lines_are_each_indexed_filtered_or_dead_lettered_with_a_reason(
    spark: SparkSession,
    pipeline_config: LogiflowConfig,
    es_client: Elasticsearch,
    tmp_path: Path,
) -> None:
    config = fuzz_config(pipeline_config)
    categories = fuzz_lines()
    lines = [line for category in categories.values() for line in category]
    assert len(lines) == 10_000
    log = tmp_path / "fuzz.log"
    log.write_bytes(b"\n".join(lines) + b"\n")
    over_kafka_limit = [line for line in lines if len(line) > config.ship.max_line_bytes]
    assert over_kafka_limit and all(len(line) <= 2 * ONE_MIB for line in over_kafka_limit)

    summary = ship_files(config, [log], tmp_path, timeout=600)
    assert f"shipped {len(lines):,} lines" in summary or f"shipped {len(lines)} lines" in summary
    # The over-long lines are kept whole aside as well as dead-lettered from their start.
    assert (tmp_path / "rejected.log").read_bytes() == b"".join(
        line + b"\n" for line in over_kafka_limit
    )

    result = run_etl(config, until_caught_up=True, spark=spark)  # raises if a query failed

    prefix = config.elasticsearch.index_prefix
    events = count_documents(es_client, names.index_pattern(prefix, names.EVENTS))
    letters_index = names.index_pattern(prefix, names.DEAD_LETTER)
    letters = count_documents(es_client, letters_index)
    filtered = result.totals["filtered"]
    assert result.totals["input"] == len(lines)
    assert events + letters + filtered == len(lines), (events, letters, filtered)
    assert (result.totals["indexed"], result.totals["dead_letter"]) == (events, letters)

    # Every dead letter says why; the lines cut for Kafka say that they were.
    no_reason = {"bool": {"must_not": {"exists": {"field": ecs.ERROR_MESSAGE}}}}
    assert count_documents(es_client, letters_index, no_reason) == 0
    cut = {"match_phrase": {ecs.ERROR_MESSAGE: "exceeds the shipper's ship.max_line_bytes"}}
    assert count_documents(es_client, letters_index, cut) == len(over_kafka_limit)

    # The good lines among the hostile ones got through, and the drop rule still applies.
    indexed, dropped = expected_valid(categories)
    good = {"prefix": {ecs.URL_PATH: VALID_PREFIX}}
    assert count_documents(es_client, names.index_pattern(prefix, names.EVENTS), good) == indexed
    assert filtered >= dropped
