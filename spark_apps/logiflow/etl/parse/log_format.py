"""Compiles an nginx ``log_format`` directive or an Apache ``LogFormat`` string into a parser.

Users paste the format their web server already uses (read into tokens by
``log_format_text``); this module turns it into ONE Java regex (run once per line by the
``match_access`` stage) and the list of slots (see ``slots``) its capture groups fill, so one
set of column expressions converts every format.

The built-in ``combined`` and ``common`` formats are nginx ``log_format`` strings compiled here
too: one mechanism. Their patterns accept both escaping styles (nginx ``\\x22``, Apache
``\\"``), so they read nginx and Apache logs alike.

Regex design, for speed and safety on hostile input: quantifiers are possessive (no
catastrophic backtracking), fields stop at the first character of the literal that follows
them, and no pattern ever matches ``SEP`` (U+0001), which ``match_access`` uses to join the
groups of a match into one string that is split once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from logiflow.errors import LogFormatError
from logiflow.etl.parse.log_format_text import (
    Variable,
    apache_format_text,
    nginx_format_text,
    tokenize_apache,
    tokenize_nginx,
)
from logiflow.etl.parse.slots import (
    BODY_BYTES,
    EXTRA_PREFIX,
    HTTP_VERSION,
    METHOD,
    REQUEST_RAW,
    SEP,
    STATUS,
    TAIL,
    URL_DOMAIN,
    URL_ORIGINAL,
    URL_PATH,
    URL_QUERY,
)
from logiflow.regex_safety import backtracking_problem

Flavor = Literal["nginx", "apache"]
Segment = tuple[str, Variable]  # the literal text before a variable, and the variable
RegexPart = tuple[str, str]  # the literal's regex, the variable's pattern


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


# --- compiler ----------------------------------------------------------------------------------


def _variable_pattern(
    variable: Variable, delim: str | None, escaped: bool
) -> tuple[str, list[str]]:
    """The pattern that reads one variable up to ``delim``, and the slots of its groups."""
    if variable.kind == "request":
        return _request(delim, escaped)
    if variable.kind == "uri":
        return uri_pattern(delim)
    if variable.kind == "path":
        return f"({_path(delim)})", [variable.slot]
    if variable.kind == "query":
        return f"({_query(delim)})", [variable.slot]
    if variable.kind == "apache_query":
        return f"\\??({_query(delim)})", [variable.slot]
    if variable.kind == "apache_time":
        return "\\[([^\\]\\x01]*+)\\]", [variable.slot]
    return f"({_value(delim, escaped)})", [variable.slot]


def _compile_tokens(
    name: str, flavor: Flavor, source: str, tokens: list[str | Variable], escaped: bool
) -> CompiledFormat:
    variables = [t for t in tokens if isinstance(t, Variable)]
    if not variables:
        raise LogFormatError(f"log format {name!r} ({source!r}) has no variables to parse")
    if any(SEP in t for t in tokens if isinstance(t, str)):
        raise LogFormatError(f"log format {name!r} contains the control character U+0001")
    segments, trailing = _segments(tokens)
    status_index = _status_index(segments)
    parts, group_slots = _regex_parts(segments, trailing, status_index, escaped)
    regex = _anchored_regex(parts, trailing, status_index)
    try:
        re.compile(regex.replace("*+", "*").replace("++", "+").replace("\\z", "\\Z"))
    except re.error as exc:  # pragma: no cover - our own building blocks are valid
        raise LogFormatError(f"log format {name!r} produced an invalid pattern: {exc}") from exc
    problem = backtracking_problem(regex)
    if problem:  # pragma: no cover - our building blocks are possessive; this keeps them so
        raise LogFormatError(f"log format {name!r} produced a backtracking pattern: {problem}")
    return CompiledFormat(
        name=name,
        flavor=flavor,
        source=source,
        regex=regex,
        group_slots=tuple(group_slots),
        variables=tuple(v.variable for v in variables),
    )


def _segments(tokens: list[str | Variable]) -> tuple[list[Segment], str]:
    """(literal before, variable) pairs, and the trailing literal that closes the last one."""
    segments: list[Segment] = []
    literal = ""
    for token in tokens:
        if isinstance(token, str):
            literal += token
        else:
            segments.append((literal, token))
            literal = ""
    return segments, literal


def _status_index(segments: list[Segment]) -> int:
    """The segment of the status: the variables after it are optional (nested), so a line that
    lost its trailing fields (a combined line without the user agent) still parses."""
    return max(
        (i for i, (_, v) in enumerate(segments) if v.slot == STATUS),
        default=len(segments) - 1,
    )


def _regex_parts(
    segments: list[Segment], trailing: str, status_index: int, escaped: bool
) -> tuple[list[RegexPart], list[str]]:
    """Each segment's (literal regex, variable pattern), and the slot of every group in order."""
    # The TAIL marker goes where a combined line differs from a common one: after the body
    # bytes when they follow the status, else right after the status.
    marker_index = status_index + 1
    if marker_index < len(segments) and segments[marker_index][1].slot == BODY_BYTES:
        marker_index += 1

    used: set[str] = set()
    group_slots: list[str] = []
    parts: list[RegexPart] = []
    for i, (lit, variable) in enumerate(segments):
        nxt = segments[i + 1][0] if i + 1 < len(segments) else trailing
        delim = nxt[0] if nxt else None
        if delim is None and i + 1 < len(segments):
            # Two variables back to back: only their own character sets can separate them.
            delim = " "
        pattern, slots = _variable_pattern(variable, delim, escaped)
        if any(s in used for s in slots):
            # Second variable for the same meaning: keep it, but as an extra.
            pattern, slots = (
                f"({_value(delim, escaped)})",
                [EXTRA_PREFIX + variable.variable.lstrip("$%").strip("{}<>")],
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
    return parts, group_slots


def _anchored_regex(parts: list[RegexPart], trailing: str, status_index: int) -> str:
    """The whole line: the parts after the status nested as optional groups."""
    regex = "^"
    optional_depth = 0
    for i, (lit_re, pattern) in enumerate(parts):
        if i > status_index:
            regex += "(?:"
            optional_depth += 1
        regex += lit_re + pattern
    return regex + re.escape(trailing) + ")?" * optional_depth + "[ \\t]*+\\z"


def compile_nginx_log_format(name: str, text: str) -> CompiledFormat:
    """Compile an nginx ``log_format`` directive, or just its (quoted or bare) format string."""
    fmt, escape = nginx_format_text(text)
    if not fmt.strip():
        raise LogFormatError(f"nginx log_format {name!r} is empty")
    return _compile_tokens(name, "nginx", fmt, tokenize_nginx(fmt), escaped=escape != "none")


def compile_apache_log_format(name: str, text: str) -> CompiledFormat:
    """Compile an Apache ``LogFormat`` string (optionally with ``LogFormat`` and its quotes)."""
    fmt = apache_format_text(text)
    if not fmt.strip():
        raise LogFormatError(f"Apache LogFormat {name!r} is empty")
    return _compile_tokens(name, "apache", fmt, tokenize_apache(fmt), escaped=True)


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
