"""The sink's retry policy, against a scripted HTTP endpoint on loopback.

A real node cannot be made to answer 503, 401 or 413 on cue, so the answers are scripted here;
the sink's behaviour on a real node (mapping rejections, replays) is in
tests/integration/test_sink_elasticsearch.py, and real outages, flood-stage blocks and 429s
under a continuously running job in tests/integration/test_outages.py.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError

from logiflow.config import ElasticsearchSettings
from logiflow.contract.metrics import RETRY_CAUSES
from logiflow.io.bulk_retries import (
    OutageReport,
    SinkRefusedError,
    SinkStoppedError,
    bulk_with_retries,
    retry_cause,
    retry_transient,
)
from logiflow.io.es_client import create_es_client
from logiflow.io.es_setup import SetupError
from logiflow.io.sink_elasticsearch import (
    TOO_LARGE_KEPT_CHARS,
    rejected_dead_letter,
    write_chunk,
)


class ScriptedBulk:
    """Answers each bulk request with the next scripted reply; records what it was sent."""

    def __init__(self) -> None:
        self.replies: list[tuple[int, Any]] = []
        # Answers every request once ``replies`` has run out.
        self.always: tuple[int, Any] | None = None
        self.requests: list[list[dict[str, Any]]] = []

    def handler(self) -> type[BaseHTTPRequestHandler]:
        script = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                lines = [json.loads(line) for line in body.splitlines() if line.strip()]
                actions = [
                    {"meta": lines[i], "source": lines[i + 1]} for i in range(0, len(lines), 2)
                ]
                script.requests.append(actions)
                status, reply = script.replies.pop(0) if script.replies else script.always
                if callable(reply):
                    reply = reply(actions)
                if isinstance(reply, tuple):  # the callable chose the status too
                    status, reply = reply
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_PUT = do_POST  # the client sends bulk requests as PUT or POST

        return Handler


@pytest.fixture
def scripted() -> Iterator[tuple[ScriptedBulk, ElasticsearchSettings]]:
    script = ScriptedBulk()
    server = ThreadingHTTPServer(("127.0.0.1", 0), script.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings = ElasticsearchSettings(
        hosts=[f"http://127.0.0.1:{server.server_address[1]}"],
        initial_backoff_seconds=0.01,
        max_backoff_seconds=0.02,
    )
    yield script, settings
    server.shutdown()


def _item(action: dict[str, Any], status: int, error: str | None = None) -> dict[str, Any]:
    meta = action["meta"]["index"]
    result: dict[str, Any] = {"_index": meta["_index"], "_id": meta["_id"], "status": status}
    if error:
        result["error"] = {"type": error, "reason": f"{error} for {meta['_id']}"}
    return {"index": result}


def _answer(statuses: dict[str, tuple[int, str | None]]) -> Any:
    def reply(actions: list[dict[str, Any]]) -> dict[str, Any]:
        items = [_item(a, *statuses.get(a["meta"]["index"]["_id"], (201, None))) for a in actions]
        return {"took": 1, "errors": any(i["index"]["status"] > 299 for i in items), "items": items}

    return reply


def _actions(*ids: str) -> list[dict[str, Any]]:
    return [
        {
            "_op_type": "index",
            "_id": i,
            "_index": "lf-events-2026.11.24",
            "_source": json.dumps(
                {"event.original": f"line {i}", "kafka.timestamp": "2026-11-24T10:00:00.000Z"}
            ),
        }
        for i in ids
    ]


def test_per_document_429_in_a_200_response_is_retried_alone(scripted) -> None:
    script, settings = scripted
    script.replies = [
        (
            200,
            _answer(
                {
                    "a": (429, "es_rejected_execution_exception"),
                    "c": (400, "mapper_parsing_exception"),
                }
            ),
        ),
        (200, _answer({})),
    ]
    failures = bulk_with_retries(create_es_client(settings), _actions("a", "b", "c"), settings)
    assert [f["_id"] for f in failures] == ["c"]
    assert [[a["meta"]["index"]["_id"] for a in r] for r in script.requests] == [
        ["a", "b", "c"],
        ["a"],
    ]


def test_whole_request_503_is_retried_then_succeeds(scripted) -> None:
    script, settings = scripted
    script.replies = [(503, {"error": "unavailable"}), (503, {"error": "x"}), (200, _answer({}))]
    assert bulk_with_retries(create_es_client(settings), _actions("a", "b"), settings) == []
    assert len(script.requests) == 3


def _report(settings: ElasticsearchSettings, interval: float = 0.0) -> OutageReport:
    lines: list[str] = []
    return OutageReport(settings.hosts[0], log=lines.append, interval=interval)


def _lines(report: OutageReport) -> list[str]:
    return report.log.__self__  # type: ignore[attr-defined,no-any-return]


def test_overload_outlasting_any_retry_budget_is_waited_out_and_reported(scripted) -> None:
    script, settings = scripted
    script.replies = [(200, _answer({"a": (429, "es_rejected_execution_exception")}))] * 12
    script.replies.append((200, _answer({})))
    report = _report(settings)
    failures = bulk_with_retries(create_es_client(settings), _actions("a"), settings, report=report)
    assert failures == []
    assert len(script.requests) == 13
    lines = _lines(report)
    assert len(lines) == 13
    assert all(
        line.startswith(f"Elasticsearch at {settings.hosts[0]} answered 429") for line in lines[:12]
    )
    assert "es_rejected_execution_exception" in lines[0]
    assert "1 document(s) of an uncommitted batch waiting" in lines[0]
    assert lines[-1].startswith(
        f"Elasticsearch at {settings.hosts[0]} is back: written after 12 retries"
    )


def test_reports_are_rate_limited(scripted) -> None:
    script, settings = scripted
    script.replies = [(503, {"error": "unavailable"})] * 5 + [(200, _answer({}))]
    report = _report(settings, interval=3600)
    assert (
        bulk_with_retries(create_es_client(settings), _actions("a"), settings, report=report) == []
    )
    lines = _lines(report)
    assert len(lines) == 2
    assert "answered 503" in lines[0] and "retry 1 " in lines[0]
    assert "written after 5 retries" in lines[1]


@pytest.mark.parametrize("status", [429, 403])
def test_a_per_document_cluster_block_is_waited_out_not_dead_lettered(scripted, status) -> None:
    script, settings = scripted
    script.replies = [(200, _answer({"a": (status, "cluster_block_exception")}))] * 3
    script.replies.append((200, _answer({})))
    report = _report(settings)
    assert (
        bulk_with_retries(create_es_client(settings), _actions("a", "b"), settings, report=report)
        == []
    )
    assert len(script.requests) == 4
    assert "cluster_block_exception" in _lines(report)[0]


def test_a_whole_request_cluster_block_is_waited_out(scripted) -> None:
    script, settings = scripted
    block = {
        "error": {
            "type": "cluster_block_exception",
            "reason": "blocked by: [FORBIDDEN/8/index write (api)];",
        },
        "status": 403,
    }
    script.replies = [(403, block), (200, _answer({}))]
    report = _report(settings)
    assert (
        bulk_with_retries(create_es_client(settings), _actions("a"), settings, report=report) == []
    )
    assert "is blocked for writes (403" in _lines(report)[0]


@pytest.mark.parametrize(
    ("status", "error", "named"),
    [
        (401, "security_exception", "elasticsearch.username/password"),
        (403, "security_exception", "lacks privileges"),
        (400, "illegal_argument_exception", "retrying cannot fix"),
    ],
)
def test_a_refusal_retrying_cannot_fix_stops_with_its_cause(scripted, status, error, named) -> None:
    script, settings = scripted
    script.always = (status, {"error": {"type": error, "reason": "no"}, "status": status})
    with pytest.raises(
        SinkRefusedError, match=f"refused the sink's bulk request \\({status}"
    ) as exc:
        bulk_with_retries(create_es_client(settings), _actions("a"), settings)
    assert named in str(exc.value)
    assert len(script.requests) == 1


def test_a_per_document_privilege_refusal_stops_rather_than_dead_letters(scripted) -> None:
    script, settings = scripted
    script.always = (200, _answer({"a": (403, "security_exception")}))
    with pytest.raises(SinkRefusedError, match="lacks privileges"):
        write_chunk(create_es_client(settings), _actions("a"), settings)


def _too_large(max_documents: int) -> Any:
    """413 for a request of more than ``max_documents`` or holding the document "big"."""

    def reply(actions: list[dict[str, Any]]) -> Any:
        ids = [a["meta"]["index"]["_id"] for a in actions]
        if len(ids) > max_documents or "big" in ids:
            return 413, {"error": "Request Entity Too Large"}
        return 200, _answer({})(actions)

    return reply


def test_a_request_too_large_is_split_until_it_passes(scripted) -> None:
    script, settings = scripted
    script.always = (200, _too_large(2))
    ids = list("abcdefgh")
    assert bulk_with_retries(create_es_client(settings), _actions(*ids), settings) == []
    sizes = [len(request) for request in script.requests]
    assert sizes == [8, 4, 2, 2, 2, 2]
    passed = [a["meta"]["index"]["_id"] for r in script.requests if len(r) <= 2 for a in r]
    assert passed == ids


def test_a_document_too_large_alone_is_a_permanent_failure(scripted) -> None:
    script, settings = scripted
    script.always = (200, _too_large(10))
    failures = bulk_with_retries(create_es_client(settings), _actions("a", "big", "c"), settings)
    assert [(f["_id"], f["status"]) for f in failures] == [("big", 413)]
    written = [a["meta"]["index"]["_id"] for r in script.requests if "big" not in str(r) for a in r]
    assert sorted(written) == ["a", "c"]


def test_the_dead_letter_of_a_document_too_large_keeps_the_start_of_its_line(scripted) -> None:
    script, settings = scripted
    script.always = (200, _too_large(10))
    line = "x" * (3 * TOO_LARGE_KEPT_CHARS)
    [action] = _actions("big")
    action["_source"] = json.dumps({"event.original": line, "event.original_base64": "eA=="})
    [failure] = bulk_with_retries(create_es_client(settings), [action], settings)
    letter = json.loads(rejected_dead_letter(action, failure, "lf")["_source"])
    assert letter["event.original"] == line[:TOO_LARGE_KEPT_CHARS]
    assert "event.original_base64" not in letter
    assert letter["error.message"].startswith("rejected by Elasticsearch (413)")
    assert f"keeps its first {TOO_LARGE_KEPT_CHARS} of {len(line)}" in letter["error.message"]


def test_unreachable_elasticsearch_is_waited_out_until_it_answers() -> None:
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        port = reserved.getsockname()[1]
        settings = ElasticsearchSettings(
            hosts=[f"http://127.0.0.1:{port}"],
            initial_backoff_seconds=0.05,
            max_backoff_seconds=0.1,
        )
        report = _report(settings)
        writer = threading.Thread(
            target=lambda: bulk_with_retries(
                create_es_client(settings), _actions("a"), settings, report=report
            )
        )
        writer.start()
        time.sleep(1.0)  # refused connections all along: the writer keeps waiting
        assert writer.is_alive()
    script = ScriptedBulk()
    script.always = (200, _answer({}))
    server = ThreadingHTTPServer(("127.0.0.1", port), script.handler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        writer.join(30)
        assert not writer.is_alive()
    finally:
        server.shutdown()
    lines = _lines(report)
    assert lines[0].startswith(
        f"Elasticsearch at http://127.0.0.1:{port} is unreachable (connection refused)"
    )
    assert lines[-1].startswith(f"Elasticsearch at http://127.0.0.1:{port} is back")
    assert len(script.requests) == 1


def test_other_calls_wait_out_transient_failures_too(scripted) -> None:
    _, settings = scripted
    attempts: list[int] = []

    def setup() -> str:
        attempts.append(1)
        if len(attempts) < 4:
            raise SetupError("Elasticsearch refused the template") from _api_error(503)
        return "done"

    report = _report(settings)
    assert retry_transient(setup, "index setup", settings, report=report) == "done"
    assert "answered 503" in _lines(report)[0] and "index setup waiting" in _lines(report)[0]
    with pytest.raises(SetupError):  # a refusal waiting cannot fix propagates at once
        retry_transient(lambda: _raise(SetupError("no"), _api_error(403)), "x", settings)


def _api_error(status: int) -> ApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "h", 1))
    return ApiError("refused", meta, {"error": {"type": "x", "reason": "y"}, "status": status})


def _raise(error: Exception, cause: Exception) -> None:
    raise error from cause


def test_a_stop_request_ends_the_wait(scripted) -> None:
    script, settings = scripted
    script.always = (503, {"error": "unavailable"})
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    with pytest.raises(SinkStoppedError, match="uncommitted batch is written at the next start"):
        bulk_with_retries(create_es_client(settings), _actions("a"), settings, stop=stop)


def test_permanent_failures_are_written_as_dead_letters(scripted) -> None:
    script, settings = scripted
    script.replies = [
        (200, _answer({"b": (400, "mapper_parsing_exception")})),
        (200, _answer({})),
    ]
    counts = write_chunk(create_es_client(settings), _actions("a", "b"), settings)
    assert (counts.written, counts.rejected) == (1, 1)
    [letter] = script.requests[1]
    assert letter["meta"]["index"]["_index"] == "logiflow-deadletter-2026.11.24"
    assert letter["meta"]["index"]["_id"] == "b"
    assert letter["source"]["event.original"] == "line b"
    assert "mapper_parsing_exception" in letter["source"]["error.message"]


@pytest.mark.parametrize(
    ("cause", "kind"),
    [
        ("is unreachable (connection refused)", "unreachable"),
        ("did not answer within 60s (timeout)", "timeout"),
        ("is blocked for writes (429: cluster_block_exception: ...)", "blocked"),
        ("answered 403 (cluster_block_exception: index read-only)", "blocked"),
        ("answered 429 (es_rejected_execution_exception: ...)", "overloaded"),
        ("answered 503 (unavailable_shards_exception: ...)", "unavailable"),
        ("left 3 document(s) without an answer", "no_answer"),
    ],
)
def test_retry_causes_are_the_contracts_label_values(cause: str, kind: str) -> None:
    assert retry_cause(cause) == kind
    assert kind in RETRY_CAUSES


def test_the_report_counts_retries_by_cause() -> None:
    report = OutageReport("http://es:9200", log=lambda _line: None)
    for cause in ("is unreachable (x)", "is unreachable (y)", "answered 429 (z)"):
        report.waiting(cause, 0.0, "a test")
    assert report.retries_by_cause == {"unreachable": 2, "overloaded": 1}
