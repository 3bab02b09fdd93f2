"""Kibana client pieces without a server: the saved-objects file, status and import answers.

The answer shapes are Kibana 8.19's (core status route, saved-objects import route and its
documented error types); the command against a server is tested in
tests/integration/test_kibana_import_cmd.py.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from logiflow.config import KibanaSettings, load_config
from logiflow.errors import ConfigError, ServiceUnreachableError
from logiflow.io.kibana_import import (
    KibanaClient,
    KibanaImportError,
    ids_of_type,
    parse_import_response,
    parse_status,
    read_saved_objects,
    refusal_message,
)

CHART_SAVED_OBJECTS = (
    Path(__file__).resolve().parents[3] / "charts/logiflow/files/kibana/saved-objects.ndjson"
)


def test_status_full_and_redacted_forms() -> None:
    full = {
        "name": "kb",
        "version": {"number": "8.19.21"},
        "status": {
            "overall": {"level": "available", "summary": "All services and plugins available"},
            "core": {},
            "plugins": {},
        },
    }
    status = parse_status(200, full)
    assert status.available and status.summary.startswith("All services")
    redacted = parse_status(503, {"status": {"overall": {"level": "unavailable"}}})
    assert redacted.level == "unavailable" and not redacted.available
    # 503 never counts as available, whatever the body says.
    assert not parse_status(503, full).available
    assert parse_status(502, None).level == "unknown"
    assert parse_status(200, {"status": "green"}).level == "unknown"


def test_degraded_is_not_available() -> None:
    status = parse_status(200, {"status": {"overall": {"level": "degraded", "summary": "x"}}})
    assert not status.available


def test_import_success() -> None:
    body = {
        "success": True,
        "successCount": 3,
        "successResults": [{"type": "dashboard", "id": "logiflow-overview", "overwrite": True}],
    }
    result = parse_import_response(body)
    assert result.success and result.success_count == 3 and result.failures == ()


def test_import_errors_of_every_documented_type_are_described() -> None:
    body = {
        "success": False,
        "successCount": 1,
        "errors": [
            {
                "id": "logiflow-overview",
                "type": "dashboard",
                "title": "LogiFlow overview",
                "meta": {"title": "LogiFlow overview", "icon": "dashboardApp"},
                "error": {
                    "type": "missing_references",
                    "references": [{"type": "index-pattern", "id": "logiflow-events"}],
                },
            },
            {
                "id": "a",
                "type": "lens",
                "meta": {"title": "Requests"},
                "error": {"type": "conflict", "destinationId": "b"},
            },
            {
                "id": "c",
                "type": "lens",
                "error": {"type": "ambiguous_conflict", "destinations": [{}, {}]},
            },
            {"id": "d", "type": "widget", "error": {"type": "unsupported_type"}},
            {
                "id": "e",
                "type": "dashboard",
                "error": {"type": "unknown", "statusCode": 400, "message": "bad attributes"},
            },
        ],
    }
    result = parse_import_response(body)
    assert not result.success and result.success_count == 1
    lines = [f.describe() for f in result.failures]
    assert lines == [
        "dashboard/logiflow-overview (LogiFlow overview): missing_references: "
        "missing index-pattern/logiflow-events",
        "lens/a (Requests): conflict: conflicts with b",
        "lens/c: ambiguous_conflict: 2 objects match",
        "widget/d: unsupported_type",
        "dashboard/e: unknown: 400 bad attributes",
    ]


@pytest.mark.parametrize("body", [None, [], {"successCount": 2}, {"success": "yes"}])
def test_import_answer_without_success_flag_is_an_error(body: object) -> None:
    with pytest.raises(KibanaImportError, match="no success flag"):
        parse_import_response(body)


def test_refusal_message_uses_kibanas_error_body() -> None:
    body = {"statusCode": 403, "error": "Forbidden", "message": "Unable to bulk_create lens"}
    assert refusal_message(403, body, "") == "403 Forbidden: Unable to bulk_create lens"
    assert refusal_message(502, None, "<html>bad gateway</html>") == (
        "502: <html>bad gateway</html>"
    )


def test_read_saved_objects_skips_the_export_summary(tmp_path: Path) -> None:
    path = tmp_path / "export.ndjson"
    lines = [
        {"type": "index-pattern", "id": "p", "attributes": {"title": "x-*"}},
        {"type": "dashboard", "id": "d1", "attributes": {"title": "D"}},
        {"exportedCount": 2, "missingRefCount": 0, "missingReferences": []},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    objects = read_saved_objects(path)
    assert [o["id"] for o in objects] == ["p", "d1"]
    assert ids_of_type(objects, "dashboard") == ["d1"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"type": "dashboard", "id": "a"}\nnot json\n', "line 2 is not JSON"),
        ('["dashboard"]\n', "line 1 is not a JSON object"),
        ('{"type": "dashboard"}\n', "line 1 has no string type and id"),
        ("\n", "holds no saved objects"),
    ],
)
def test_read_saved_objects_rejects_bad_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.ndjson"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_saved_objects(path)


def test_the_charts_saved_objects_hold_the_agreed_dashboards() -> None:
    dashboards = ids_of_type(read_saved_objects(CHART_SAVED_OBJECTS), "dashboard")
    assert {"logiflow-overview", "logiflow-pipeline-health"} <= set(dashboards)


def test_space_prefix_only_outside_the_default_space() -> None:
    default = KibanaClient(KibanaSettings(url="https://kb:5601/"))
    assert default.space_url("/api/saved_objects/_import") == (
        "https://kb:5601/api/saved_objects/_import"
    )
    ops = KibanaClient(KibanaSettings(url="https://kb:5601", space="ops"))
    assert ops.space_url("/api/x") == "https://kb:5601/s/ops/api/x"


def test_tls_is_verified_with_the_ca_or_the_system_store(tmp_path: Path) -> None:
    assert KibanaClient(KibanaSettings()).verify is True
    ca = tmp_path / "ca.crt"
    ca.write_text("PEM")
    assert KibanaClient(KibanaSettings(ca_certs=ca)).verify == str(ca)
    with pytest.raises(ConfigError, match=r"kibana\.ca_certs"):
        KibanaClient(KibanaSettings(ca_certs=tmp_path / "missing.crt"))


def test_config_section_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGIFLOW_KIBANA__USERNAME", "logiflow-kibana-import")
    monkeypatch.setenv("LOGIFLOW_KIBANA__PASSWORD", "secret")
    settings = load_config(None, {"kibana": {"url": "https://kb.ns.svc:5601"}}).kibana
    assert settings.username == "logiflow-kibana-import"
    assert settings.password is not None and settings.password.get_secret_value() == "secret"
    with pytest.raises(ConfigError, match=r"kibana\.url"):
        load_config(None, {"kibana": {"url": "kb:5601"}})
    with pytest.raises(ConfigError, match=r"kibana\.space"):
        load_config(None, {"kibana": {"space": "My Space"}})


def test_wait_gives_up_with_the_last_reason_and_repeats_read_the_same() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = KibanaSettings(url=f"http://127.0.0.1:{port}", ready_timeout_seconds=1.5)
    reasons: list[str] = []
    with KibanaClient(settings) as client, pytest.raises(ServiceUnreachableError) as caught:
        client.wait_until_available(reasons.append)
    assert len(reasons) >= 2 and len(set(reasons)) == 1, reasons
    assert "Kibana is unreachable" in str(caught.value)
    assert "not available after 2s; last:" in str(caught.value)
    assert "Connection refused" in str(caught.value)
