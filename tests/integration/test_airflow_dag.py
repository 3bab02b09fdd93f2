"""An archived day compacted, then the Airflow DAG's local variant run for real on that day.

Against the archive tests' shared run (``archive_run.archived``: real Kafka, Elasticsearch and
s3proxy; today's 6,000 records archived through a SIGKILL):

- ``logiflow archive compact`` rewrites the day into one file without losing or duplicating a
  record (partition and offset of every row identical to the sink's committed files, which it
  leaves as they are), writes its marker last and refuses an open day unless asked; backfill
  then reads the copy (each record once) and gives the same documents;
- ``airflow dags test`` runs ``logiflow_archive_daily_local`` (the same DAG factory as the
  Kubernetes DAG, its steps as the ``logiflow`` executable) in Airflow's own venv with a SQLite
  database: the archive check, compaction, backfill and audit of the day all succeed and the
  day's documents are back in Elasticsearch.

This module runs before test_archive.py (file order): that one deletes every index of the
prefix, the streaming accounting the DAG's audit step reconciles with Kafka included.
"""

from __future__ import annotations

import json
import subprocess
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
from archive_run import LINES, Archived, run_logiflow
from archive_store import archived_coordinates, committed_files
from elasticsearch import Elasticsearch
from es_documents import all_documents
from integration_support import LOGIFLOW

from airflow_env import LOCAL_DAG, STEPS, airflow_bin, airflow_env, migrated_home
from logiflow.contract import archive_layout as layout
from logiflow.contract import index_names as names

TODAY = datetime.now(UTC).date()


def _store_file(archived: Archived, url: str) -> Path:
    """The s3proxy backend's file of an ``s3a://bucket/key`` URL."""
    return archived.store.data_dir / urllib.parse.unquote(url.removeprefix("s3a://"))


def _marker(archived: Archived) -> dict:
    directory = layout.compacted_day_directory(archived.config.kafka.logs_topic, TODAY)
    root = archived.store.data_dir / archived.config.archive.bucket / archived.config.archive.prefix
    return json.loads((root / directory / layout.COMPACTED_MARKER).read_text())


def _delete_documents(es: Elasticsearch, archived: Archived) -> None:
    """Events and dead letters gone; the batch accounting (the audit's) stays."""
    prefix = archived.config.elasticsearch.index_prefix
    patterns = [names.index_pattern(prefix, kind) for kind in (names.EVENTS, names.DEAD_LETTER)]
    es.indices.delete(index=",".join(patterns), expand_wildcards="all")


def _snapshot(es: Elasticsearch, archived: Archived) -> tuple[dict, dict]:
    prefix = archived.config.elasticsearch.index_prefix
    return (
        all_documents(es, names.index_pattern(prefix, names.EVENTS)),
        all_documents(es, names.index_pattern(prefix, names.DEAD_LETTER)),
    )


def _airflow_json(env: dict[str, str], *args: str) -> list[dict]:
    done = subprocess.run(
        [airflow_bin("airflow"), *args, "--output", "json"],
        env=env, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    # Airflow logs to stdout too: the answer is the line that is a JSON list.
    return json.loads(next(line for line in done.stdout.splitlines() if line.startswith("[")))


def test_compaction_keeps_each_record_once_and_backfill_reads_the_copy(
    archived: Archived, es_client: Elasticsearch
) -> None:
    config_file = str(archived.config_file)
    before = _snapshot(es_client, archived)
    assert len(before[0]) == LINES * 9 // 10 and len(before[1]) == LINES // 10
    sink = sorted(archived_coordinates(archived.store, archived.config))
    sink_files = committed_files(archived.store, archived.config)

    refused = run_logiflow(["--config", config_file, "archive", "compact", "--date", str(TODAY)])
    assert refused.returncode == 2 and "has not ended yet" in refused.stderr, refused.stderr
    compact = ["--config", config_file, "archive", "compact", "--date", str(TODAY)]
    done = run_logiflow([*compact, "--even-if-open"])
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert f"done: {LINES} records, {len(sink_files)} files -> 1" in done.stdout, done.stdout

    marker = _marker(archived)
    assert sorted(_store_file(archived, f) for f in marker["source_files"]) == sink_files
    copy = pq.read_table(_store_file(archived, marker["files"][0]))
    rows = list(zip(copy.column(layout.PARTITION).to_pylist(),
                    copy.column(layout.OFFSET).to_pylist(), strict=True))  # fmt: skip
    assert sorted(rows) == sink and len(rows) == LINES
    ends = archived.end_offsets
    assert marker["records"] == LINES
    assert marker["partitions"] == {str(p): [end, 0, end - 1] for p, end in ends.items()}
    # The sink's files and commit log are as they were.
    assert sorted(archived_coordinates(archived.store, archived.config)) == sink

    _delete_documents(es_client, archived)
    restored = run_logiflow(
        ["--config", config_file, "backfill", "--from-archive", "--since", str(TODAY)]
    )
    assert restored.returncode == 0, restored.stdout[-2000:] + restored.stderr[-3000:]
    assert f"{LINES} lines in" in restored.stdout  # the copy only: each record once
    assert _snapshot(es_client, archived) == before


def test_the_dags_local_variant_backfills_the_day_into_elasticsearch(
    archived: Archived, es_client: Elasticsearch, tmp_path: Path
) -> None:
    before = _snapshot(es_client, archived)
    _delete_documents(es_client, archived)
    home = migrated_home(tmp_path / "airflow")
    env = airflow_env(home, LOGIFLOW_LOCAL_BIN=LOGIFLOW, LOGIFLOW_CONFIG=str(archived.config_file))
    # A manual run's data interval is the day before its logical date: tomorrow's run is today's.
    run_date = (TODAY + timedelta(days=1)).isoformat()
    conf = json.dumps({"compact_even_if_open": True})
    run = subprocess.run(
        [airflow_bin("airflow"), "dags", "test", LOCAL_DAG, run_date, "--conf", conf],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    [dag_run] = _airflow_json(env, "dags", "list-runs", LOCAL_DAG)
    assert dag_run["state"] == "success", output[-6000:]
    tasks = _airflow_json(env, "tasks", "states-for-dag-run", LOCAL_DAG, dag_run["run_id"])
    assert {t["task_id"]: t["state"] for t in tasks} == dict.fromkeys(STEPS, "success")
    assert f"{LINES} lines in" in output  # the backfill's summary, in the task's log
    assert _snapshot(es_client, archived) == before
