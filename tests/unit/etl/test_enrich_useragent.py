"""User-agent enrichment: the classifier, the batch resolver and the Spark transform."""

from __future__ import annotations

import pyarrow as pa
import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from logiflow.contract import ecs
from logiflow.etl.enrich_useragent import (
    cache_stats_accumulator,
    classify,
    enrich_user_agent,
    resolve_batch,
)

CHROME_WIN = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36"
)
PIXEL = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@pytest.mark.parametrize(
    ("ua", "device_type", "name", "os_name"),
    [
        (CHROME_WIN, "desktop", "Chrome", "Windows"),
        (IPHONE, "mobile", "Mobile Safari", "iOS"),
        (IPAD, "tablet", "Mobile Safari", "iOS"),
        (ANDROID_TABLET, "tablet", "Chrome", "Android"),
        (PIXEL, "mobile", "Chrome Mobile", "Android"),
        (GOOGLEBOT, "bot", "Googlebot", None),
        ("curl/8.4.0", "bot", "curl", None),
        ("python-requests/2.31.0", "bot", "Python Requests", None),
        ("Wget/1.21.4", "bot", "Wget", None),
        ("kube-probe/1.29", "bot", None, None),
        ("-", "other", None, None),
        ("", "other", None, None),
    ],
)
def test_classify(ua: str, device_type: str, name: str | None, os_name: str | None) -> None:
    facts = classify(ua)
    assert facts.device_type == device_type
    assert facts.is_bot == (device_type == "bot")
    assert facts.name == name
    assert facts.os_name == os_name


def test_version_joins_present_parts() -> None:
    assert classify(CHROME_WIN).version == "120.0.0.0"
    assert classify("curl/8.4.0").version == "8.4.0"


def test_resolve_batch_dedupes_and_keeps_nulls() -> None:
    batch = pa.array([IPHONE, None, IPHONE, "curl/8.4.0", IPHONE], type=pa.string())
    resolved, stats = resolve_batch(batch, cache_size=16)
    result = resolved.to_pylist()
    assert [row["device_type"] for row in result] == ["mobile", None, "mobile", "bot", "mobile"]
    assert result[1] == dict.fromkeys(result[1])  # every field null
    assert result[0] == result[2] == result[4]
    assert (stats.rows, stats.distinct_in_batches) == (4, 2)
    _, again = resolve_batch(batch, cache_size=16)
    assert again.parsed == 0 and again.hit_rate == 1.0  # the worker cache remembered both


def test_enrich_user_agent_frame(spark: SparkSession) -> None:
    schema = f"`{ecs.USER_AGENT_ORIGINAL}` string"
    df = spark.createDataFrame([(IPAD,), (None,), (GOOGLEBOT,), (CHROME_WIN,)], schema)
    stats = cache_stats_accumulator(spark)
    actual = df.transform(enrich_user_agent(cache_size=100, stats=stats))
    expected = spark.createDataFrame(
        [
            (IPAD, "Mobile Safari", "16.6", "iOS", "iPad", "tablet", False),
            (None, None, None, None, None, None, None),
            (GOOGLEBOT, "Googlebot", "2.1", None, "Spider", "bot", True),
            (CHROME_WIN, "Chrome", "120.0.0.0", "Windows", None, "desktop", False),
        ],
        ", ".join(
            f"`{name}` {kind}"
            for name, kind in [
                (ecs.USER_AGENT_ORIGINAL, "string"),
                (ecs.USER_AGENT_NAME, "string"),
                (ecs.USER_AGENT_VERSION, "string"),
                (ecs.USER_AGENT_OS_NAME, "string"),
                (ecs.USER_AGENT_DEVICE_NAME, "string"),
                (ecs.DEVICE_TYPE, "string"),
                (ecs.IS_BOT, "boolean"),
            ]
        ),
    )
    assert_df_equality(actual, expected, ignore_nullable=True)
    assert stats.value.rows == 3  # the null is not counted
