"""The log_format / LogFormat compiler: directive handling, slots, patterns and errors."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from logiflow.config import CustomFormat, ParseSettings
from logiflow.errors import ConfigError, LogFormatError
from logiflow.etl.parse import log_format, slots
from logiflow.etl.parse.choose_format import compile_custom_formats

NGINX_TIMED = """
log_format timed '$remote_addr $host [$time_iso8601] "$request" '
                 '$status $body_bytes_sent rt=$request_time '
                 'urt="$upstream_response_time" "$http_user_agent"';
"""
APACHE_VHOST = (
    'LogFormat "%v:%p %h %l %u %t \\"%r\\" %>s %b %D \\"%{Referer}i\\" \\"%{User-Agent}i\\"" '
    "vhost_timed"
)


def groups(fmt: log_format.CompiledFormat, line: str) -> dict[str, str | None] | None:
    """Run the Java pattern with Python's re (same syntax for what we generate)."""
    match = re.match(fmt.regex.replace("\\z", "\\Z"), line)
    if match is None:
        return None
    return {slot: match.group(i + 1) for i, slot in enumerate(fmt.group_slots)}


def test_builtins_are_log_format_strings_compiled_by_the_same_compiler() -> None:
    assert log_format.COMBINED.flavor == "nginx"
    assert (
        log_format.compile_nginx_log_format("combined", log_format.COMBINED_LOG_FORMAT)
        == log_format.COMBINED
    )
    assert log_format.COMBINED.source == (
        '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
        '"$http_referer" "$http_user_agent"'
    )
    assert log_format.COMMON.variables == (
        "$remote_addr",
        "$remote_user",
        "$time_local",
        "$request",
        "$status",
        "$body_bytes_sent",
    )


def test_combined_groups_split_the_request_line() -> None:
    got = groups(
        log_format.COMBINED,
        '1.2.3.4 - bob [24/Nov/2026:22:04:15 +0530] "GET /a/b?x=1 HTTP/1.1" 200 5 "-" "curl/8"',
    )
    assert got is not None
    assert got[slots.REMOTE_ADDR] == "1.2.3.4"
    assert got[slots.REMOTE_USER] == "bob"
    assert got[slots.TIME_LOCAL] == "24/Nov/2026:22:04:15 +0530"
    assert (
        got[slots.METHOD],
        got[slots.URL_PATH],
        got[slots.URL_QUERY],
        got[slots.HTTP_VERSION],
    ) == (
        "GET",
        "/a/b",
        "x=1",
        "1.1",
    )
    assert got[slots.REQUEST_RAW] is None
    assert (got[slots.STATUS], got[slots.BODY_BYTES], got[slots.USER_AGENT]) == (
        "200",
        "5",
        "curl/8",
    )


def test_multi_line_nginx_directive_with_latency_variables() -> None:
    fmt = log_format.compile_nginx_log_format("timed", NGINX_TIMED)
    assert fmt.source.startswith("$remote_addr $host [$time_iso8601]")
    assert fmt.source.endswith('urt="$upstream_response_time" "$http_user_agent"')
    got = groups(
        fmt,
        '10.0.0.1 shop.example.com [2026-11-24T22:04:15+05:30] "GET / HTTP/2.0" 200 12 '
        'rt=0.123 urt="0.010, 0.002" "curl/8"',
    )
    assert got is not None
    assert got[slots.DURATION_S] == "0.123"
    assert got[slots.REQUEST_HOST] == "shop.example.com"
    assert got[slots.TIME_ISO8601] == "2026-11-24T22:04:15+05:30"
    assert got["extra:upstream_response_time"] == "0.010, 0.002"


def test_nginx_format_without_the_directive_prefix_and_braced_variables() -> None:
    bare = log_format.compile_nginx_log_format("x", "${remote_addr}|$status|$request_time")
    quoted = log_format.compile_nginx_log_format("x", "'${remote_addr}|$status' '|$request_time'")
    assert bare.regex == quoted.regex
    assert groups(bare, "1.2.3.4|200|0.5") == {
        slots.REMOTE_ADDR: "1.2.3.4",
        slots.STATUS: "200",
        slots.TAIL: "|",
        slots.DURATION_S: "0.5",
    }


def test_nginx_escape_parameter_is_read() -> None:
    fmt = log_format.compile_nginx_log_format(
        "j", "log_format j escape=none '$remote_addr \"$http_x\"';"
    )
    assert groups(fmt, '1.2.3.4 "a\\b"') == {slots.REMOTE_ADDR: "1.2.3.4", "extra:http_x": "a\\b"}
    with pytest.raises(LogFormatError, match="escape=weird"):
        log_format.compile_nginx_log_format("j", "log_format j escape=weird '$status';")


