"""JSON API logs: key-name variants, nesting, numbers as strings, missing keys, extras."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from chispa import assert_column_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from logiflow.config import ParseSettings
from logiflow.contract import ecs
from logiflow.etl.parse.extract_json import parse_json_object, split_url, url_part

ParseRows = Callable[..., list[dict[str, Any]]]


def test_url_split_column(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [
            ("/a/b?c=1", "/a/b", "c=1", None),
            ("https://api.example.com:8443/v1?x", "/v1", "x", "api.example.com"),
            ("/plain", "/plain", None, None),
            # Plain paths (leading "/", no "?") skip the regex. The one difference: a path with
            # whitespace is still its own path here, where the regex calls it "not a URL";
            # parse_lines falls back to the whole value as url.path then, so events agree.
            ("/a b", "/a b", None, None),
            ("//cdn.example.com/x", "//cdn.example.com/x", None, None),
            ("/p#frag", "/p#frag", None, None),
            ("has space", None, None, None),
        ],
        "url string, path string, query string, domain string",
    )
    parts = df.withColumn("parts", split_url(F.col("url")))
    got = parts.select(
        "*",
        url_part(F.col("parts"), 3).alias("got_path"),
        F.when(url_part(F.col("parts"), 4) != "", url_part(F.col("parts"), 4)).alias("got_q"),
        F.when(url_part(F.col("parts"), 2) != "", url_part(F.col("parts"), 2)).alias("got_d"),
    )
    assert_column_equality(got, "got_path", "path")
    assert_column_equality(got, "got_q", "query")
    assert_column_equality(got, "got_d", "domain")


def test_json_object_column(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [('{"a": 1, "b": {"c": "d"}, "e": null}',), ("[1, 2]",), ("{broken",)], "line string"
    )
    got = [r.m for r in df.select(parse_json_object(F.col("line")).alias("m")).collect()]
    assert got == [{"a": "1", "b": '{"c":"d"}', "e": None}, None, None]


LINES = {
    "zap": {
        "ts": 1795557855.25,
        "level": "INFO",
        "msg": "request completed",
        "method": "get",
        "path": "/api/v1/users/42?verbose=1",
        "status": 503,
        "latency_ms": 29.5,
        "client_ip": "81.45.71.67",
        "user_agent": "curl/8.5.0",
        "service": "catalog",
        "trace_id": "37ecc66a942b3aa70eea5882e522b30c",
    },
    "ecs": {
        "@timestamp": "2026-11-24T20:59:08.162Z",
        "log.level": "WARN",
        "message": "handled",
        "http": {
            "request": {"method": "DELETE"},
            "response": {"status_code": 201, "body": {"bytes": 44787}},
        },
        "url": {"path": "/index.html"},
        "source": {"ip": "2001:db8::9"},
        "service": {"name": "payments"},
        "event": {"duration": 1500000},
        "trace": {"id": "abc"},
        "host": {"name": "pod-1"},
    },
    "strings": {
        "timestamp": "2026-11-24T22:04:15.123456+05:30",
        "severity": "info",
        "request_method": "POST",
        "request_uri": "/orders",
        "status_code": "201",
        "bytes_sent": "812",
        "request_time": "0.250",
        "remote_addr": "10.0.0.7",
        "x_forwarded_for": "203.0.113.5, 10.0.0.1",
        "host": "api-7d9f",
        "app": "gateway",
        "upstream": {"name": "backend", "addr": "10.0.3.4:8080"},
        "retries": 2,
    },
    "minimal": {"time": "2026-11-24T21:00:00Z", "msg": "cache refresh", "keys": 5},
    "no_time": {"msg": "no timestamp at all"},
    "epoch_ms": {"timestamp": 1795557855123, "status": "200.0", "duration": "1.5"},
    "naive_time": {"timestamp": "2026-11-24 22:04:15", "level": "error"},
    "comma_millis": {"asctime": "x", "timestamp": "2026-11-24 22:04:15,250"},
    "bad_time": {"timestamp": "yesterday at noon"},
    "bad_status": {"status": "two hundred", "ts": 1795557855},
    "user_object": {"ts": 1795557855, "user": {"id": 5}, "status": 200},
    # An object under the first key name for a field, a scalar under a later one.
    "object_then_scalar": {
        "user": {"id": 5},
        "username": "bob",
        "status": {"code": 1},
        "status_code": 503,
        "ts": 1795557855,
    },
}


@pytest.fixture(scope="module")
def rows(parse_rows: ParseRows) -> dict[str, dict[str, Any]]:
    lines = [json.dumps(v) for v in LINES.values()] + ['{"truncated": "obj', '  {"lead": 1}']
    got = parse_rows(lines, ParseSettings(default_timezone="Europe/Berlin"))
    return dict(zip([*LINES, "truncated", "leading_space"], got, strict=True))


def test_zap_style_keys(rows: dict[str, dict[str, Any]]) -> None:
    row = rows["zap"]
    assert row[ecs.OUTCOME] == ecs.OUTCOME_INDEXED
    assert row[ecs.EVENT_DATASET] == "json"
    assert row[ecs.TIMESTAMP] == dt.datetime(2026, 11, 24, 22, 4, 15, 250000)
    assert row[ecs.LOG_LEVEL] == "info"
    assert row[ecs.HTTP_REQUEST_METHOD] == "GET"
    assert (row[ecs.URL_PATH], row[ecs.URL_QUERY]) == ("/api/v1/users/42", "verbose=1")
    assert row[ecs.URL_ORIGINAL] == "/api/v1/users/42?verbose=1"
    assert row[ecs.HTTP_RESPONSE_STATUS_CODE] == 503
    assert row[ecs.EVENT_DURATION] == 29_500_000
    assert row[ecs.CLIENT_IP] == "81.45.71.67"
    assert row[ecs.USER_AGENT_ORIGINAL] == "curl/8.5.0"
    assert row[ecs.SERVICE_NAME] == "catalog"
    assert row[ecs.TRACE_ID] == "37ecc66a942b3aa70eea5882e522b30c"
    assert row[ecs.EXTRA] == {"msg": "request completed"}


def test_ecs_style_nested_objects(rows: dict[str, dict[str, Any]]) -> None:
    row = rows["ecs"]
    assert row[ecs.TIMESTAMP] == dt.datetime(2026, 11, 24, 20, 59, 8, 162000)
    assert row[ecs.LOG_LEVEL] == "warn"
    assert row[ecs.HTTP_REQUEST_METHOD] == "DELETE"
    assert row[ecs.HTTP_RESPONSE_STATUS_CODE] == 201
    assert row[ecs.HTTP_RESPONSE_BODY_BYTES] == 44787
    assert row[ecs.URL_PATH] == "/index.html"
    assert row[ecs.SOURCE_IP] == "2001:db8::9"
    assert row[ecs.SERVICE_NAME] == "payments"
    assert row[ecs.EVENT_DURATION] == 1_500_000
    assert row[ecs.TRACE_ID] == "abc"
    assert row[ecs.HOST_NAME] == "pod-1"
    # Nested objects are kept whole in the extras, nothing is lost.
    assert json.loads(row[ecs.EXTRA]["http"])["response"]["status_code"] == 201
    assert row[ecs.EXTRA]["message"] == "handled"


def test_numbers_as_strings_and_offset_timestamps(rows: dict[str, dict[str, Any]]) -> None:
    row = rows["strings"]
    assert row[ecs.TIMESTAMP] == dt.datetime(2026, 11, 24, 16, 34, 15, 123456)
    assert row[ecs.HTTP_RESPONSE_STATUS_CODE] == 201
    assert row[ecs.HTTP_RESPONSE_BODY_BYTES] == 812
    assert row[ecs.EVENT_DURATION] == 250_000_000
    assert row[ecs.SOURCE_IP] == "10.0.0.7"
    assert row[ecs.CLIENT_IP] == "203.0.113.5"
    assert row[ecs.HOST_NAME] == "api-7d9f"
    assert row[ecs.SERVICE_NAME] == "gateway"
    assert row[ecs.EXTRA] == {
        "upstream": '{"name":"backend","addr":"10.0.3.4:8080"}',
        "retries": "2",
    }


def test_missing_keys(rows: dict[str, dict[str, Any]]) -> None:
    row = rows["minimal"]
    assert row[ecs.OUTCOME] == ecs.OUTCOME_INDEXED
    assert row[ecs.TIMESTAMP] == dt.datetime(2026, 11, 24, 21, 0, 0)
    assert row[ecs.HTTP_RESPONSE_STATUS_CODE] is None
    assert row[ecs.SOURCE_IP] is None
    assert row[ecs.EXTRA] == {"msg": "cache refresh", "keys": "5"}


def test_no_timestamp_falls_back_to_kafka_time(rows: dict[str, dict[str, Any]]) -> None:
    row = rows["no_time"]
    assert row[ecs.OUTCOME] == ecs.OUTCOME_INDEXED
    assert row[ecs.TIMESTAMP] == row[ecs.KAFKA_TIMESTAMP]


def test_epoch_millis_and_float_status(rows: dict[str, dict[str, Any]]) -> None:
    row = rows["epoch_ms"]
    assert row[ecs.TIMESTAMP] == dt.datetime(2026, 11, 24, 22, 4, 15, 123000)
    assert row[ecs.HTTP_RESPONSE_STATUS_CODE] == 200
    assert row[ecs.EVENT_DURATION] == 1_500_000_000


def test_timestamps_without_offset_use_default_timezone(rows: dict[str, dict[str, Any]]) -> None:
    # Europe/Berlin is UTC+1 in November.
    assert rows["naive_time"][ecs.TIMESTAMP] == dt.datetime(2026, 11, 24, 21, 4, 15)
    assert rows["comma_millis"][ecs.TIMESTAMP] == dt.datetime(2026, 11, 24, 21, 4, 15, 250000)
    assert rows["naive_time"][ecs.LOG_LEVEL] == "error"


def test_object_under_scalar_key_is_not_used_but_kept(rows: dict[str, dict[str, Any]]) -> None:
    row = rows["user_object"]
    assert row[ecs.USER_NAME] is None
    assert row[ecs.EXTRA] == {"user": '{"id":5}'}


def test_a_later_key_name_fills_a_field_the_first_holds_an_object_for(
    rows: dict[str, dict[str, Any]],
) -> None:
    row = rows["object_then_scalar"]
    assert row[ecs.USER_NAME] == "bob"
    assert row[ecs.HTTP_RESPONSE_STATUS_CODE] == 503
    assert row[ecs.EXTRA] == {"user": '{"id":5}', "status": '{"code":1}'}


def test_leading_whitespace_still_json(rows: dict[str, dict[str, Any]]) -> None:
    assert rows["leading_space"][ecs.EVENT_DATASET] == "json"
    assert rows["leading_space"][ecs.EXTRA] == {"lead": "1"}


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("bad_time", "unparseable timestamp 'yesterday at noon'"),
        ("bad_status", "status 'two hundred' is not a number"),
        ("truncated", "line is not a JSON object"),
    ],
)
def test_bad_json_lines_are_dead_letters(
    rows: dict[str, dict[str, Any]], case: str, reason: str
) -> None:
    assert rows[case][ecs.OUTCOME] == ecs.OUTCOME_DEAD_LETTER
    assert rows[case][ecs.ERROR_MESSAGE] == reason
