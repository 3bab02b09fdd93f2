"""Kibana's saved-objects API: wait until Kibana is available, import NDJSON, check objects exist.

Used by ``logiflow kibana-import`` (the chart's post-install/post-upgrade hook Job) and
``logiflow kibana-check`` (its ``helm test``). The requests follow Kibana 8.19's HTTP API:

- ``GET /api/status``: 200 or 503 with ``status.overall.level`` (``available``, ``degraded``,
  ``unavailable``, ``critical``); an unauthenticated caller gets only a redacted level.
- ``POST [/s/<space>]/api/saved_objects/_import?overwrite=true`` with the ``kbn-xsrf`` header and
  the NDJSON as multipart field ``file``. 200 with ``success``, ``successCount`` and, when some
  objects failed, ``errors[]`` (``type``, ``id``, ``title``, ``error.type`` among ``conflict``,
  ``ambiguous_conflict``, ``missing_references``, ``unsupported_type``, ``unknown``). A refused
  request (bad file, no privilege on a type) is a 4xx with ``statusCode``, ``error``, ``message``.
- ``GET [/s/<space>]/api/saved_objects/<type>/<id>``: 200 or 404.

Importing with overwrite is idempotent, so the hook can run on every upgrade. TLS verification is
never turned off: an https Kibana with a private CA needs ``kibana.ca_certs``. Kibana cannot run
on the development machine; the tests talk to a small local server that answers these shapes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from logiflow.config import KibanaSettings
from logiflow.errors import ConfigError, LogiflowError, ServiceUnreachableError

AVAILABLE = "available"
# Any value works: Kibana only checks that the header is present (CSRF protection).
XSRF_HEADERS = {"kbn-xsrf": "logiflow"}
# Statuses worth another attempt: Kibana restarting or a proxy in between not ready yet.
RETRIABLE_STATUS = frozenset({502, 503, 504})
IMPORT_ATTEMPTS = 5
T = TypeVar("T")


class KibanaImportError(LogiflowError):
    """Kibana refused the import, or imported only part of it."""

    exit_code = 7


class _Retriable(Exception):
    """A transient answer (connection refused, 503): try again until the deadline."""


@dataclass(frozen=True)
class KibanaStatus:
    http_status: int
    level: str
    summary: str

    @property
    def available(self) -> bool:
        return self.http_status == 200 and self.level == AVAILABLE


@dataclass(frozen=True)
class ImportFailure:
    object_type: str
    object_id: str
    title: str
    error_type: str
    detail: str

    def describe(self) -> str:
        title = f" ({self.title})" if self.title else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.object_type}/{self.object_id}{title}: {self.error_type}{detail}"


@dataclass(frozen=True)
class ImportResult:
    success: bool
    success_count: int
    failures: tuple[ImportFailure, ...]


# ---------- the NDJSON file ----------


def read_saved_objects(path: Path) -> list[dict[str, Any]]:
    """The objects of an export file; each line a JSON object with ``type`` and ``id``.

    Kibana appends an export summary line (``exportedCount``) to its own exports; it carries no
    object and is skipped, as Kibana's import does.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read saved objects file {path}: {exc.strerror}") from exc
    objects = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path} line {number} is not JSON: {exc.msg}") from exc
        if not isinstance(item, dict):
            raise ConfigError(f"{path} line {number} is not a JSON object")
        if "exportedCount" in item:
            continue
        if not isinstance(item.get("type"), str) or not isinstance(item.get("id"), str):
            raise ConfigError(f"{path} line {number} has no string type and id")
        objects.append(item)
    if not objects:
        raise ConfigError(f"{path} holds no saved objects")
    return objects


def ids_of_type(objects: list[dict[str, Any]], object_type: str) -> list[str]:
    return [item["id"] for item in objects if item["type"] == object_type]


# ---------- reading Kibana's answers ----------


def parse_status(http_status: int, body: Any) -> KibanaStatus:
    """Overall level of ``GET /api/status`` (full or redacted form); "unknown" if absent."""
    status = body.get("status") if isinstance(body, dict) else None
    overall = status.get("overall") if isinstance(status, dict) else None
    if not isinstance(overall, dict):
        overall = {}
    return KibanaStatus(
        http_status=http_status,
        level=str(overall.get("level", "unknown")),
        summary=str(overall.get("summary", "")),
    )


def parse_import_response(body: Any) -> ImportResult:
    """The 200 body of ``_import``; a body without ``success`` is an error of its own."""
    if not isinstance(body, dict) or not isinstance(body.get("success"), bool):
        raise KibanaImportError(f"Kibana's import answer has no success flag: {_short(body)}")
    failures = tuple(_failure(item) for item in body.get("errors") or [])
    return ImportResult(
        success=body["success"],
        success_count=int(body.get("successCount", 0)),
        failures=failures,
    )


def _failure(item: dict[str, Any]) -> ImportFailure:
    error = item.get("error") or {}
    return ImportFailure(
        object_type=str(item.get("type", "?")),
        object_id=str(item.get("id", "?")),
        title=str(item.get("title") or item.get("meta", {}).get("title") or ""),
        error_type=str(error.get("type", "unknown")),
        detail=_error_detail(error),
    )


def _error_detail(error: dict[str, Any]) -> str:
    """What each documented error type carries that tells the reader what to fix."""
    kind = error.get("type")
    if kind == "missing_references":
        refs = error.get("references") or []
        return "missing " + ", ".join(f"{r.get('type')}/{r.get('id')}" for r in refs)
    if kind == "conflict" and error.get("destinationId"):
        return f"conflicts with {error['destinationId']}"
    if kind == "ambiguous_conflict":
        return f"{len(error.get('destinations') or [])} objects match"
    if kind == "unknown":
        return f"{error.get('statusCode', '')} {error.get('message', '')}".strip()
    return ""


