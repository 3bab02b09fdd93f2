"""JSON application/API logs: one object per line, mapped onto the same slots as access logs.

Each line is parsed once, into a ``map<string,string>`` (numbers and nested objects arrive as
their JSON text), so any key set works. Well-known key names (``status``/``status_code``/
``http.response.status_code`` ...) fill the ECS slots, looked up both as flat dotted keys and as
nested objects; every key that did not fill a slot, and every nested object, is kept in
``logiflow.extra``. Latency keys carry their unit in their name (``latency_ms``, ``duration``
in seconds, ``event.duration`` in nanoseconds).
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from logiflow.etl import log_format as lf
from logiflow.etl.log_format import SEP

# JSON-only slots, next to the access-log ones from log_format.
CLIENT_IP = "client_ip"
JSON_TIME = "json_time"
JSON_URL = "json_url"
DURATION_NS = "duration_ns"
SERVICE = "service"
LEVEL = "level"

# Dotted names come first so {"user_agent": {"original": ...}} is read before "user_agent".
JSON_SLOT_KEYS: dict[str, tuple[str, ...]] = {
    JSON_TIME: (
        "@timestamp",
        "timestamp",
        "time",
        "ts",
        "datetime",
        "date",
        "logged_at",
        "time_local",
    ),
    LEVEL: ("log.level", "level", "severity", "lvl", "loglevel", "levelname"),
    lf.METHOD: ("http.request.method", "method", "http_method", "request_method", "verb"),
    JSON_URL: ("url.original", "url.path", "url", "uri", "request_uri", "path", "request_path"),
    lf.URL_QUERY: ("url.query", "query", "query_string", "args"),
    lf.STATUS: (
        "http.response.status_code",
        "status",
        "status_code",
        "statusCode",
        "response_status",
        "http_status",
    ),
    lf.BODY_BYTES: (
        "http.response.body.bytes",
        "bytes",
        "body_bytes_sent",
        "bytes_sent",
        "response_size",
        "response_bytes",
        "size",
    ),
    DURATION_NS: ("event.duration", "duration_ns", "latency_ns", "elapsed_ns"),
    lf.DURATION_US: ("duration_us", "latency_us", "elapsed_us", "response_time_us"),
    lf.DURATION_MS: (
        "latency_ms",
        "duration_ms",
        "response_time_ms",
        "elapsed_ms",
        "took_ms",
        "request_time_ms",
        "responseTime",
        "took",
    ),
    lf.DURATION_S: (
        "latency",
        "duration",
        "response_time",
        "request_time",
        "elapsed",
        "latency_s",
        "duration_s",
        "latency_seconds",
        "duration_seconds",
    ),
    lf.REMOTE_ADDR: ("source.ip", "remote_addr", "remote_ip", "src_ip", "peer_ip", "ip"),
    CLIENT_IP: ("client.ip", "client_ip", "clientIp", "clientip"),
    lf.FORWARDED_FOR: ("x_forwarded_for", "http_x_forwarded_for", "forwarded_for", "xff"),
    lf.USER_AGENT: (
        "user_agent.original",
        "user_agent",
        "userAgent",
        "http_user_agent",
        "ua",
        "agent",
    ),
    lf.REFERRER: ("http.request.referrer", "referrer", "referer", "http_referer"),
    lf.REMOTE_USER: ("user.name", "user", "username", "user_name", "remote_user"),
    lf.HTTP_VERSION: ("http.version", "http_version", "httpVersion", "protocol"),
    SERVICE: ("service.name", "service", "service_name", "app", "application"),
    lf.HOSTNAME: ("host.name", "hostname", "host"),
    lf.TRACE_ID: ("trace.id", "trace_id", "traceId", "traceid"),
}

KNOWN_KEYS: tuple[str, ...] = tuple(k for keys in JSON_SLOT_KEYS.values() for k in keys)


# Every field a slot may read: the flat key names, and the first part of each dotted one (the
# nested object, as JSON text).
KNOWN_FIELDS: tuple[str, ...] = tuple(
    dict.fromkeys([*KNOWN_KEYS, *(k.split(".", 1)[0] for k in KNOWN_KEYS if "." in k)])
)
_PARSE_SCHEMA = StructType([StructField(name, StringType()) for name in KNOWN_FIELDS])
# The same fields by position: resolving a field by name is case-insensitive ("clientIp" and
# "clientip" would be ambiguous) while the JSON parser matches keys case-sensitively.
KNOWN_SCHEMA = StructType([StructField(f"k{i}", StringType()) for i in range(len(KNOWN_FIELDS))])


def parse_json_object(line: Column) -> Column:
    """The line as map<string,string>; null when it is not a JSON object."""
    return F.from_json(line, "map<string,string>")


def parse_known_fields(line: Column) -> Column:
    """The line as a struct of ``KNOWN_FIELDS`` (strings, as the map holds them).

    Slot values are read from this struct, not from the map: a struct field is one positional
    access, a map lookup compares the key with every key of the line (measured: those
    comparisons cost more than parsing the line a second time).
    """
    return F.from_json(line, _PARSE_SCHEMA).cast(KNOWN_SCHEMA)


def _field(known: Column, key: str) -> Column:
    return known.getField(f"k{KNOWN_FIELDS.index(key)}")


def _is_scalar(value: Column) -> Column:
    return ~value.startswith("{") & ~value.startswith("[")


def _scalar(value: Column) -> Column:
    # An object or array under a scalar key name ("user": {...}) is not that field's value.
    return F.when(_is_scalar(value), value)


def _lookup(known: Column, key: str) -> Column:
    """The value under ``key`` as the line wrote it (objects and arrays as JSON text)."""
    flat = _field(known, key)
    if "." not in key:
        return flat
    head, rest = key.split(".", 1)
    parent = _field(known, head)
    # A path below the root needs an object, so no "{" means no value: skip the JSON parser
    # (measured: on scalar values such as a user-agent string it cost more than the lookup).
    nested = F.when(parent.contains("{"), F.get_json_object(parent, f"$.{rest}"))
    return F.coalesce(flat, nested)


def _first_scalar(values: list[Column]) -> Column:
    """The first value that is present and not an object or array.

    Checked once, on the first present value; only when that one is an object or array are
    the values checked one by one (measured: the check on every key name cost ~4 µs a line).
    """
    first = F.coalesce(*values)
    return (
        F.when(first.isNull(), first)
        .when(_is_scalar(first), first)
        .otherwise(F.coalesce(*(_scalar(v) for v in values)))
    )


def json_slot_values(known: Column) -> dict[str, Column]:
    """Slot -> value of the first key present for it (``known``: see ``parse_known_fields``)."""
    return {
        slot: _first_scalar([_lookup(known, k) for k in keys])
        for slot, keys in JSON_SLOT_KEYS.items()
    }


def json_extra(obj: Column) -> Column:
    """Keys that filled no slot (and all nested objects, as JSON text)."""
    # IN with many literals becomes a hash-set lookup (InSet); array_contains scanned all
    # ~100 known names for every key, interpreted, as lambdas are.
    return F.map_filter(
        obj,
        lambda k, v: v.isNotNull() & (~k.isin(*KNOWN_KEYS) | v.startswith("{") | v.startswith("[")),
    )


_URL_REGEX = "^" + lf.uri_pattern(None)[0] + "\\z"
_URL_REPLACEMENT = SEP + SEP.join(f"${i}" for i in range(1, 5))


def split_url(url: Column) -> Column:
    """["", original, domain, path, query] of a URL or path; just [url] when it is not one.

    A plain path (leading "/", no "?") is the common case in API logs and is its own path,
    without the regex. The regex gives the same for every such path it accepts; one with
    whitespace, which it rejects, is still a path here (``parse_lines`` uses the whole value
    as ``url.path`` in that case anyway). Callers materialise this array before reading it
    (see ``url_part``).
    """
    plain_path = url.startswith("/") & ~url.contains("?")
    return F.when(plain_path, F.array(F.lit(""), url, F.lit(""), url, F.lit(""))).otherwise(
        F.split(F.regexp_replace(url, F.lit(_URL_REGEX), F.lit(_URL_REPLACEMENT)), SEP, -1)
    )


def url_part(parts: Column, index: int) -> Column:
    """Part 1..4 of a ``split_url`` array, null when the URL did not match."""
    return F.when((F.size(parts) == 5) & (F.get(parts, 0) == ""), F.get(parts, index))
