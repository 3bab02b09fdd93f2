"""A private s3proxy for the archive tests, and reading what the archive committed.

The store is the real local S3 server (``local.s3proxy_server``) on a free port with its own state
directory. Its filesystem backend keeps each object as a file (``data/<bucket>/<key>``), so the
tests read the Parquet files directly, but only those the file sink's commit log
(``_spark_metadata``) lists: that log, not the directory, is the dataset.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from logiflow.config import LogiflowConfig
from logiflow.contract import archive_layout as layout
from logiflow.local.s3proxy_server import S3ProxyServer


def archive_settings(store: S3ProxyServer, bucket: str, **extra: Any) -> dict[str, Any]:
    credentials = store.credentials()
    return {
        "enabled": True,
        "endpoint": store.address,
        "bucket": bucket,
        "prefix": "raw",
        "access_key_id": credentials.access_key_id,
        "secret_access_key": credentials.secret_access_key,
        **extra,
    }


def with_archive(config_file: Path, archive: dict[str, Any]) -> Path:
    """The config file with its archive section set (secrets in clear: the dump masks them)."""
    data = yaml.safe_load(config_file.read_text())
    data["archive"] = archive
    config_file.write_text(yaml.safe_dump(data))
    return config_file


def committed_files(store: S3ProxyServer, config: LogiflowConfig) -> list[Path]:
    """The Parquet files the archive's commit log lists, as files of the s3proxy backend."""
    root = store.data_dir / config.archive.bucket / config.archive.prefix
    paths: set[str] = set()
    log_dir = root / layout.METADATA_DIR
    for entry in sorted(log_dir.iterdir()) if log_dir.is_dir() else []:
        if entry.name.startswith("."):
            continue
        lines = entry.read_text().splitlines()[1:]  # the first line is the log's version
        for line in lines:
            record = json.loads(line)
            if record.get("action", "add") == "add":
                paths.add(record["path"])
            else:
                paths.discard(record["path"])
    return sorted(store.data_dir / urllib.parse.unquote(p.removeprefix("s3a://")) for p in paths)


def archived_coordinates(store: S3ProxyServer, config: LogiflowConfig) -> list[tuple[int, int]]:
    """(partition, offset) of every archived row, duplicates kept."""
    coordinates: list[tuple[int, int]] = []
    for path in committed_files(store, config):
        table = pq.read_table(path, columns=[layout.PARTITION, layout.OFFSET])
        coordinates += zip(
            table.column(layout.PARTITION).to_pylist(),
            table.column(layout.OFFSET).to_pylist(),
            strict=True,
        )
    return coordinates