def test_apache_log_format_with_microsecond_latency_and_vhost() -> None:
    fmt = log_format.compile_apache_log_format("vhost_timed", APACHE_VHOST)
    assert fmt.flavor == "apache"
    got = groups(
        fmt,
        'www.example.com:443 2001:db8::1 - - [24/Nov/2026:21:00:30 -0700] "GET /x HTTP/1.1" '
        '200 2326 1520 "-" "Mozilla/5.0 \\"q\\""',
    )
    assert got is not None
    assert got[slots.DURATION_US] == "1520"
    assert got["extra:server_name"] == "www.example.com"
    assert got["extra:server_port"] == "443"
    assert got[slots.REMOTE_ADDR] == "2001:db8::1"
    assert got[slots.USER_AGENT] == 'Mozilla/5.0 \\"q\\"'


@pytest.mark.parametrize(
    ("directive", "slot"),
    [
        ("%T", slots.DURATION_S),
        ("%{ms}T", slots.DURATION_MS),
        ("%{us}T", slots.DURATION_US),
        ("%{msec}t", slots.EPOCH_MS),
        ("%{begin:sec}t", slots.EPOCH_S),
        ("%{X-Forwarded-For}i", slots.FORWARDED_FOR),
        ("%{Host}i", slots.REQUEST_HOST),
        ("%{UNIQUE_ID}e", "extra:env_unique_id"),
        ("%I", "extra:request_length"),
        ("%O", "extra:bytes_sent"),
        ("%V", slots.REQUEST_HOST),
        ("%m", slots.METHOD),
        ("%U", slots.URL_PATH),
        ("%H", slots.HTTP_VERSION),
        ("%400,501{User-agent}i", slots.USER_AGENT),
        ("%{%Y-%m-%dT%H:%M:%S%z}t", "time:yyyy-MM-dd'T'HH:mm:ssZ"),
    ],
)
def test_apache_directives_map_to_slots(directive: str, slot: str) -> None:
    fmt = log_format.compile_apache_log_format("x", f"%h {directive}")
    assert fmt.group_slots[-1] == slot


def test_apache_path_and_query_back_to_back() -> None:
    fmt = log_format.compile_apache_log_format("x", "%m %U%q %>s")
    assert groups(fmt, "GET /a/b?c=1 200") == {
        slots.METHOD: "GET",
        slots.URL_PATH: "/a/b",
        slots.URL_QUERY: "c=1",
        slots.STATUS: "200",
    }


def test_fields_after_status_are_optional() -> None:
    got = groups(
        log_format.COMBINED, '1.2.3.4 - - [24/Nov/2026:22:04:15 +0000] "GET / HTTP/1.1" 200 5 "-"'
    )
    assert got is not None
    assert (got[slots.TAIL], got[slots.REFERRER], got[slots.USER_AGENT]) == (" ", "-", None)
    common = groups(
        log_format.COMBINED, '1.2.3.4 - - [24/Nov/2026:22:04:15 +0000] "GET / HTTP/1.1" 200 5'
    )
    assert common is not None
    assert common[slots.TAIL] is None


@pytest.mark.parametrize(
    ("compile_", "text", "message"),
    [
        (log_format.compile_nginx_log_format, "", "empty"),
        (
            log_format.compile_nginx_log_format,
            "log_format main",
            "needs a name and a format string",
        ),
        (log_format.compile_nginx_log_format, "just text", "no variables"),
        (log_format.compile_nginx_log_format, "$remote_addr $ x", "'\\$' that is not followed"),
        (log_format.compile_nginx_log_format, "'$status' junk '$status'", "unquoted text 'junk'"),
        (log_format.compile_apache_log_format, "%h %Z", "'%Z' is not supported"),
        (log_format.compile_apache_log_format, "%h %{%a %d}t", "%a cannot be parsed back"),
        (log_format.compile_apache_log_format, "%h %{minutes}T", "takes s, ms or us"),
        (log_format.compile_apache_log_format, '"%h %>s', "no closing quote"),
        (log_format.compile_apache_log_format, "%h \x01 %s", "U\\+0001"),
    ],
)
def test_bad_formats_raise_log_format_error(
    compile_: Callable[[str, str], log_format.CompiledFormat], text: str, message: str
) -> None:
    with pytest.raises(LogFormatError, match=message):
        compile_("bad", text)


def test_custom_formats_from_config() -> None:
    settings = ParseSettings(
        custom_formats={
            "timed": CustomFormat(nginx_log_format=NGINX_TIMED),
            "vhost": CustomFormat(apache_log_format=APACHE_VHOST),
        }
    )
    compiled = compile_custom_formats(settings)
    assert list(compiled) == ["timed", "vhost"]
    assert compiled["vhost"].flavor == "apache"


@pytest.mark.parametrize(
    ("custom", "message"),
    [
        ({"combined": CustomFormat(nginx_log_format="$status")}, "built-in format name"),
        ({"x": CustomFormat()}, "exactly one of"),
        (
            {"x": CustomFormat(nginx_log_format="$status", apache_log_format="%s")},
            "exactly one of",
        ),
        ({"x": CustomFormat(apache_log_format="%h %Z")}, "parse.custom_formats.x"),
    ],
)
def test_custom_format_config_errors(custom: dict[str, CustomFormat], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        compile_custom_formats(ParseSettings(custom_formats=custom))
