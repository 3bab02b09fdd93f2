"""Which JSON keys fill which slot: the key names of the logging libraries and conventions seen.

Well-known key names (``status``/``status_code``/``http.response.status_code`` ...) fill the
slots, looked up both as flat dotted keys and as nested objects (see ``extract_json``).
Latency keys carry their unit in their name (``latency_ms``, ``duration`` in seconds,
``event.duration`` in nanoseconds).
"""

from __future__ import annotations

from logiflow.etl.parse import slots

# Dotted names come first so {"user_agent": {"original": ...}} is read before "user_agent".
JSON_SLOT_KEYS: dict[str, tuple[str, ...]] = {
    slots.JSON_TIME: (
        "@timestamp",
        "timestamp",
        "time",
        "ts",
        "datetime",
        "date",
        "logged_at",
        "time_local",
    ),
    slots.LEVEL: ("log.level", "level", "severity", "lvl", "loglevel", "levelname"),
    slots.METHOD: ("http.request.method", "method", "http_method", "request_method", "verb"),
    slots.JSON_URL: (
        "url.original",
        "url.path",
        "url",
        "uri",
        "request_uri",
        "path",
        "request_path",
    ),
    slots.URL_QUERY: ("url.query", "query", "query_string", "args"),
    slots.STATUS: (
        "http.response.status_code",
        "status",
        "status_code",
        "statusCode",
        "response_status",
        "http_status",
    ),
    slots.BODY_BYTES: (
        "http.response.body.bytes",
        "bytes",
        "body_bytes_sent",
        "bytes_sent",
        "response_size",
        "response_bytes",
        "size",
    ),
    slots.DURATION_NS: ("event.duration", "duration_ns", "latency_ns", "elapsed_ns"),
    slots.DURATION_US: ("duration_us", "latency_us", "elapsed_us", "response_time_us"),
    slots.DURATION_MS: (
        "latency_ms",
        "duration_ms",
        "response_time_ms",
        "elapsed_ms",
        "took_ms",
        "request_time_ms",
        "responseTime",
        "took",
    ),
    slots.DURATION_S: (
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
    slots.REMOTE_ADDR: ("source.ip", "remote_addr", "remote_ip", "src_ip", "peer_ip", "ip"),
    slots.CLIENT_IP: ("client.ip", "client_ip", "clientIp", "clientip"),
    slots.FORWARDED_FOR: ("x_forwarded_for", "http_x_forwarded_for", "forwarded_for", "xff"),
    slots.USER_AGENT: (
        "user_agent.original",
        "user_agent",
        "userAgent",
        "http_user_agent",
        "ua",
        "agent",
    ),
    slots.REFERRER: ("http.request.referrer", "referrer", "referer", "http_referer"),
    slots.REMOTE_USER: ("user.name", "user", "username", "user_name", "remote_user"),
    slots.HTTP_VERSION: ("http.version", "http_version", "httpVersion", "protocol"),
    slots.SERVICE: ("service.name", "service", "service_name", "app", "application"),
    slots.HOSTNAME: ("host.name", "hostname", "host"),
    slots.TRACE_ID: ("trace.id", "trace_id", "traceId", "traceid"),
}

KNOWN_KEYS: tuple[str, ...] = tuple(k for keys in JSON_SLOT_KEYS.values() for k in keys)


# Every field a slot may read: the flat key names, and the first part of each dotted one (the
# nested object, as JSON text).
KNOWN_FIELDS: tuple[str, ...] = tuple(
    dict.fromkeys([*KNOWN_KEYS, *(k.split(".", 1)[0] for k in KNOWN_KEYS if "." in k)])
)
