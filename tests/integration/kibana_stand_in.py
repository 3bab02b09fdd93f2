"""A stand-in for Kibana's HTTP API, as far as `logiflow kibana-import`/`kibana-check` use it.

Kibana cannot run on this machine, so this HTTPS server answers the documented Kibana 8.19
shapes: ``GET /api/status`` (503 "unavailable" for the first ``unavailable_polls`` calls, then
200 "available"), ``POST [/s/<space>]/api/saved_objects/_import`` (needs ``kbn-xsrf`` and a
multipart ``file``; stores objects by type and id; answers ``missing_references`` for a
reference that resolves nowhere, and 403 for a type the user may not write) and
``GET [/s/<space>]/api/saved_objects/<type>/<id>``; like Kibana it refuses an upload whose file
name does not end in ``.ndjson``. Every request needs basic auth. What only a
real Kibana checks (saved-object migrations, Lens state, feature privileges) is not modelled.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

_SPACE = r"(?:/s/(?P<space>[a-z0-9_-]+))?"
IMPORT_PATH = re.compile(rf"^{_SPACE}/api/saved_objects/_import$")
OBJECT_PATH = re.compile(rf"^{_SPACE}/api/saved_objects/(?P<type>[^/]+)/(?P<id>[^/]+)$")


@dataclass
class KibanaState:
    username: str
    password: str
    unavailable_polls: int = 2
    writable_types: frozenset[str] = frozenset({"index-pattern", "lens", "dashboard"})
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    status_polls: int = 0
    imports: list[dict[str, Any]] = field(default_factory=list)


def _error(status: int, error: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"statusCode": status, "error": error, "message": message}


def _multipart_file(content_type: str, body: bytes) -> tuple[str, bytes] | None:
    """(file name, content) of the multipart field ``file``."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True)
            return str(part.get_filename() or ""), payload if isinstance(payload, bytes) else b""
    return None


def _import(state: KibanaState, space: str, file: bytes) -> tuple[int, dict[str, Any]]:
    objects = [json.loads(line) for line in file.decode().splitlines() if line.strip()]
    objects = [o for o in objects if "exportedCount" not in o]
    for item in objects:
        if item["type"] not in state.writable_types:
            return _error(403, "Forbidden", f"Unable to bulk_create {item['type']}")
    known = {(o["type"], o["id"]) for o in objects} | {
        (t, i) for (s, t, i) in state.objects if s == space
    }
    errors, results = [], []
    for item in objects:
        missing = [
            {"type": r["type"], "id": r["id"]}
            for r in item.get("references", [])
            if (r["type"], r["id"]) not in known
        ]
        title = item.get("attributes", {}).get("title", "")
        if missing:
            errors.append(
                {
                    "id": item["id"],
                    "type": item["type"],
                    "title": title,
                    "meta": {"title": title},
                    "error": {"type": "missing_references", "references": missing},
                }
            )
            continue
        state.objects[(space, item["type"], item["id"])] = item
        results.append({"type": item["type"], "id": item["id"], "overwrite": True})
    body: dict[str, Any] = {
        "success": not errors,
        "successCount": len(results),
        "successResults": results,
    }
    if errors:
        body["errors"] = errors
    return 200, body


class _Handler(BaseHTTPRequestHandler):
    state: KibanaState

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _authorized(self) -> bool:
        expected = f"{self.state.username}:{self.state.password}".encode()
        header = self.headers.get("Authorization", "")
        return header == "Basic " + base64.b64encode(expected).decode()

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if not self._authorized():
            return self._answer(*_error(401, "Unauthorized", "Unauthorized"))
        path = urlsplit(self.path).path
        if path == "/api/status":
            self.state.status_polls += 1
            ready = self.state.status_polls > self.state.unavailable_polls
            level = "available" if ready else "unavailable"
            body = {"version": {"number": "8.19.21"}, "status": {"overall": {"level": level}}}
            return self._answer(200 if ready else 503, body)
        match = OBJECT_PATH.match(path)
        if match:
            key = (match["space"] or "default", match["type"], match["id"])
            if key in self.state.objects:
                return self._answer(200, self.state.objects[key])
            message = f"Saved object [{match['type']}/{match['id']}] not found"
            return self._answer(*_error(404, "Not Found", message))
        return self._answer(*_error(404, "Not Found", "Not Found"))

    def do_POST(self) -> None:
        if not self._authorized():
            return self._answer(*_error(401, "Unauthorized", "Unauthorized"))
        url = urlsplit(self.path)
        match = IMPORT_PATH.match(url.path)
        if not match:
            return self._answer(*_error(404, "Not Found", "Not Found"))
        if "kbn-xsrf" not in self.headers:
            message = "Request must contain a kbn-xsrf header."
            return self._answer(*_error(400, "Bad Request", message))
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        upload = _multipart_file(self.headers.get("Content-Type", ""), body)
        if upload is None:
            return self._answer(*_error(415, "Unsupported Media Type", "file is required"))
        filename, file = upload
        if not filename.lower().endswith(".ndjson"):
            extension = Path(filename).suffix
            return self._answer(*_error(400, "Bad Request", f"Invalid file extension {extension}"))
        query = parse_qs(url.query)
        self.state.imports.append({"query": query, "space": match["space"] or "default"})
        return self._answer(*_import(self.state, match["space"] or "default", file))


@contextmanager
def serve_kibana(state: KibanaState, cert_chain: Path) -> Iterator[str]:
    """Serves ``state`` over HTTPS on a free loopback port; yields the base URL."""
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_chain)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