def refusal_message(http_status: int, body: Any, text: str) -> str:
    """Kibana's error body (``statusCode``, ``error``, ``message``) as one line."""
    if isinstance(body, dict) and body.get("message"):
        return f"{http_status} {body.get('error', '')}: {body['message']}".replace(" :", ":")
    return f"{http_status}: {_short(text)}"


# ---------- the client ----------


class KibanaClient:
    """One session against the configured Kibana (credentials, CA and space from settings)."""

    def __init__(self, settings: KibanaSettings) -> None:
        self.settings = settings
        self.session = requests.Session()
        self.verify = _verify(settings)
        if settings.username is not None:
            password = settings.password.get_secret_value() if settings.password else ""
            self.session.auth = (settings.username, password)

    def __enter__(self) -> KibanaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.close()

    def space_url(self, path: str) -> str:
        """URL of an API path in the configured space (the default space has no prefix)."""
        space = self.settings.space
        prefix = "" if space == "default" else f"/s/{space}"
        return f"{self.settings.url}{prefix}{path}"

    def status(self) -> KibanaStatus:
        response = self._send("GET", f"{self.settings.url}/api/status")
        return parse_status(response.status_code, _json(response))

    def wait_until_available(self, on_wait: Callable[[str], None] | None = None) -> KibanaStatus:
        """Polls the status until the overall level is ``available``, for ready_timeout_seconds.

        Every answer short of that is retried, a 401 too: ECK loads a new file-realm user into
        Elasticsearch a little after the hook starts.
        """

        def attempt() -> KibanaStatus:
            try:
                current = self.status()
            except requests.RequestException as exc:
                reason = _short(exc)
            else:
                if current.available:
                    return current
                reason = _describe_status(current)
            if on_wait is not None:
                on_wait(reason)
            raise _Retriable(reason)

        try:
            return _retrying(attempt, stop_after_delay(self.settings.ready_timeout_seconds))
        except _Retriable as exc:
            raise ServiceUnreachableError(
                "Kibana",
                self.settings.url,
                f"not available after {self.settings.ready_timeout_seconds:.0f}s; last: {exc}",
            ) from None

    def import_saved_objects(self, ndjson: bytes, filename: str) -> ImportResult:
        """``_import?overwrite=true``; a refusal or any failed object raises KibanaImportError."""
        url = self.space_url("/api/saved_objects/_import")
        # Kibana refuses an upload whose file name does not end in .ndjson.
        upload_name = filename if filename.lower().endswith(".ndjson") else f"{filename}.ndjson"

        def attempt() -> requests.Response:
            try:
                response = self._send(
                    "POST",
                    url,
                    params={"overwrite": "true"},
                    headers=XSRF_HEADERS,
                    files={"file": (upload_name, ndjson, "application/ndjson")},
                )
            except requests.RequestException as exc:
                raise _Retriable(_short(exc)) from exc
            if response.status_code in RETRIABLE_STATUS:
                raise _Retriable(f"{response.status_code}: {_short(response.text)}")
            return response

        try:
            response = _retrying(attempt, stop_after_attempt(IMPORT_ATTEMPTS))
        except _Retriable as exc:
            raise ServiceUnreachableError("Kibana", url, str(exc)) from None
        body = _json(response)
        if response.status_code != 200:
            raise KibanaImportError(
                "Kibana refused the import "
                + refusal_message(response.status_code, body, response.text)
            )
        result = parse_import_response(body)
        if not result.success or result.failures:
            lines = "; ".join(f.describe() for f in result.failures) or "no errors listed"
            raise KibanaImportError(
                f"Kibana imported {result.success_count} object(s) but not all: {lines}"
            )
        return result

    def saved_object_exists(self, object_type: str, object_id: str) -> bool:
        url = self.space_url(f"/api/saved_objects/{object_type}/{object_id}")
        response = self._send("GET", url)
        if response.status_code == 404:
            return False
        if response.status_code != 200:
            raise KibanaImportError(
                f"reading {object_type}/{object_id}: "
                + refusal_message(response.status_code, _json(response), response.text)
            )
        return True

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        # verify goes with each request: requests lets REQUESTS_CA_BUNDLE override a session's.
        return self.session.request(
            method,
            url,
            timeout=self.settings.request_timeout_seconds,
            verify=self.verify,
            **kwargs,
        )


def _verify(settings: KibanaSettings) -> bool | str:
    if settings.ca_certs is None:
        return True
    if not settings.ca_certs.is_file():
        raise ConfigError(f"kibana.ca_certs: {settings.ca_certs} does not exist or is not a file")
    return str(settings.ca_certs)


def _retrying(call: Callable[[], T], stop: Any) -> T:
    retrying = retry(
        retry=retry_if_exception_type(_Retriable),
        stop=stop,
        wait=wait_exponential(multiplier=0.5, max=10.0),
        reraise=True,
    )
    return retrying(call)()


def _describe_status(status: KibanaStatus) -> str:
    if status.http_status == 401:
        return "401 Unauthorized (check kibana.username/password; ECK may still be loading it)"
    summary = f" ({status.summary})" if status.summary else ""
    return f"HTTP {status.http_status}, overall level {status.level}{summary}"


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _short(value: object) -> str:
    # Connection errors name a Python object by address; without it, repeats read the same.
    text = re.sub(r" object at 0x[0-9a-f]+", "", " ".join(str(value).split()))
    return text if len(text) <= 300 else text[:297] + "..."
