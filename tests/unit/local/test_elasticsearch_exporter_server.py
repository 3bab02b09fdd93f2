"""local/elasticsearch_exporter_server.py: the exporter's command, its scrape target, and the
version `make elasticsearch-exporter` builds."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from logiflow.config import LocalSettings
from logiflow.local.elasticsearch_exporter_server import ElasticsearchExporterServer
from logiflow.local.process import LocalServerError
from logiflow.local.prometheus_config import targets_dir

MAKEFILE = Path(__file__).parents[3] / "Makefile"


def _server(tmp_path: Path, binary: Path | None = None) -> ElasticsearchExporterServer:
    settings = LocalSettings(
        state_dir=tmp_path / "state",
        cache_dir=tmp_path / "cache",
        elasticsearch_port=19200,
        elasticsearch_exporter_port=19114,
        elasticsearch_exporter_binary=binary,
    )
    return ElasticsearchExporterServer(settings, Console(stderr=True))


def test_make_builds_the_version_the_settings_look_for() -> None:
    pinned = re.search(r"^ELASTICSEARCH_EXPORTER_VERSION := (\S+)$", MAKEFILE.read_text(), re.M)
    assert pinned is not None
    settings = LocalSettings()
    assert settings.elasticsearch_exporter_version == pinned.group(1)
    assert settings.elasticsearch_exporter_path == (
        settings.cache_dir / f"elasticsearch_exporter-{pinned.group(1)}" / "elasticsearch_exporter"
    )


def test_a_missing_binary_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(LocalServerError, match="make elasticsearch-exporter"):
        _server(tmp_path).prepare()


def test_it_scrapes_the_local_node_and_registers_its_target(tmp_path: Path) -> None:
    binary = tmp_path / "elasticsearch_exporter"
    binary.write_text("")
    server = _server(tmp_path, binary)
    command, _env, _cwd = server.prepare()
    assert command == [
        str(binary),
        "--es.uri=http://127.0.0.1:19200",
        "--web.listen-address=127.0.0.1:19114",
        "--es.timeout=10s",
    ]
    target = targets_dir(server.settings) / "elasticsearch-exporter.json"
    assert json.loads(target.read_text()) == [
        {"targets": ["127.0.0.1:19114"], "labels": {"component": "elasticsearch-exporter"}}
    ]
    assert server.stop() is False  # nothing ran, but its target goes
    assert not target.exists()
