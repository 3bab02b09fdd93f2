"""Compiles an nginx ``log_format`` directive or an Apache ``LogFormat`` string into a parser.

Users paste the format their web server already uses; this module turns it into ONE Java regex
(run once per line by ``parse_lines``) and the list of "slots" its capture groups fill. A slot is
a canonical meaning shared by every format (``status``, ``url_path``, ``time_local``, ...) or
``extra:<name>`` for variables with no ECS home, so nginx ``$status`` and Apache ``%>s`` land in
the same place and one set of column expressions converts every format.

The built-in ``combined`` and ``common`` formats are nginx ``log_format`` strings compiled here
too: one mechanism. Their patterns accept both escaping styles (nginx ``\\x22``, Apache ``\\"``),
so they read nginx and Apache logs alike.

Regex design, for speed and safety on hostile input: quantifiers are possessive (no
catastrophic backtracking), fields stop at the first character of the literal that follows
them, and no pattern ever matches ``SEP`` (U+0001), which ``parse_lines`` uses to join the
groups of a match into one string that is split once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from logiflow.errors import LogFormatError

SEP = "\x01"

# --- slots: what a capture group holds -----------------------------------------------------
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

Flavor = Literal["nginx", "apache"]
Escape = Literal["default", "json", "none"]


@dataclass(frozen=True)
class CompiledFormat:
    """One log format: an anchored Java regex and the slot each capture group fills."""

    name: str
    flavor: Flavor
    source: str  # the format string, after directive/quote handling
    regex: str
    group_slots: tuple[str, ...]  # group i (1-based) fills group_slots[i - 1]
    variables: tuple[str, ...]  # the variables as written, for messages and docs

    def slot_groups(self) -> dict[str, int]:
        """Slot -> group number (each slot is filled by at most one group per format)."""
        return {slot: i + 1 for i, slot in enumerate(self.group_slots)}


# --- regex building blocks ----------------------------------------------------------------------


def _unrolled(stop: str) -> str:
    """Characters up to one of ``stop``, letting backslash escapes through.

    Written as "normal* (escape normal*)*" rather than "(normal|escape)*": Java then runs one
    tight character-class loop instead of an alternation per character (4x faster here).
    """
    normal = f"[^{stop}\\\\\\x01]*+"
    return f"{normal}(?:\\\\[^\\x01]{normal})*+"


def _value(delim: str | None, escaped: bool) -> str:
    """A field value running up to ``delim`` (or the end of the line)."""
    if delim is None:
        return "[^\\x01]*+"
    if not escaped:
        return f"[^{re.escape(delim)}\\x01]*+"
    # Backslash escapes (Apache \" and \\, nginx \xHH) never end a field.
    return _unrolled(f"{re.escape(delim)}")


def _path(delim: str | None) -> str:
    return _unrolled("?\\s" + (re.escape(delim) if delim and delim != " " else ""))


def _query(delim: str | None) -> str:
    return _unrolled("\\s" + (re.escape(delim) if delim and delim != " " else ""))


def uri_pattern(delim: str | None) -> tuple[str, list[str]]:
    """Request target: whole, host of an absolute URI, path, query."""
    stop = "\\s" + (re.escape(delim) if delim and delim != " " else "")
    authority = (
        f"[A-Za-z][A-Za-z0-9+.-]*+://(?:[^/?#@{stop}\\\\\\x01]*+@)?"
        f"(\\[[0-9A-Fa-f:.]++\\]|[^/?#:@{stop}\\\\\\x01]*+)(?::[0-9]*+)?"
    )
    pattern = f"((?:{authority})?({_path(delim)})(?:\\?({_query(delim)}))?)"
    return pattern, [URL_ORIGINAL, URL_DOMAIN, URL_PATH, URL_QUERY]


def _request(delim: str | None, escaped: bool) -> tuple[str, list[str]]:
    """``METHOD target HTTP/x`` split in place, or the raw text when it is not HTTP."""
    uri, uri_slots = uri_pattern(delim)
    http = f"([A-Za-z][A-Za-z_-]*+) {uri}(?: HTTP/([0-9.]++))?"
    raw = _value(delim, escaped) if delim not in (None, " ") else "[^\\x01]*?"
    return f"(?:{http}|({raw}))", [METHOD, *uri_slots, HTTP_VERSION, REQUEST_RAW]


# --- variable tables --------------------------------------------------------------------------

# kind: "value" (one group, slot), "request", "uri", "path", "query", "apache_time", "apache_query"
_NGINX_VARS: dict[str, tuple[str, str]] = {
    "remote_addr": ("value", REMOTE_ADDR),
    "remote_user": ("value", REMOTE_USER),
    "time_local": ("value", TIME_LOCAL),
    "time_iso8601": ("value", TIME_ISO8601),
    "msec": ("value", EPOCH_S),
    "request": ("request", ""),
    "request_method": ("value", METHOD),
    "request_uri": ("uri", ""),
    "uri": ("path", URL_PATH),
    "document_uri": ("path", URL_PATH),
    "args": ("query", URL_QUERY),
    "query_string": ("query", URL_QUERY),
    "server_protocol": ("value", HTTP_VERSION),
    "status": ("value", STATUS),
    "body_bytes_sent": ("value", BODY_BYTES),
    "request_time": ("value", DURATION_S),
    "host": ("value", REQUEST_HOST),
    "hostname": ("value", HOSTNAME),
    "otel_trace_id": ("value", TRACE_ID),
    "opentelemetry_trace_id": ("value", TRACE_ID),
}

# Request headers with an ECS home, by nginx-style name ($http_<name>, %{Name}i lower-cased).
_HEADER_SLOTS = {
    "referer": REFERRER,
    "user_agent": USER_AGENT,
    "x_forwarded_for": FORWARDED_FOR,
    "host": REQUEST_HOST,
    "x_trace_id": TRACE_ID,
    "x_b3_traceid": TRACE_ID,
}

_APACHE_SIMPLE: dict[str, tuple[str, str]] = {
    "h": ("value", REMOTE_ADDR),
    "a": ("value", REMOTE_ADDR),
    "l": ("value", EXTRA_PREFIX + "remote_logname"),
    "u": ("value", REMOTE_USER),
    "t": ("apache_time", TIME_LOCAL),
    "r": ("request", ""),
    "s": ("value", STATUS),
    "b": ("value", BODY_BYTES),
    "B": ("value", BODY_BYTES),
    "D": ("value", DURATION_US),
    "T": ("value", DURATION_S),
    "v": ("value", EXTRA_PREFIX + "server_name"),
    "V": ("value", REQUEST_HOST),
    "m": ("value", METHOD),
    "U": ("path", URL_PATH),
    "q": ("apache_query", URL_QUERY),
    "H": ("value", HTTP_VERSION),
    "I": ("value", EXTRA_PREFIX + "request_length"),
    "O": ("value", EXTRA_PREFIX + "bytes_sent"),
    "S": ("value", EXTRA_PREFIX + "bytes_transferred"),
    "A": ("value", EXTRA_PREFIX + "server_addr"),
    "p": ("value", EXTRA_PREFIX + "server_port"),
    "P": ("value", EXTRA_PREFIX + "pid"),
    "k": ("value", EXTRA_PREFIX + "keepalive_requests"),
    "L": ("value", EXTRA_PREFIX + "log_id"),
    "R": ("value", EXTRA_PREFIX + "handler"),
    "f": ("value", EXTRA_PREFIX + "request_filename"),
    "X": ("value", EXTRA_PREFIX + "connection_status"),
}

_APACHE_BRACED_PREFIX = {
    "i": "http_",
    "o": "sent_http_",
    "e": "env_",
    "n": "note_",
    "C": "cookie_",
    "^ti": "trailer_in_",
    "^to": "trailer_out_",
}

# strftime directives Spark's datetime parser can read back.
_STRFTIME = {
    "Y": "yyyy",
    "y": "yy",
    "m": "MM",
    "d": "dd",
    "e": "d",
    "H": "HH",
    "I": "hh",
    "M": "mm",
    "S": "ss",
    "p": "a",
    "b": "MMM",
    "h": "MMM",
    "B": "MMMM",
    "j": "DDD",
    "z": "Z",
    "Z": "z",
    "T": "HH:mm:ss",
    "F": "yyyy-MM-dd",
    "D": "MM/dd/yy",
    "R": "HH:mm",
}


def _strftime_to_spark(fmt: str, variable: str) -> str:
    out: list[str] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            text = "".join(literal).replace("'", "''")
            out.append(f"'{text}'" if re.search(r"[A-Za-z]", text) else text)
            literal.clear()

    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch != "%":
            literal.append(ch)
            i += 1
            continue
        if fmt.startswith("%{msec_frac}", i) or fmt.startswith("%{usec_frac}", i):
            flush()
            out.append("SSS" if fmt[i + 2] == "m" else "SSSSSS")
            i += len("%{msec_frac}")
            continue
        directive = fmt[i + 1 : i + 2]
        if directive == "%":
            literal.append("%")
        elif directive in _STRFTIME:
            flush()
            out.append(_STRFTIME[directive])
        else:
            raise LogFormatError(
                f"time format in {variable!r}: strftime directive %{directive or '<end>'} cannot "
                "be parsed back; use %Y %m %d %H %M %S %z %b and similar numeric fields"
            )
        i += 2
    flush()
    return "".join(out)


@dataclass
class _Field:
    variable: str
    kind: str
    slot: str


def _nginx_field(name: str) -> _Field:
    variable = f"${name}"
    if name in _NGINX_VARS:
        kind, slot = _NGINX_VARS[name]
        return _Field(variable, kind, slot)
    if name.startswith("http_"):
        slot = _HEADER_SLOTS.get(name[5:], EXTRA_PREFIX + name)
        return _Field(variable, "value", slot)
    return _Field(variable, "value", EXTRA_PREFIX + name)


def _apache_field(variable: str, arg: str | None, letter: str) -> _Field:
    if arg is not None and letter == "t":
        for prefix in ("begin:", "end:"):
            arg = arg.removeprefix(prefix)
        special = {"sec": EPOCH_S, "msec": EPOCH_MS, "usec": EPOCH_US}
        if arg in special:
            return _Field(variable, "value", special[arg])
        if arg in ("msec_frac", "usec_frac"):
            return _Field(variable, "value", EXTRA_PREFIX + arg)
        return _Field(variable, "value", TIME_PATTERN_PREFIX + _strftime_to_spark(arg, variable))
    if arg is not None and letter == "T":
        units = {"s": DURATION_S, "ms": DURATION_MS, "us": DURATION_US}
        if arg not in units:
            raise LogFormatError(f"{variable!r}: %{{UNIT}}T takes s, ms or us, not {arg!r}")
        return _Field(variable, "value", units[arg])
    if arg is not None and letter in ("a", "h"):
        return _Field(variable, "value", REMOTE_ADDR if arg == "c" else EXTRA_PREFIX + arg)
    if arg is not None and letter in _APACHE_BRACED_PREFIX:
        name = re.sub(r"[^a-z0-9]+", "_", arg.lower())
        if letter == "i" and name in _HEADER_SLOTS:
            return _Field(variable, "value", _HEADER_SLOTS[name])
        return _Field(variable, "value", EXTRA_PREFIX + _APACHE_BRACED_PREFIX[letter] + name)
    if arg is not None and letter in ("p", "P"):
        return _Field(variable, "value", EXTRA_PREFIX + f"{letter}_{arg}")
    if letter in _APACHE_SIMPLE:
        kind, slot = _APACHE_SIMPLE[letter]
        return _Field(variable, kind, slot)
    raise LogFormatError(f"Apache LogFormat directive {variable!r} is not supported")


# --- tokenizers ---------------------------------------------------------------------------------

_NGINX_VAR_RE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_APACHE_DIRECTIVE_RE = re.compile(
    r"%(?:!?\d{3}(?:,\d{3})*)?[<>]?(?:\{([^}]*)\})?(\^t[io]|[A-Za-z%])"
)


def _tokenize_nginx(fmt: str) -> list[str | _Field]:
    tokens: list[str | _Field] = []
    pos = 0
    for match in _NGINX_VAR_RE.finditer(fmt):
        if match.start() > pos:
            tokens.append(fmt[pos : match.start()])
        tokens.append(_nginx_field(match.group(1) or match.group(2)))
        pos = match.end()
    if pos < len(fmt):
        tokens.append(fmt[pos:])
    if "$" in "".join(t for t in tokens if isinstance(t, str)):
        raise LogFormatError(f"nginx log_format {fmt!r} has a '$' that is not followed by a name")
    return tokens


def _tokenize_apache(fmt: str) -> list[str | _Field]:
    tokens: list[str | _Field] = []
    pos = 0
    i = 0
    while i < len(fmt):
        if fmt[i] != "%":
            i += 1
            continue
        match = _APACHE_DIRECTIVE_RE.match(fmt, i)
        if not match:
            raise LogFormatError(
                f"Apache LogFormat {fmt!r}: cannot read the directive at {fmt[i : i + 12]!r}"
            )
        if i > pos:
            tokens.append(fmt[pos:i])
        arg, letter = match.group(1), match.group(2)
        if letter == "%":
            tokens.append("%")
        else:
            tokens.append(_apache_field(match.group(0), arg, letter))
        pos = i = match.end()
    if pos < len(fmt):
        tokens.append(fmt[pos:])
    # Merge adjacent literals ("%%" produced its own token).
    merged: list[str | _Field] = []
    for token in tokens:
        if isinstance(token, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + token
        else:
            merged.append(token)
    return merged


# --- config-text handling ----------------------------------------------------------------------

_QUOTED_RE = re.compile(r"""'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(\S+)""", re.DOTALL)
_CONF_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _CONF_ESCAPES.get(m.group(1), m.group(1)), text)


