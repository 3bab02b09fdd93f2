"""``logiflow generate``'s incident flags: parsing, what each does to the generated traffic, and
the labels written for it (no Kafka involved)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from logiflow.anomaly.evaluation import ERROR_BURST, LATENCY_REGRESSION, TRAFFIC_DROP, Incident
from logiflow.anomaly.labels import read_labels, write_labels
from logiflow.errors import ConfigError
from logiflow.ingest.generator import (
    SERVICES,
    ErrorBurst,
    TrafficDrop,
    TrafficGenerator,
    TrafficProfile,
)
from logiflow.ingest.incidents import IncidentSpec

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_an_error_burst_parses_every_form() -> None:
    assert IncidentSpec.parse(ERROR_BURST, "30+60") == IncidentSpec(ERROR_BURST, 30, 60)
    assert IncidentSpec.parse(ERROR_BURST, "5s+10s:orders-api") == IncidentSpec(
        ERROR_BURST, 5, 10, "orders-api"
    )
    assert IncidentSpec.parse(ERROR_BURST, "0+2.5:catalog-api:0.9").value == 0.9
    assert IncidentSpec.parse(ERROR_BURST, "1+1::1") == IncidentSpec(ERROR_BURST, 1, 1, value=1.0)
    one_endpoint = IncidentSpec.parse(ERROR_BURST, "10+20:storefront@/products/{id}:0.8")
    assert (one_endpoint.service, one_endpoint.endpoint) == ("storefront", "/products/{id}")
    assert one_endpoint.effect(START) == ErrorBurst(
        START + dt.timedelta(seconds=10), dt.timedelta(seconds=20), "storefront", 0.8, 4.0,
        "/products/{id}",
    )  # fmt: skip


def test_a_latency_spike_and_a_traffic_drop_with_their_defaults() -> None:
    spike = IncidentSpec.parse(LATENCY_REGRESSION, "60+300:orders-api").effect(START)
    assert isinstance(spike, ErrorBurst)
    assert (spike.error_share, spike.latency_factor, spike.service) == (0.0, 3.0, "orders-api")
    drop = IncidentSpec.parse(TRAFFIC_DROP, "120+300:catalog-api").effect(START)
    assert drop == TrafficDrop(
        START + dt.timedelta(seconds=120), dt.timedelta(seconds=300), "catalog-api", 0.2
    )


@pytest.mark.parametrize(
    ("kind", "text", "reason"),
    [
        (ERROR_BURST, "30", "AT\\+LENGTH"),
        (ERROR_BURST, "a+b", "AT\\+LENGTH"),
        (ERROR_BURST, "-1+2", "AT\\+LENGTH"),
        (ERROR_BURST, "1+2:svc:1.5", "VALUE must lie in \\[0, 1\\]"),
        (LATENCY_REGRESSION, "1+2:svc:0.5", "VALUE must lie in \\[1, 1000\\]"),
        (TRAFFIC_DROP, "1+2", "needs a SERVICE"),
        (TRAFFIC_DROP, "1+2:storefront@/cart", "not an ENDPOINT"),
        (ERROR_BURST, "1+2:@/cart", "an ENDPOINT needs a SERVICE"),
    ],
)
def test_nonsense_is_a_config_error_naming_the_flag(kind: str, text: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason) as error:
        IncidentSpec.parse(kind, text)
    assert str(error.value).startswith(("--error-burst", "--latency-spike", "--traffic-drop"))


def test_labels_name_each_service_hit_and_survive_a_round_trip(tmp_path: Path) -> None:
    everywhere = IncidentSpec.parse(ERROR_BURST, "30+60").labels(START, SERVICES)
    assert {label.service for label in everywhere} == set(SERVICES)
    first = int(START.timestamp()) + 30
    assert {(label.start, label.end) for label in everywhere} == {(first, first + 60)}
    one = IncidentSpec.parse(LATENCY_REGRESSION, "0+90:orders-api@/v1/orders:5").labels(
        START, SERVICES
    )
    assert one == [Incident(LATENCY_REGRESSION, "orders-api", first - 30, first + 60, "/v1/orders")]
    path = tmp_path / "labels.jsonl"
    write_labels(path, [*everywhere, *one])
    assert read_labels(path) == [*everywhere, *one]


def test_a_bad_label_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(
        '{"kind": "error_burst", "service": "a", "start": "2026-01-01T00:00:00+00:00"}\n'
    )
    with pytest.raises(ConfigError, match=r"labels\.jsonl:1: not an incident label"):
        read_labels(path)


def test_a_traffic_drop_thins_only_its_service_by_the_share_kept() -> None:
    drop = IncidentSpec.parse(TRAFFIC_DROP, "0+3600:catalog-api:0.25").effect(START)
    assert isinstance(drop, TrafficDrop)
    generator = TrafficGenerator(4, TrafficProfile(clients=50, drops=(drop,)))
    lines = [generator.line_at(START + dt.timedelta(seconds=i)) for i in range(4000)]
    kept = [line for line in lines if not generator.dropped(line)]
    catalog = [line for line in lines if line.service == "catalog-api"]
    kept_catalog = [line for line in kept if line.service == "catalog-api"]
    assert 0.18 < len(kept_catalog) / len(catalog) < 0.32
    assert len(kept) - len(kept_catalog) == len(lines) - len(catalog)
