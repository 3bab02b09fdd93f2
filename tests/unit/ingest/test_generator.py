"""Traffic generator: determinism, realistic mixes, bursts, daily shape, reported facts.

That every generated line parses to exactly its facts is checked through the real pipeline in
tests/unit/etl/test_pipeline.py.
"""

from __future__ import annotations

import collections
import datetime as dt
import ipaddress
import json
import re

import pytest

from logiflow.ingest.generator import (
    ErrorBurst,
    GeneratedLine,
    TrafficGenerator,
    TrafficProfile,
    generate_lines,
)

START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
COMBINED = re.compile(
    r'^(?P<ip>\S+) - - \[(?P<time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<target>\S+) HTTP/1\.1" '
    r'(?P<status>\d{3}) (?P<bytes>\d+|-) "(?P<referrer>[^"]*)" "(?P<ua>[^"]*)"$'
)


@pytest.fixture(scope="module")
def sample() -> list[GeneratedLine]:
    return list(generate_lines(seed=7, count=20_000, start=START))


def test_same_seed_same_lines() -> None:
    first = [g.line for g in generate_lines(seed=42, count=500, start=START)]
    second = [g.line for g in generate_lines(seed=42, count=500, start=START)]
    other = [g.line for g in generate_lines(seed=43, count=500, start=START)]
    assert first == second
    assert first != other


def test_lines_state_their_facts(sample: list[GeneratedLine]) -> None:
    for fact in sample[:3000]:
        if fact.format == "combined":
            match = COMBINED.match(fact.line)
            assert match, fact.line
            assert match["ip"] == fact.client_ip
            assert int(match["status"]) == fact.status
            assert match["ua"] == fact.user_agent
            assert match["target"].split("?")[0] == fact.path
            when = dt.datetime.strptime(match["time"], "%d/%b/%Y:%H:%M:%S %z")
            assert when == fact.timestamp
            assert (None if match["bytes"] == "-" else int(match["bytes"])) == fact.body_bytes
        else:
            record = json.loads(fact.line)
            assert record["status"] == fact.status
            assert record["service"] == fact.service
            assert record["client_ip"] == fact.client_ip
            assert round(record["latency_ms"] * 1_000_000) == fact.duration_ns
            assert dt.datetime.fromisoformat(record["timestamp"]) == fact.timestamp
        ipaddress.ip_address(fact.client_ip)  # valid IPv4 or IPv6


def test_realistic_mixes(sample: list[GeneratedLine]) -> None:
    n = len(sample)
    formats = collections.Counter(g.format for g in sample)
    assert 0.25 < formats["json"] / n < 0.45 and formats["combined"] > formats["json"]
    classes = collections.Counter(g.status // 100 for g in sample if g.status)
    assert classes[2] / n > 0.8
    assert 0.02 < classes[4] / n < 0.1
    assert 0 < classes[5] / n < 0.01
    assert classes[3] > 0
    devices = collections.Counter(g.device_type for g in sample)
    assert set(devices) == {"desktop", "mobile", "tablet", "bot"}
    assert devices["desktop"] > devices["mobile"] > devices["tablet"]
    v6 = sum(1 for g in sample if ":" in (g.client_ip or ""))
    assert 0.02 < v6 / n < 0.25
    assert any("::" in (g.client_ip or "") for g in sample)
    # Zipf-like: the top endpoint is far more frequent than the median one.
    endpoints = collections.Counter(g.endpoint for g in sample).most_common()
    assert endpoints[0][1] > 20 * endpoints[len(endpoints) // 2][1]
    assert any(re.search(r"/[0-9a-f]{8}-[0-9a-f]{4}-", g.path or "") for g in sample)
    # User agents repeat heavily (what makes the enrichment cache work).
    assert len({g.user_agent for g in sample}) < 400
    assert all(g.duration_ns is None for g in sample if g.format == "combined")
    assert all(g.duration_ns and g.duration_ns > 0 for g in sample if g.format == "json")


def test_error_burst_raises_5xx_for_its_service() -> None:
    burst = ErrorBurst(
        START + dt.timedelta(minutes=1), dt.timedelta(minutes=1), "orders-api", error_share=0.6
    )
    generator = TrafficGenerator(seed=3, profile=TrafficProfile(bursts=(burst,)))
    lines = list(generator.stream(START, 100, duration=dt.timedelta(minutes=3)))

    def rate(selected: list[GeneratedLine]) -> float:
        return sum(1 for g in selected if g.status and g.status >= 500) / len(selected)

    inside = [g for g in lines if burst.covers(g.timestamp, g.service)]
    outside = [g for g in lines if g.service == "orders-api" and g not in inside]
    others = [
        g
        for g in lines
        if burst.start <= g.timestamp < burst.start + burst.duration and g.service != "orders-api"
    ]
    assert rate(inside) > 0.45
    assert rate(outside) < 0.03 and rate(others) < 0.03


def test_injected_burst_and_daily_shape() -> None:
    generator = TrafficGenerator(seed=5)
    peak = START.replace(hour=15)
    trough = START.replace(hour=3)
    assert generator.daily_factor(peak) > 1.5 > 0.5 > generator.daily_factor(trough)
    # The simulated clock follows the shape: the same simulated hour holds more events at peak.
    at_peak = sum(1 for _ in generator.stream(peak, 50, duration=dt.timedelta(minutes=2)))
    at_trough = sum(1 for _ in generator.stream(trough, 50, duration=dt.timedelta(minutes=2)))
    assert at_peak > 2 * at_trough
    generator.inject_error_burst(ErrorBurst(trough, dt.timedelta(minutes=1), error_share=1.0))
    assert all(generator.line_at(trough).status >= 500 for _ in range(50))  # type: ignore[operator]


def test_malformed_share_and_stream_bounds() -> None:
    lines = list(
        generate_lines(
            seed=1, count=2000, start=START, profile=TrafficProfile(malformed_share=0.05)
        )
    )
    assert len(lines) == 2000
    malformed = [g for g in lines if g.format == "malformed"]
    assert 40 < len(malformed) < 170
    with pytest.raises(ValueError, match="count or duration"):
        next(TrafficGenerator().stream(START, 10))
