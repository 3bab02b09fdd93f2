"""Slots: the canonical meanings every log format's fields are mapped onto.

A slot is what a field holds (``status``, ``url_path``, ``time_local``, ...), whichever format
wrote it, so nginx ``$status``, Apache ``%>s`` and a JSON ``"status_code"`` land in the same
place and one set of column expressions converts them all. Variables with no ECS home become
``extra:<name>`` slots; Apache strftime times become ``time:<Spark datetime pattern>`` slots.
"""

from __future__ import annotations

# Joins the groups of an access-log match into one string that is split once. No compiled
# pattern ever matches it (see log_format), so it cannot come from the line itself.
SEP = "\x01"

# --- filled by access-log formats (and by JSON keys, see json_keys) --------------------------
REMOTE_ADDR = "remote_addr"
REMOTE_USER = "remote_user"
TIME_LOCAL = "time_local"  # 24/Nov/2026:22:04:15 +0530
TIME_ISO8601 = "time_iso8601"
EPOCH_S = "epoch_s"  # seconds, may have a fraction ($msec)
EPOCH_MS = "epoch_ms"
EPOCH_US = "epoch_us"
TIME_PATTERN_PREFIX = "time:"  # time:<Spark datetime pattern>, from Apache %{strftime}t
METHOD = "method"
URL_ORIGINAL = "url_original"
URL_DOMAIN = "url_domain"
URL_PATH = "url_path"
URL_QUERY = "url_query"
HTTP_VERSION = "http_version"
REQUEST_RAW = "request_raw"  # a request line that is not HTTP (TLS bytes, scanner junk)
STATUS = "status"
BODY_BYTES = "body_bytes"
REFERRER = "referrer"
USER_AGENT = "user_agent"
FORWARDED_FOR = "forwarded_for"
DURATION_S = "duration_s"
DURATION_MS = "duration_ms"
DURATION_US = "duration_us"
REQUEST_HOST = "request_host"  # the Host header: url.domain when the request URI is relative
HOSTNAME = "hostname"  # the machine that wrote the log: host.name
TRACE_ID = "trace_id"
TAIL = "tail"  # non-empty when the fields after status (and body bytes) were present
EXTRA_PREFIX = "extra:"

# --- filled by JSON keys only ----------------------------------------------------------------
CLIENT_IP = "client_ip"
JSON_TIME = "json_time"
JSON_URL = "json_url"
DURATION_NS = "duration_ns"
SERVICE = "service"
LEVEL = "level"


def extra_name(slot: str) -> str:
    """The key of an ``extra:<name>`` slot in ``logiflow.extra``."""
    return slot[len(EXTRA_PREFIX) :]


def time_pattern(slot: str) -> str:
    """The Spark datetime pattern of a ``time:<pattern>`` slot."""
    return slot[len(TIME_PATTERN_PREFIX) :]
