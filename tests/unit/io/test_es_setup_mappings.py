"""The index templates cover the whole column contract, with core field types only."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from logiflow.config import ElasticsearchSettings
from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.io.es_setup import EVENT_FIELD_TYPES, Capabilities, desired_objects, nest

# Types every distribution has (the minimal local node lacks mapper-extras, wildcard, ...).
CORE_TYPES = {"keyword", "ip", "date", "long", "integer", "double", "boolean", "text", "flattened"}


def test_every_event_column_has_a_mapping() -> None:
    assert ecs.event_fields() <= set(EVENT_FIELD_TYPES)


def test_only_core_types_and_original_line_not_indexed() -> None:
    assert {m["type"] for m in EVENT_FIELD_TYPES.values()} <= CORE_TYPES
    original = EVENT_FIELD_TYPES[ecs.EVENT_ORIGINAL]
    assert original["index"] is False and original["doc_values"] is False


def test_nest_expands_dotted_names() -> None:
    flat = {"a.b": {"type": "ip"}, "a.c.d": {"type": "long"}, "@timestamp": {"type": "date"}}
    assert nest(flat) == {
        "@timestamp": {"type": "date"},
        "a": {"properties": {"b": {"type": "ip"}, "c": {"properties": {"d": {"type": "long"}}}}},
    }


def test_ilm_policy_attached_only_when_the_cluster_has_ilm() -> None:
    settings = ElasticsearchSettings(index_prefix="lf", events_retention="7d")
    with_ilm = desired_objects(settings, Capabilities(True, "ILM available"))
    without = desired_objects(settings, Capabilities(False, "no ILM"))
    assert [name for name, _ in with_ilm["ilm policy"]] == [
        "lf-events",
        "lf-deadletter",
        "lf-aggregates",
        "lf-anomalies",
    ]
    events_policy = dict(with_ilm["ilm policy"])["lf-events"]
    assert events_policy["phases"]["delete"]["min_age"] == "7d"
    settings_ilm = dict(with_ilm["component template"])["lf-events-settings"]
    assert settings_ilm["template"]["settings"]["index.lifecycle.name"] == "lf-events"
    assert without["ilm policy"] == []
    for _, body in without["component template"]:
        assert "index.lifecycle.name" not in body["template"].get("settings", {})
    patterns = {name: body["index_patterns"] for name, body in without["index template"]}
    assert patterns == {
        "lf-events": [names.index_pattern("lf", names.EVENTS)],
        "lf-deadletter": ["lf-deadletter-*"],
        "lf-aggregates": ["lf-aggregates-*"],
        "lf-batches": ["lf-batches"],
        "lf-anomalies": ["lf-anomalies-*"],
    }


def test_refresh_interval_is_the_configured_one_on_every_template() -> None:
    for interval, expected in ((None, "1s"), ("30s", "30s")):
        settings = ElasticsearchSettings(
            index_prefix="lf", **({"refresh_interval": interval} if interval else {})
        )
        components = desired_objects(settings, Capabilities(False, "no ILM"))["component template"]
        refreshes = {
            name: body["template"]["settings"]["index.refresh_interval"]
            for name, body in components
            if name.endswith("-settings")
        }
        assert len(refreshes) == len(names.KINDS) == 5 and set(refreshes.values()) == {expected}


def test_a_bad_refresh_interval_names_the_key() -> None:
    with pytest.raises(ValidationError, match="refresh_interval"):
        ElasticsearchSettings(refresh_interval="soon")
