"""Access-log parsing: column expressions first, then combined/common/main/custom formats and
every edge case real access logs contain, batched into few DataFrames to keep Spark time low."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from chispa import assert_column_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from logiflow.config import CustomFormat, ParseSettings
from logiflow.contract import ecs
from logiflow.etl.parse.unify_slots import nullify, unescape

ParseRows = Callable[..., list[dict[str, Any]]]
UTC = dt.UTC


def test_unescape_column(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [
            ("plain", "plain"),
            ("nginx \\x22quoted\\x22", 'nginx "quoted"'),
            ('apache \\"quoted\\"', 'apache "quoted"'),
            ("back\\\\slash", "back\\slash"),
            ("utf8 caf\\xC3\\xA9", "utf8 café"),
            ("100% a+b \\x22", '100% a+b "'),
            ("bad \\xZZ escape", "bad \\xZZ escape"),
            (None, None),
        ],
        "raw string, expected string",
    ).withColumn("got", unescape(F.col("raw")))
    assert_column_equality(df, "got", "expected")


def test_nullify_column(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [("-", None), ("", None), ("x", "x"), ("--", "--"), (None, None)],
        "raw string, expected string",
    ).withColumn("got", nullify(F.col("raw")))
    assert_column_equality(df, "got", "expected")


EDGE_LINES = {
    "ipv4": '203.0.113.7 - alice [24/Nov/2026:22:04:15 +0530] "GET /api/users/123?x=1&y=2 '
    'HTTP/1.1" 200 512 "https://www.example.com/" "Mozilla/5.0 (X11; Linux x86_64)"',
    "ipv6_full": "2001:0db8:85a3:0000:0000:8a2e:0370:7334 - - [24/Nov/2026:22:04:15 -0700] "
    '"GET / HTTP/1.1" 200 1 "-" "curl/8"',
    "ipv6_short": '2001:db8::1 - - [24/Nov/2026:22:04:15 +0000] "GET / HTTP/1.1" 200 1 "-" "c"',
    "ipv6_loopback": '::1 - - [24/Nov/2026:22:04:15 +0000] "GET / HTTP/1.1" 200 1 "-" "c"',
    "ipv4_mapped": '::ffff:1.2.3.4 - - [24/Nov/2026:22:04:15 +0000] "GET / HTTP/1.1" 200 1 "-" "c"',
    "hostname": 'unix: - - [24/Nov/2026:22:04:15 +0000] "GET / HTTP/1.1" 200 1 "-" "c"',
    "nginx_escapes": '1.2.3.4 - - [24/Nov/2026:22:04:15 +0000] "GET /s?q=\\x22ab\\x22 HTTP/1.1"'
    ' 200 9 "https://x.example/?r=\\x22r\\x22" "UA \\x22quoted\\x22"',
    "apache_escapes": '1.2.3.4 - - [24/Nov/2026:22:04:15 +0000] "GET /s?q=\\"a\\" HTTP/1.1"'
    ' 200 9 "https://x.example/\\"r\\"" "UA \\"quoted\\""',
    "empty_referrer": '1.2.3.4 - - [24/Nov/2026:22:04:15 +0000] "HEAD /healthz HTTP/1.1" 200 -'
    ' "" "kube-probe/1.30"',
    "absolute_uri": '1.2.3.4 - - [24/Nov/2026:22:04:15 +0000] "GET http://example.com:8080/a/b?c=1'
    ' HTTP/1.1" 200 5 "-" "c"',
    "absolute_ipv6_uri": '1.2.3.4 - - [24/Nov/2026:22:04:15 +0000] "GET https://[2001:db8::2]/p'
    ' HTTP/1.1" 200 5 "-" "c"',
    "tls_handshake": "198.51.100.23 - - [24/Nov/2026:22:04:15 +0000] "
    '"\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03" 400 157 "-" "-"',
    "scanner_junk": '45.155.205.233 - - [24/Nov/2026:22:04:15 +0000] "SSH-2.0-Go" 400 157 "-" "-"',
    "empty_request": '45.155.205.233 - - [24/Nov/2026:22:04:15 +0000] "" 400 0 "-" "-"',
    "no_user_agent": '1.2.3.4 - - [24/Nov/2026:22:04:15 +0000] "GET /a HTTP/1.1" 200 5 "-"',
    "common": '1.2.3.4 - bob [24/Nov/2026:22:04:15 +0000] "POST /login HTTP/1.0" 302 0',
    "common_no_bytes": '1.2.3.4 - - [24/Nov/2026:22:04:15 +0000] "GET /a HTTP/1.1" 499',
    "http09": '1.2.3.4 - - [24/Nov/2026:22:04:15 +0000] "GET /old" 200 5 "-" "c"',
    "main_xff": '10.244.1.9 - - [24/Nov/2026:22:04:15 +0000] "GET /x HTTP/2.0" 200 5 "-" "c" '
    '"1.2.3.4, 10.0.0.1"',
    "main_xff_ipv6": '10.244.1.9 - - [24/Nov/2026:22:04:15 +0000] "GET /x HTTP/2.0" 200 5 "-" "c"'
    ' "2001:db8::5"',
    "main_xff_dash": '10.244.1.9 - - [24/Nov/2026:22:04:15 +0000] "GET /x HTTP/2.0" 200 5 "-" "c"'
    ' "-"',
    "trailing_space": '1.2.3.4 - - [24/Nov/2026:22:04:15 +0000] "GET / HTTP/1.1" 200 5 "-" "c"  ',
    "bad_day": '1.2.3.4 - - [32/Nov/2026:22:04:15 +0000] "GET / HTTP/1.1" 200 5 "-" "c"',
    "bad_status": '1.2.3.4 - - [24/Nov/2026:22:04:15 +0000] "GET / HTTP/1.1" OK 5 "-" "c"',
    "bad_bytes": '1.2.3.4 - - [24/Nov/2026:22:04:15 +0000] "GET / HTTP/1.1" 200 5kB "-" "c"',
    "garbage": "this is not a log line",
}


@pytest.fixture(scope="module")
def edge(parse_rows: ParseRows) -> dict[str, dict[str, Any]]:
    rows = parse_rows(list(EDGE_LINES.values()))
    return dict(zip(EDGE_LINES, rows, strict=True))


def test_combined_line_maps_to_ecs(edge: dict[str, dict[str, Any]]) -> None:
    row = edge["ipv4"]
    assert row[ecs.OUTCOME] == ecs.OUTCOME_INDEXED
    assert row[ecs.ERROR_MESSAGE] is None
    assert row[ecs.TIMESTAMP] == dt.datetime(2026, 11, 24, 16, 34, 15)  # +0530 -> UTC
    assert row[ecs.SOURCE_IP] == row[ecs.SOURCE_ADDRESS] == "203.0.113.7"
    assert row[ecs.CLIENT_IP] == "203.0.113.7"
    assert row[ecs.USER_NAME] == "alice"
    assert row[ecs.HTTP_REQUEST_METHOD] == "GET"
    assert row[ecs.HTTP_VERSION] == "1.1"
    assert row[ecs.URL_ORIGINAL] == "/api/users/123?x=1&y=2"
    assert row[ecs.URL_PATH] == "/api/users/123"
    assert row[ecs.URL_QUERY] == "x=1&y=2"
    assert row[ecs.URL_DOMAIN] is None
    assert row[ecs.HTTP_RESPONSE_STATUS_CODE] == 200
    assert row[ecs.HTTP_RESPONSE_BODY_BYTES] == 512
    assert row[ecs.HTTP_REQUEST_REFERRER] == "https://www.example.com/"
    assert row[ecs.USER_AGENT_ORIGINAL] == "Mozilla/5.0 (X11; Linux x86_64)"
    assert row[ecs.EVENT_DURATION] is None
    assert row[ecs.EVENT_DATASET] == "access.combined"
    assert row[ecs.EXTRA] is None
    assert row[ecs.KAFKA_TIMESTAMP] != row[ecs.TIMESTAMP]  # event time, not Kafka time


@pytest.mark.parametrize(
    ("case", "ip"),
    [
        ("ipv6_full", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"),
        ("ipv6_short", "2001:db8::1"),
        ("ipv6_loopback", "::1"),
        ("ipv4_mapped", "::ffff:1.2.3.4"),
    ],
)
def test_ipv6_clients(edge: dict[str, dict[str, Any]], case: str, ip: str) -> None:
    assert edge[case][ecs.OUTCOME] == ecs.OUTCOME_INDEXED
    assert edge[case][ecs.SOURCE_IP] == ip


def test_offset_minus_0700_converted_to_utc(edge: dict[str, dict[str, Any]]) -> None:
    assert edge["ipv6_full"][ecs.TIMESTAMP] == dt.datetime(2026, 11, 25, 5, 4, 15)


def test_non_ip_remote_address_is_kept_but_not_an_ip(edge: dict[str, dict[str, Any]]) -> None:
    row = edge["hostname"]
    assert row[ecs.OUTCOME] == ecs.OUTCOME_INDEXED
    assert row[ecs.SOURCE_ADDRESS] == "unix:"
    assert row[ecs.SOURCE_IP] is None


@pytest.mark.parametrize("case", ["nginx_escapes", "apache_escapes"])
def test_escaped_quotes_are_unescaped(edge: dict[str, dict[str, Any]], case: str) -> None:
    row = edge[case]
    assert row[ecs.OUTCOME] == ecs.OUTCOME_INDEXED
    assert row[ecs.USER_AGENT_ORIGINAL] == 'UA "quoted"'
    assert row[ecs.URL_PATH] == "/s"
    assert row[ecs.URL_QUERY] in ('q="ab"', 'q="a"')
    assert '"r"' in row[ecs.HTTP_REQUEST_REFERRER]


def test_empty_referrer_and_dash_bytes(edge: dict[str, dict[str, Any]]) -> None:
    row = edge["empty_referrer"]
    assert row[ecs.OUTCOME] == ecs.OUTCOME_INDEXED
    assert row[ecs.HTTP_REQUEST_REFERRER] is None
    assert row[ecs.HTTP_RESPONSE_BODY_BYTES] is None
    assert row[ecs.HTTP_REQUEST_METHOD] == "HEAD"
    assert edge["ipv6_short"][ecs.HTTP_REQUEST_REFERRER] is None  # "-"


def test_absolute_uri_in_request_line(edge: dict[str, dict[str, Any]]) -> None:
    row = edge["absolute_uri"]
    assert row[ecs.URL_ORIGINAL] == "http://example.com:8080/a/b?c=1"
    assert row[ecs.URL_DOMAIN] == "example.com"
    assert row[ecs.URL_PATH] == "/a/b"
    assert row[ecs.URL_QUERY] == "c=1"
    assert edge["absolute_ipv6_uri"][ecs.URL_DOMAIN] == "[2001:db8::2]"
    assert edge["absolute_ipv6_uri"][ecs.URL_PATH] == "/p"


@pytest.mark.parametrize("case", ["tls_handshake", "scanner_junk", "empty_request"])
def test_non_http_request_lines_are_indexed_with_raw_request(
    edge: dict[str, dict[str, Any]], case: str
) -> None:
    row = edge[case]
    assert row[ecs.OUTCOME] == ecs.OUTCOME_INDEXED
    assert row[ecs.HTTP_RESPONSE_STATUS_CODE] == 400
    assert row[ecs.HTTP_REQUEST_METHOD] is None
    assert row[ecs.URL_PATH] is None
    assert row[ecs.URL_ORIGINAL] is None
    raw = EDGE_LINES[case].split('"')[1]
    assert (row[ecs.EXTRA] or {}).get("request") == (raw or None)


def test_tls_bytes_are_kept_as_logged(edge: dict[str, dict[str, Any]]) -> None:
    assert edge["tls_handshake"][ecs.EXTRA] == {
        "request": "\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03"
    }


def test_missing_trailing_fields(edge: dict[str, dict[str, Any]]) -> None:
    row = edge["no_user_agent"]
    assert row[ecs.OUTCOME] == ecs.OUTCOME_INDEXED
    assert row[ecs.USER_AGENT_ORIGINAL] is None
    assert row[ecs.EVENT_DATASET] == "access.combined"
    no_bytes = edge["common_no_bytes"]
    assert no_bytes[ecs.OUTCOME] == ecs.OUTCOME_INDEXED
    assert no_bytes[ecs.HTTP_RESPONSE_STATUS_CODE] == 499
    assert no_bytes[ecs.HTTP_RESPONSE_BODY_BYTES] is None


def test_common_lines_are_detected_as_common(edge: dict[str, dict[str, Any]]) -> None:
    row = edge["common"]
    assert row[ecs.EVENT_DATASET] == "access.common"
    assert (row[ecs.USER_NAME], row[ecs.HTTP_VERSION]) == ("bob", "1.0")
    assert row[ecs.HTTP_RESPONSE_BODY_BYTES] == 0


def test_request_without_protocol(edge: dict[str, dict[str, Any]]) -> None:
    row = edge["http09"]
    assert (row[ecs.HTTP_REQUEST_METHOD], row[ecs.URL_PATH]) == ("GET", "/old")
    assert row[ecs.HTTP_VERSION] is None


def test_x_forwarded_for_lists(edge: dict[str, dict[str, Any]]) -> None:
    row = edge["main_xff"]
    assert row[ecs.EVENT_DATASET] == "access.main"
    assert row[ecs.SOURCE_IP] == "10.244.1.9"
    assert row[ecs.CLIENT_IP] == "1.2.3.4"
    assert edge["main_xff_ipv6"][ecs.CLIENT_IP] == "2001:db8::5"
    assert edge["main_xff_dash"][ecs.CLIENT_IP] == "10.244.1.9"


def test_trailing_whitespace_is_tolerated(edge: dict[str, dict[str, Any]]) -> None:
    assert edge["trailing_space"][ecs.OUTCOME] == ecs.OUTCOME_INDEXED


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("bad_day", "unparseable timestamp '32/Nov/2026:22:04:15 +0000'"),
        ("bad_status", "status 'OK' is not a number"),
        ("bad_bytes", "body bytes '5kB' is not a number"),
        ("garbage", "no format matched"),
    ],
)
def test_bad_lines_become_dead_letters(
    edge: dict[str, dict[str, Any]], case: str, reason: str
) -> None:
    row = edge[case]
    assert row[ecs.OUTCOME] == ecs.OUTCOME_DEAD_LETTER
    assert row[ecs.ERROR_MESSAGE] == reason
    assert row[ecs.EVENT_ORIGINAL] == EDGE_LINES[case]
    # Nothing half-parsed on a dead letter.
    assert row[ecs.TIMESTAMP] is None
    assert row[ecs.HTTP_RESPONSE_STATUS_CODE] is None


NGINX_CONF = """
    log_format timed '$remote_addr $host [$time_iso8601] "$request" '
                     '$status $body_bytes_sent rt=$request_time '
                     'urt="$upstream_response_time" "$http_user_agent" $request_id';