def _nginx_format_text(text: str) -> tuple[str, Escape]:
    """The format string of a ``log_format`` directive (or of its bare string parts)."""
    body = text.strip()
    escape: Escape = "default"
    if body.startswith("log_format"):
        body = body[len("log_format") :].strip()
        name, _, body = body.partition(" ")
        if not name or not body.strip():
            raise LogFormatError("nginx log_format directive needs a name and a format string")
        body = body.strip()
        if body.startswith("escape="):
            value, _, body = body.partition(" ")
            value = value[len("escape=") :]
            if value not in ("default", "json", "none"):
                raise LogFormatError(f"nginx log_format escape={value} is not default/json/none")
            escape = value  # type: ignore[assignment]
    body = body.strip().removesuffix(";").strip()
    if body[:1] in ("'", '"'):
        parts = []
        for match in _QUOTED_RE.finditer(body):
            if match.group(3) is not None:
                raise LogFormatError(
                    f"nginx log_format: unquoted text {match.group(3)!r} between quoted parts"
                )
            quoted = match.group(1) if match.group(1) is not None else match.group(2)
            parts.append(_unquote(quoted))
        body = "".join(parts)
    return body, escape


def _apache_format_text(text: str) -> str:
    body = text.strip()
    if body.lower().startswith("logformat"):
        body = body[len("logformat") :].strip()
    if body[:1] == '"':
        match = re.match(r'"((?:[^"\\]|\\.)*)"', body)
        if not match:
            raise LogFormatError(f"Apache LogFormat string {body!r} has no closing quote")
        body = match.group(1)
    return _unquote(body)


