"""Reads a pasted nginx ``log_format`` directive or Apache ``LogFormat`` string into tokens.

A format is literal text and variables; each variable is looked up here in the tables of what
nginx variables and Apache directives mean, and becomes a ``Variable`` with the slot it fills
(see ``slots``) and the kind of pattern that reads it (see ``log_format``). Directive syntax
(``log_format name escape=... '...' '...';``, ``LogFormat "..." name``, quoting, ``\\n``
escapes) is undone first, so users can paste the line from their server's config as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from logiflow.errors import LogFormatError
from logiflow.etl.parse.slots import (
    BODY_BYTES,
    DURATION_MS,
    DURATION_S,
    DURATION_US,
    EPOCH_MS,
    EPOCH_S,
    EPOCH_US,
    EXTRA_PREFIX,
    FORWARDED_FOR,
    HOSTNAME,
    HTTP_VERSION,
    METHOD,
    REFERRER,
    REMOTE_ADDR,
    REMOTE_USER,
    REQUEST_HOST,
    STATUS,
    TIME_ISO8601,
    TIME_LOCAL,
    TIME_PATTERN_PREFIX,
    TRACE_ID,
    URL_PATH,
    URL_QUERY,
    USER_AGENT,
)

Escape = Literal["default", "json", "none"]

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
class Variable:
    """One variable of a format: as written (``$status``, ``%>s``), its kind, its slot.

    ``kind`` picks the pattern that reads it: "value" (one group), "request", "uri", "path",
    "query", "apache_time" or "apache_query" (see ``log_format``).
    """

    variable: str
    kind: str
    slot: str


def _nginx_variable(name: str) -> Variable:
    variable = f"${name}"
    if name in _NGINX_VARS:
        kind, slot = _NGINX_VARS[name]
        return Variable(variable, kind, slot)
    if name.startswith("http_"):
        slot = _HEADER_SLOTS.get(name[5:], EXTRA_PREFIX + name)
        return Variable(variable, "value", slot)
    return Variable(variable, "value", EXTRA_PREFIX + name)


def _apache_time_variable(variable: str, arg: str) -> Variable:
    """``%{format}t``: epoch units, sub-second fractions, or a strftime pattern."""
    for prefix in ("begin:", "end:"):
        arg = arg.removeprefix(prefix)
    special = {"sec": EPOCH_S, "msec": EPOCH_MS, "usec": EPOCH_US}
    if arg in special:
        return Variable(variable, "value", special[arg])
    if arg in ("msec_frac", "usec_frac"):
        return Variable(variable, "value", EXTRA_PREFIX + arg)
    return Variable(variable, "value", TIME_PATTERN_PREFIX + _strftime_to_spark(arg, variable))


def _apache_braced_variable(variable: str, arg: str, letter: str) -> Variable | None:
    """A directive with a ``{argument}``, or None when the letter takes none."""
    if letter == "t":
        return _apache_time_variable(variable, arg)
    if letter == "T":
        units = {"s": DURATION_S, "ms": DURATION_MS, "us": DURATION_US}
        if arg not in units:
            raise LogFormatError(f"{variable!r}: %{{UNIT}}T takes s, ms or us, not {arg!r}")
        return Variable(variable, "value", units[arg])
    if letter in ("a", "h"):
        return Variable(variable, "value", REMOTE_ADDR if arg == "c" else EXTRA_PREFIX + arg)
    if letter in _APACHE_BRACED_PREFIX:
        name = re.sub(r"[^a-z0-9]+", "_", arg.lower())
        if letter == "i" and name in _HEADER_SLOTS:
            return Variable(variable, "value", _HEADER_SLOTS[name])
        return Variable(variable, "value", EXTRA_PREFIX + _APACHE_BRACED_PREFIX[letter] + name)
    if letter in ("p", "P"):
        return Variable(variable, "value", EXTRA_PREFIX + f"{letter}_{arg}")
    return None


def _apache_variable(variable: str, arg: str | None, letter: str) -> Variable:
    if arg is not None:
        braced = _apache_braced_variable(variable, arg, letter)
        if braced is not None:
            return braced
    if letter in _APACHE_SIMPLE:
        kind, slot = _APACHE_SIMPLE[letter]
        return Variable(variable, kind, slot)
    raise LogFormatError(f"Apache LogFormat directive {variable!r} is not supported")


# --- tokenizers ---------------------------------------------------------------------------------

_NGINX_VAR_RE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_APACHE_DIRECTIVE_RE = re.compile(
    r"%(?:!?\d{3}(?:,\d{3})*)?[<>]?(?:\{([^}]*)\})?(\^t[io]|[A-Za-z%])"
)


def tokenize_nginx(fmt: str) -> list[str | Variable]:
    """An nginx format string as literal text and ``$variables``."""
    tokens: list[str | Variable] = []
    pos = 0
    for match in _NGINX_VAR_RE.finditer(fmt):
        if match.start() > pos:
            tokens.append(fmt[pos : match.start()])
        tokens.append(_nginx_variable(match.group(1) or match.group(2)))
        pos = match.end()
    if pos < len(fmt):
        tokens.append(fmt[pos:])
    if "$" in "".join(t for t in tokens if isinstance(t, str)):
        raise LogFormatError(f"nginx log_format {fmt!r} has a '$' that is not followed by a name")
    return tokens


def tokenize_apache(fmt: str) -> list[str | Variable]:
    """An Apache format string as literal text and ``%`` directives (adjacent literals merged)."""
    tokens: list[str | Variable] = []
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
            tokens.append(_apache_variable(match.group(0), arg, letter))
        pos = i = match.end()
    if pos < len(fmt):
        tokens.append(fmt[pos:])
    # Merge adjacent literals ("%%" produced its own token).
    merged: list[str | Variable] = []
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


def nginx_format_text(text: str) -> tuple[str, Escape]:
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


def apache_format_text(text: str) -> str:
    """The format string of a ``LogFormat`` line (or of the bare, possibly quoted, string)."""
    body = text.strip()
    if body.lower().startswith("logformat"):
        body = body[len("logformat") :].strip()
    if body[:1] == '"':
        match = re.match(r'"((?:[^"\\]|\\.)*)"', body)
        if not match:
            raise LogFormatError(f"Apache LogFormat string {body!r} has no closing quote")
        body = match.group(1)
    return _unquote(body)
