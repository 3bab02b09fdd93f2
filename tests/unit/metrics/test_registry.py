"""metrics.registry: what the endpoint exposes is exactly what contract/metrics.py says."""

from __future__ import annotations

from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from logiflow.contract import metrics as m
from logiflow.metrics.registry import counter, gauge, histogram

MAKERS = {m.COUNTER: counter, m.GAUGE: gauge, m.HISTOGRAM: histogram}


def _exposed() -> dict[str, tuple[str, str, set[str]]]:
    """Family name -> (type, help, label names of its samples)."""
    for metric in m.ALL:
        made = MAKERS[metric.kind](metric)
        if metric.labels:
            made.labels(*(f"x-{label}" for label in metric.labels))
    families = text_string_to_metric_families(generate_latest(REGISTRY).decode())
    return {
        family.name: (
            family.type,
            family.documentation,
            {label for sample in family.samples for label in sample.labels} - {"le"},
        )
        for family in families
        if family.name.startswith("logiflow_")
    }


def test_every_contract_metric_is_exposed_with_its_type_help_and_labels() -> None:
    exposed = _exposed()
    for metric in m.ALL:
        # The parser names a counter's family without the _total its samples carry.
        assert exposed[metric.name] == (metric.kind, metric.help, set(metric.labels)), metric.name


def test_counters_are_sampled_with_total_and_no_created_series() -> None:
    text = generate_latest(REGISTRY).decode()
    for metric in m.ALL:
        if metric.kind == m.COUNTER:
            assert f"\n{metric.sample_name}" in text or text.startswith(metric.sample_name)
    assert "_created" not in text


def test_the_same_collector_is_returned_every_time() -> None:
    assert counter(m.ETL_EVENTS_INDEXED) is counter(m.ETL_EVENTS_INDEXED)