# --- compiler ----------------------------------------------------------------------------------


def _field_pattern(field: _Field, delim: str | None, escaped: bool) -> tuple[str, list[str]]:
    if field.kind == "request":
        return _request(delim, escaped)
    if field.kind == "uri":
        return uri_pattern(delim)
    if field.kind == "path":
        return f"({_path(delim)})", [field.slot]
    if field.kind == "query":
        return f"({_query(delim)})", [field.slot]
    if field.kind == "apache_query":
        return f"\\??({_query(delim)})", [field.slot]
    if field.kind == "apache_time":
        return "\\[([^\\]\\x01]*+)\\]", [field.slot]
    return f"({_value(delim, escaped)})", [field.slot]


def _compile_tokens(
    name: str, flavor: Flavor, source: str, tokens: list[str | _Field], escaped: bool
) -> CompiledFormat:
    fields = [t for t in tokens if isinstance(t, _Field)]
    if not fields:
        raise LogFormatError(f"log format {name!r} ({source!r}) has no variables to parse")
    if any(SEP in t for t in tokens if isinstance(t, str)):
        raise LogFormatError(f"log format {name!r} contains the control character U+0001")

    # Segments: (literal before, field or None); the trailing literal closes the last segment.
    segments: list[tuple[str, _Field | None]] = []
    literal = ""
    for token in tokens:
        if isinstance(token, str):
            literal += token
        else:
            segments.append((literal, token))
            literal = ""
    trailing = literal

    # Fields after the status are optional (nested), so a line that lost its trailing fields
    # (a combined line without the user agent) still parses.
    status_index = max(
        (i for i, (_, f) in enumerate(segments) if f is not None and f.slot == STATUS),
        default=len(segments) - 1,
    )

    # The TAIL marker goes where a combined line differs from a common one: after the body
    # bytes when they follow the status, else right after the status.
    marker_index = status_index + 1
    if marker_index < len(segments) and segments[marker_index][1].slot == BODY_BYTES:  # type: ignore[union-attr]
        marker_index += 1

    used: set[str] = set()
    group_slots: list[str] = []
    parts: list[str] = []
    for i, (lit, field) in enumerate(segments):
        assert field is not None
        nxt = segments[i + 1][0] if i + 1 < len(segments) else trailing
        delim = nxt[0] if nxt else None
        if delim is None and i + 1 < len(segments):
            # Two variables back to back: only their own character sets can separate them.
            delim = " "
        pattern, slots = _field_pattern(field, delim, escaped)
        if any(s in used for s in slots):
            # Second field for the same meaning: keep it, but as an extra.
            pattern, slots = (
                f"({_value(delim, escaped)})",
                [EXTRA_PREFIX + field.variable.lstrip("$%").strip("{}<>")],
            )
        used.update(slots)
        # A literal's text before its first blank closes the previous field ('"' of '" "'),
        # so a line that ends after a quoted field still matches when later fields are gone.
        blank = re.search(r"\s", lit)
        closing, opening = (
            ("", lit) if blank is None or i == 0 else (lit[: blank.start()], lit[blank.start() :])
        )
        if parts:
            parts[-1] = (parts[-1][0], parts[-1][1] + re.escape(closing))
        lit_re = re.escape(opening)
        if i == marker_index and opening:
            # Capture the first character of the optional part: tells "present" from "absent".
            lit_re = f"({re.escape(opening[0])})" + re.escape(opening[1:])
            group_slots.append(TAIL)
        group_slots.extend(slots)
        parts.append((lit_re, pattern))

    regex = "^"
    optional_depth = 0
    for i, (lit_re, pattern) in enumerate(parts):
        if i > status_index:
            regex += "(?:"
            optional_depth += 1
        regex += lit_re + pattern
    regex += re.escape(trailing) + ")?" * optional_depth + "[ \\t]*+\\z"
    try:
        re.compile(regex.replace("*+", "*").replace("++", "+").replace("\\z", "\\Z"))
    except re.error as exc:  # pragma: no cover - our own building blocks are valid
        raise LogFormatError(f"log format {name!r} produced an invalid pattern: {exc}") from exc
    return CompiledFormat(
        name=name,
        flavor=flavor,
        source=source,
        regex=regex,
        group_slots=tuple(group_slots),
        variables=tuple(f.variable for f in fields),
    )


