"""`logiflow kibana-import` and `kibana-check` end to end: the real CLI as a subprocess, over TLS
verified against a CA made here, against a stand-in that answers Kibana 8.19's API shapes
(kibana_stand_in.py; Kibana itself cannot run on this machine). The file imported is the one
the chart ships (charts/logiflow/files/kibana/saved-objects.ndjson), whatever it holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kibana_stand_in import KibanaState, serve_kibana
from secured_kafka import write_certificates

from logiflow.io.kibana_import import ids_of_type, read_saved_objects

LOGIFLOW = str(Path(sys.executable).with_name("logiflow"))
SAVED_OBJECTS = (
    Path(__file__).resolve().parents[2] / "charts/logiflow/files/kibana/saved-objects.ndjson"
)
USER, PASSWORD = "logiflow-kibana-import", "s3cret-from-the-secret"


@pytest.fixture
def certs(tmp_path: Path) -> tuple[Path, Path]:
    return write_certificates(tmp_path)


@pytest.fixture
def kibana(certs: tuple[Path, Path]) -> Iterator[tuple[KibanaState, str]]:
    state = KibanaState(USER, PASSWORD)
    with serve_kibana(state, certs[1]) as url:
        yield state, url


def logiflow(
    command: str, url: str, file: Path, ca: Path | None, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "LOGIFLOW_KIBANA__USERNAME": USER,
        "LOGIFLOW_KIBANA__PASSWORD": PASSWORD,
        "LOGIFLOW_KIBANA__READY_TIMEOUT_SECONDS": "30",
        **env,
    }
    environment.pop("LOGIFLOW_CONFIG", None)
    if ca is not None:
        environment["LOGIFLOW_KIBANA__CA_CERTS"] = str(ca)
    return subprocess.run(
        [LOGIFLOW, command, "--file", str(file), "--kibana-url", url],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_import_waits_for_available_then_imports_idempotently(
    kibana: tuple[KibanaState, str], certs: tuple[Path, Path]
) -> None:
    state, url = kibana
    objects = read_saved_objects(SAVED_OBJECTS)
    first = logiflow("kibana-import", url, SAVED_OBJECTS, certs[0])
    assert first.returncode == 0, first.stdout + first.stderr
    assert state.status_polls == state.unavailable_polls + 1
    assert "waiting: HTTP 503, overall level unavailable" in first.stdout
    assert f"imported {len(objects)} saved object(s)" in first.stdout
    assert {(t, i) for (_, t, i) in state.objects} == {(o["type"], o["id"]) for o in objects}
    assert state.imports[0]["query"] == {"overwrite": ["true"]}
    stored = dict(state.objects)
    # The hook runs again on every upgrade: same objects, overwritten, still a success.
    second = logiflow("kibana-import", url, SAVED_OBJECTS, certs[0])
    assert second.returncode == 0, second.stderr
    assert state.objects == stored and len(state.imports) == 2

    check = logiflow("kibana-check", url, SAVED_OBJECTS, certs[0])
    assert check.returncode == 0, check.stderr
    for dashboard in ids_of_type(objects, "dashboard"):
        assert f"found   dashboard {dashboard}" in check.stdout
    assert "logiflow-overview" in check.stdout and "logiflow-pipeline-health" in check.stdout


def test_import_into_another_space(
    kibana: tuple[KibanaState, str], certs: tuple[Path, Path]
) -> None:
    state, url = kibana
    result = logiflow("kibana-import", url, SAVED_OBJECTS, certs[0], LOGIFLOW_KIBANA__SPACE="ops")
    assert result.returncode == 0, result.stderr
    assert {space for (space, _, _) in state.objects} == {"ops"}


def test_dashboard_missing_fails_the_check(
    kibana: tuple[KibanaState, str], certs: tuple[Path, Path]
) -> None:
    _, url = kibana
    result = logiflow("kibana-check", url, SAVED_OBJECTS, certs[0])
    assert result.returncode == 1
    assert "dashboard(s) missing in Kibana space default" in one_error_line(result)
    assert "logiflow-overview" in result.stderr


def test_any_file_name_is_uploaded_as_ndjson(
    kibana: tuple[KibanaState, str], certs: tuple[Path, Path], tmp_path: Path
) -> None:
    state, url = kibana
    exported = tmp_path / "export.json"
    exported.write_bytes(SAVED_OBJECTS.read_bytes())
    result = logiflow("kibana-import", url, exported, certs[0])
    assert result.returncode == 0, result.stderr
    assert state.objects


def test_missing_reference_fails_with_the_object_named(
    kibana: tuple[KibanaState, str], certs: tuple[Path, Path], tmp_path: Path
) -> None:
    _, url = kibana
    broken = tmp_path / "broken.ndjson"
    dashboard = {
        "type": "dashboard",
        "id": "logiflow-overview",
        "attributes": {"title": "LogiFlow overview"},
        "references": [{"type": "lens", "id": "gone", "name": "panel_1"}],
    }
    broken.write_text(json.dumps(dashboard) + "\n")
    result = logiflow("kibana-import", url, broken, certs[0])
    assert result.returncode == 7
    line = one_error_line(result)
    assert "dashboard/logiflow-overview (LogiFlow overview): missing_references" in line
    assert "lens/gone" in line


def test_a_type_the_user_may_not_write_is_a_refusal(
    kibana: tuple[KibanaState, str], certs: tuple[Path, Path]
) -> None:
    state, url = kibana
    state.writable_types = frozenset({"dashboard"})
    result = logiflow("kibana-import", url, SAVED_OBJECTS, certs[0])
    assert result.returncode == 7
    assert "Kibana refused the import 403 Forbidden: Unable to bulk_create" in (
        one_error_line(result)
    )


def test_tls_is_verified_against_the_ca(kibana: tuple[KibanaState, str]) -> None:
    _, url = kibana
    result = logiflow(
        "kibana-import", url, SAVED_OBJECTS, None, LOGIFLOW_KIBANA__READY_TIMEOUT_SECONDS="2"
    )
    assert result.returncode == 3
    line = one_error_line(result)
    assert "Kibana is unreachable" in line and "CERTIFICATE_VERIFY_FAILED" in line


def test_wrong_password_is_named(kibana: tuple[KibanaState, str], certs: tuple[Path, Path]) -> None:
    _, url = kibana
    result = logiflow(
        "kibana-import",
        url,
        SAVED_OBJECTS,
        certs[0],
        LOGIFLOW_KIBANA__PASSWORD="wrong",
        LOGIFLOW_KIBANA__READY_TIMEOUT_SECONDS="2",
    )
    assert result.returncode == 3
    assert "401 Unauthorized (check kibana.username/password" in one_error_line(result)