"""
HTTPD_CONF = (
    'LogFormat "%v:%p %h %l %u %t \\"%r\\" %>s %b %D \\"%{Referer}i\\" \\"%{User-Agent}i\\"" '
    "vhost_timed"
)
APACHE_ISO = '%a [%{%Y-%m-%d %H:%M:%S %z}t] "%m %U%q %H" %>s %B %{ms}T "%{X-Forwarded-For}i"'
APACHE_EPOCH = '%h %{msec}t "%r" %s %b %T'


def test_custom_formats_from_real_config_snippets(parse_rows: ParseRows) -> None:
    settings = ParseSettings(
        custom_formats={
            "timed": CustomFormat(nginx_log_format=NGINX_CONF),
            "vhost_timed": CustomFormat(apache_log_format=HTTPD_CONF),
            "iso": CustomFormat(apache_log_format=APACHE_ISO),
            "epoch": CustomFormat(apache_log_format=APACHE_EPOCH),
        }
    )
    lines = [
        '10.0.0.1 shop.example.com:8443 [2026-11-24T22:04:15+05:30] "GET /cart?id=7 HTTP/2.0" '
        '200 512 rt=0.123 urt="0.010, 0.002" "curl/8.5" 9f8e7d6c',
        'www.example.com:443 2001:db8::1 - - [24/Nov/2026:21:00:30 -0700] "GET /x HTTP/1.1" '
        '200 2326 1520 "-" "Mozilla/5.0"',
        '192.0.2.1 [2026-11-24 22:04:15 +0100] "PUT /items/9?force=1 HTTP/1.1" 204 0 17 '
        '"198.51.100.7, 10.0.0.1"',
        '192.0.2.1 1795557855123 "GET / HTTP/1.1" 200 5 2',
    ]
    nginx, apache, iso, epoch = parse_rows(lines, settings)

    assert nginx[ecs.EVENT_DATASET] == "custom.timed"
    assert nginx[ecs.EVENT_DURATION] == 123_000_000
    assert nginx[ecs.TIMESTAMP] == dt.datetime(2026, 11, 24, 16, 34, 15)
    assert nginx[ecs.URL_DOMAIN] == "shop.example.com"
    assert nginx[ecs.EXTRA] == {
        "upstream_response_time": "0.010, 0.002",
        "request_id": "9f8e7d6c",
    }

    assert apache[ecs.EVENT_DATASET] == "custom.vhost_timed"
    assert apache[ecs.EVENT_DURATION] == 1_520_000
    assert apache[ecs.SOURCE_IP] == "2001:db8::1"
    assert apache[ecs.TIMESTAMP] == dt.datetime(2026, 11, 25, 4, 0, 30)
    assert apache[ecs.EXTRA] == {"server_name": "www.example.com", "server_port": "443"}

    assert iso[ecs.EVENT_DATASET] == "custom.iso"
    assert iso[ecs.TIMESTAMP] == dt.datetime(2026, 11, 24, 21, 4, 15)
    assert (iso[ecs.HTTP_REQUEST_METHOD], iso[ecs.URL_PATH], iso[ecs.URL_QUERY]) == (
        "PUT",
        "/items/9",
        "force=1",
    )
    assert iso[ecs.HTTP_VERSION] == "1.1"
    assert iso[ecs.EVENT_DURATION] == 17_000_000
    assert iso[ecs.CLIENT_IP] == "198.51.100.7"

    assert epoch[ecs.TIMESTAMP] == dt.datetime(2026, 11, 24, 22, 4, 15, 123000)
    assert epoch[ecs.EVENT_DURATION] == 2_000_000_000
