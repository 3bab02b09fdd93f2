"""The sink's retry policy, against a scripted HTTP endpoint on loopback.

A real node cannot be made to answer 429 or 503 on cue, so the answers are scripted here; the
sink's behaviour on a real node (mapping rejections, replays, outages) is in
tests/integration/test_sink_elasticsearch.py.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from logiflow.config import ElasticsearchSettings
from logiflow.io.es_client import create_es_client
from logiflow.io.sink_elasticsearch import SinkUnavailableError, bulk_with_retries, write_chunk


class ScriptedBulk:
    """Answers each bulk request with the next scripted reply; records what it was sent."""

    def __init__(self) -> None:
        self.replies: list[tuple[int, Any]] = []
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
                status, reply = script.replies.pop(0)
                if callable(reply):
                    reply = reply(actions)
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
        max_retries=3,
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


def test_retries_exhausted_fail_the_batch(scripted) -> None:
    script, settings = scripted
    script.replies = [(200, _answer({"a": (429, "es_rejected_execution_exception")}))] * 4
    with pytest.raises(SinkUnavailableError, match="kept answering 429"):
        bulk_with_retries(create_es_client(settings), _actions("a"), settings)
    assert len(script.requests) == settings.max_retries + 1


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


def test_connection_refused_is_retried_then_fails() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = ElasticsearchSettings(
        hosts=[f"http://127.0.0.1:{port}"],
        max_retries=2,
        initial_backoff_seconds=0.01,
        max_backoff_seconds=0.02,
    )
    with pytest.raises(SinkUnavailableError, match="unreachable"):
        bulk_with_retries(create_es_client(settings), _actions("a"), settings)