def compile_nginx_log_format(name: str, text: str) -> CompiledFormat:
    """Compile an nginx ``log_format`` directive, or just its (quoted or bare) format string."""
    fmt, escape = _nginx_format_text(text)
    if not fmt.strip():
        raise LogFormatError(f"nginx log_format {name!r} is empty")
    return _compile_tokens(name, "nginx", fmt, _tokenize_nginx(fmt), escaped=escape != "none")


def compile_apache_log_format(name: str, text: str) -> CompiledFormat:
    """Compile an Apache ``LogFormat`` string (optionally with ``LogFormat`` and its quotes)."""
    fmt = _apache_format_text(text)
    if not fmt.strip():
        raise LogFormatError(f"Apache LogFormat {name!r} is empty")
    return _compile_tokens(name, "apache", fmt, _tokenize_apache(fmt), escaped=True)


COMBINED_LOG_FORMAT = (
    "log_format combined '$remote_addr - $remote_user [$time_local] '\n"
    "                    '\"$request\" $status $body_bytes_sent '\n"
    '                    \'"$http_referer" "$http_user_agent"\';'
)
COMMON_LOG_FORMAT = (
    'log_format common \'$remote_addr - $remote_user [$time_local] "$request" '
    "$status $body_bytes_sent';"
)

# nginx's packaged nginx.conf logs this "main" format: combined plus X-Forwarded-For.
MAIN_LOG_FORMAT = (
    "log_format main '$remote_addr - $remote_user [$time_local] \"$request\" '\n"
    "                '$status $body_bytes_sent \"$http_referer\" '\n"
    '                \'"$http_user_agent" "$http_x_forwarded_for"\';'
)

COMBINED = compile_nginx_log_format("combined", COMBINED_LOG_FORMAT)
MAIN = compile_nginx_log_format("main", MAIN_LOG_FORMAT)
COMMON = compile_nginx_log_format("common", COMMON_LOG_FORMAT)
