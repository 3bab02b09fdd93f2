"""Creates LogiFlow's index templates and lifecycle policies in Elasticsearch, idempotently.

Run by ``logiflow es-setup`` on a laptop and by the Helm chart's hook Job in a cluster. Every
object carries a hash of its own body in ``_meta``: an object whose hash matches is left alone,
one that differs is updated, a missing one is created, so running setup again changes nothing.

Capabilities differ between clusters: the full distribution (ECK) has ILM; the minimal local node
has no ILM at all (``_ilm`` is not even routed). Setup detects this and attaches a delete-after-
retention policy through the templates only where ILM exists, and says so either way.

Only core field types are used (keyword, ip, date, long, integer, double, boolean, text, object,
flattened) so the same templates load on the minimal node, which lacks the mapper-extras module.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from elasticsearch import ApiError, Elasticsearch, NotFoundError

from logiflow.config import ElasticsearchSettings
from logiflow.contract import aggregates as agg
from logiflow.contract import anomalies as an
from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.errors import LogiflowError

Action = Literal["created", "updated", "unchanged", "skipped"]

MANAGED_BY = "logiflow"
TEMPLATE_PRIORITY = 200

_KEYWORD = {"type": "keyword", "ignore_above": 1024}
_LONG_KEYWORD = {"type": "keyword", "ignore_above": 8191}

# Every ECS column of the event contract (contract/ecs.py) and its type.
EVENT_FIELD_TYPES: dict[str, dict[str, Any]] = {
    ecs.KAFKA_TOPIC: _KEYWORD,
    ecs.KAFKA_PARTITION: {"type": "integer"},
    ecs.KAFKA_OFFSET: {"type": "long"},
    ecs.KAFKA_KEY: _KEYWORD,
    ecs.KAFKA_TIMESTAMP: {"type": "date"},
    ecs.TIMESTAMP: {"type": "date"},
    # Kept for reading and re-processing, never searched: no index, no doc values, no length
    # limit (an indexed keyword would reject lines over 32 KB).
    ecs.EVENT_ORIGINAL: {"type": "keyword", "index": False, "doc_values": False},
    ecs.EVENT_ORIGINAL_BASE64: {"type": "keyword", "index": False, "doc_values": False},
    ecs.EVENT_INGESTED: {"type": "date"},
    ecs.EVENT_DURATION: {"type": "long"},
    ecs.EVENT_DATASET: _KEYWORD,
    ecs.LOG_LEVEL: _KEYWORD,
    ecs.LOG_FILE_PATH: _LONG_KEYWORD,
    ecs.SOURCE_IP: {"type": "ip"},
    ecs.SOURCE_ADDRESS: _KEYWORD,
    ecs.CLIENT_IP: {"type": "ip"},
    ecs.HTTP_REQUEST_METHOD: _KEYWORD,
    ecs.HTTP_VERSION: _KEYWORD,
    ecs.HTTP_REQUEST_REFERRER: _LONG_KEYWORD,
    ecs.HTTP_RESPONSE_STATUS_CODE: {"type": "long"},
    ecs.HTTP_RESPONSE_BODY_BYTES: {"type": "long"},
    ecs.URL_ORIGINAL: _LONG_KEYWORD,
    ecs.URL_PATH: _LONG_KEYWORD,
    ecs.URL_QUERY: _LONG_KEYWORD,
    ecs.URL_DOMAIN: _KEYWORD,
    ecs.USER_NAME: _KEYWORD,
    ecs.USER_AGENT_ORIGINAL: {
        "type": "keyword",
        "ignore_above": 1024,
        "fields": {"text": {"type": "text"}},
    },
    ecs.USER_AGENT_NAME: _KEYWORD,
    ecs.USER_AGENT_VERSION: _KEYWORD,
    ecs.USER_AGENT_OS_NAME: _KEYWORD,
    ecs.USER_AGENT_DEVICE_NAME: _KEYWORD,
    ecs.SERVICE_NAME: _KEYWORD,
    ecs.HOST_NAME: _KEYWORD,
    ecs.TRACE_ID: _KEYWORD,
    ecs.SOURCE_GEO_COUNTRY_ISO_CODE: _KEYWORD,
    ecs.SOURCE_GEO_COUNTRY_NAME: _KEYWORD,
    ecs.ERROR_MESSAGE: {"type": "text"},
    ecs.DEVICE_TYPE: _KEYWORD,
    ecs.IS_BOT: {"type": "boolean"},
    ecs.ENDPOINT: _LONG_KEYWORD,
    ecs.STATUS_CLASS: _KEYWORD,
    ecs.IS_ERROR: {"type": "boolean"},
    # Arbitrary JSON keys: one field in the mapping however many keys users log.
    ecs.EXTRA: {"type": "flattened"},
    ecs.EVENT_TIME_OUT_OF_BOUNDS: {"type": "boolean"},
    ecs.EVENT_TIME_ORIGINAL: {"type": "date"},
}

DEAD_LETTER_FIELD_TYPES: dict[str, dict[str, Any]] = {
    ecs.TIMESTAMP: {"type": "date"},
    ecs.EVENT_ORIGINAL: {"type": "keyword", "index": False, "doc_values": False},
    ecs.EVENT_ORIGINAL_BASE64: {"type": "keyword", "index": False, "doc_values": False},
    ecs.EVENT_INGESTED: {"type": "date"},
    ecs.EVENT_KIND: _KEYWORD,
    ecs.ERROR_MESSAGE: {"type": "text", "fields": {"keyword": _KEYWORD}},
    "error.type": _KEYWORD,  # set on documents Elasticsearch itself rejected
    ecs.KAFKA_TOPIC: _KEYWORD,
    ecs.KAFKA_PARTITION: {"type": "integer"},
    ecs.KAFKA_OFFSET: {"type": "long"},
    ecs.KAFKA_KEY: _KEYWORD,
    ecs.KAFKA_TIMESTAMP: {"type": "date"},
}

AGGREGATE_FIELD_TYPES: dict[str, dict[str, Any]] = {
    ecs.TIMESTAMP: {"type": "date"},  # window start
    agg.WINDOW_END: {"type": "date"},
    agg.AGG_SCOPE: _KEYWORD,
    ecs.SERVICE_NAME: _KEYWORD,
    ecs.ENDPOINT: _LONG_KEYWORD,
    agg.AGG_EVENTS: {"type": "long"},
    agg.AGG_REQUESTS: {"type": "long"},
    agg.AGG_STATUS_4XX: {"type": "long"},
    agg.AGG_STATUS_5XX: {"type": "long"},
    agg.AGG_BYTES: {"type": "long"},
    agg.AGG_LATENCY_COUNT: {"type": "long"},
    agg.AGG_LATENCY_SUM: {"type": "long"},
    agg.AGG_LATENCY_LOG_SUM: {"type": "double"},
    ecs.CLIENT_IP: {"type": "ip"},  # visitor documents (scope "visitor")
}

ANOMALY_FIELD_TYPES: dict[str, dict[str, Any]] = {
    an.TIMESTAMP: {"type": "date"},  # the anomalous window's start
    an.WINDOW_END: {"type": "date"},
    an.DETECTED_AT: {"type": "date"},
    an.SERVICE: _KEYWORD,
    an.ENDPOINT: _LONG_KEYWORD,
    an.EVENT_KIND: _KEYWORD,
    an.EVENT_SEVERITY: {"type": "long"},
    an.SEVERITY_NAME: _KEYWORD,
    an.METRIC: _KEYWORD,
    an.DIRECTION: _KEYWORD,
    an.ACTUAL: {"type": "double"},
    an.EXPECTED: {"type": "double"},
    an.SCORE: {"type": "double"},
    an.REQUESTS: {"type": "double"},
    an.MESSAGE: {"type": "text"},
}

BATCH_FIELD_TYPES: dict[str, dict[str, Any]] = {
    names.BATCH_TIMESTAMP: {"type": "date"},
    names.BATCH_QUERY: _KEYWORD,
    names.BATCH_ID: {"type": "long"},
    names.COUNT_INPUT: {"type": "long"},
    names.COUNT_INDEXED: {"type": "long"},
    names.COUNT_FILTERED: {"type": "long"},
    names.COUNT_DEAD_LETTER: {"type": "long"},
    names.COUNT_EVENT_TIME_OUT_OF_BOUNDS: {"type": "long"},
    names.BATCH_CHECKPOINT: _KEYWORD,
    # Read back whole by `logiflow audit`; stored, not searched.
    names.BATCH_OFFSET_RANGES: {"type": "object", "enabled": False},
}

# Unknown fields still get sensible types: strings as keywords, and every number as double in
# aggregates (a field added later whose first value is 0 must not become an integer field that
# truncates its fractions).
_STRINGS_AS_KEYWORDS = {
    "strings_as_keywords": {"match_mapping_type": "string", "mapping": _KEYWORD}
}
_NUMBERS_AS_DOUBLES = {
    "numbers_as_doubles": {"match_mapping_type": "long", "mapping": {"type": "double"}}
}


@dataclass(frozen=True)
class SetupStep:
    """One thing setup did (or chose not to do), for people and for the hook Job's log."""

    kind: str
    name: str
    action: Action
    detail: str = ""

    def __str__(self) -> str:
        text = f"{self.action:<9} {self.kind} {self.name}"
        return f"{text}: {self.detail}" if self.detail else text


@dataclass(frozen=True)
class Capabilities:
    ilm: bool
    ilm_detail: str


class SetupError(LogiflowError):
    """Elasticsearch refused a template or policy."""


def nest(flat: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Dotted field names to the nested ``properties`` tree Elasticsearch stores."""
    root: dict[str, Any] = {}
    for dotted, mapping in sorted(flat.items()):
        node = root
        parts = dotted.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {"properties": {}})["properties"]
        node[parts[-1]] = dict(mapping)
    return root


def _mappings(flat: dict[str, dict[str, Any]], dynamic_templates: list[dict[str, Any]]) -> dict:
    return {
        "dynamic": True,
        "date_detection": False,
        "dynamic_templates": dynamic_templates,
        "properties": nest(flat),
    }


def detect_capabilities(client: Elasticsearch) -> Capabilities:
    try:
        status = client.ilm.get_status()
    except ApiError as exc:
        if exc.status_code in (400, 404, 405, 410, 501):
            return Capabilities(
                False, f"the cluster has no ILM (GET _ilm/status answered {exc.status_code})"
            )
        raise
    mode = status.get("operation_mode", "UNKNOWN")
    return Capabilities(True, f"ILM available (operation mode {mode})")


def _policy_name(prefix: str, kind: names.Kind) -> str:
    return f"{prefix}-{kind}"


def _retention(settings: ElasticsearchSettings, kind: names.Kind) -> str:
    return {
        names.EVENTS: settings.events_retention,
        names.DEAD_LETTER: settings.dead_letter_retention,
        names.AGGREGATES: settings.aggregates_retention,
        names.ANOMALIES: settings.anomalies_retention,
    }[kind]


def desired_objects(
    settings: ElasticsearchSettings, capabilities: Capabilities
) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Every policy and template setup manages, as (name, body) per kind of object."""
    prefix = settings.index_prefix
    mappings = {
        names.EVENTS: _mappings(EVENT_FIELD_TYPES, [_STRINGS_AS_KEYWORDS]),
        names.DEAD_LETTER: _mappings(DEAD_LETTER_FIELD_TYPES, [_STRINGS_AS_KEYWORDS]),
        names.AGGREGATES: _mappings(
            AGGREGATE_FIELD_TYPES, [_STRINGS_AS_KEYWORDS, _NUMBERS_AS_DOUBLES]
        ),
        names.BATCHES: _mappings(BATCH_FIELD_TYPES, [_STRINGS_AS_KEYWORDS]),
        names.ANOMALIES: _mappings(ANOMALY_FIELD_TYPES, [_STRINGS_AS_KEYWORDS]),
    }
    policies: list[tuple[str, dict[str, Any]]] = []
    components: list[tuple[str, dict[str, Any]]] = []
    templates: list[tuple[str, dict[str, Any]]] = []
    for kind in names.KINDS:
        index_settings: dict[str, Any] = {
            "index.number_of_shards": 1,
            # One replica where there is a second node to hold it, none on a single node.
            "index.auto_expand_replicas": "0-1",
            "index.refresh_interval": settings.refresh_interval,
        }
        time_based = kind != names.BATCHES
        if time_based and capabilities.ilm:
            policy = _policy_name(prefix, kind)
            # Daily/monthly indices roll themselves by name, so no rollover: hot, then delete
            # once the index is older than the retention.
            policies.append(
                (
                    policy,
                    {
                        "phases": {
                            "hot": {"min_age": "0ms", "actions": {}},
                            "delete": {
                                "min_age": _retention(settings, kind),
                                "actions": {"delete": {}},
                            },
                        }
                    },
                )
            )
            index_settings["index.lifecycle.name"] = policy
        components.append((f"{prefix}-{kind}-mappings", {"template": {"mappings": mappings[kind]}}))
        components.append((f"{prefix}-{kind}-settings", {"template": {"settings": index_settings}}))
        templates.append(
            (
                f"{prefix}-{kind}",
                {
                    "index_patterns": [names.index_pattern(prefix, kind)],
                    "composed_of": [f"{prefix}-{kind}-mappings", f"{prefix}-{kind}-settings"],
                    "priority": TEMPLATE_PRIORITY,
                },
            )
        )
    return {"ilm policy": policies, "component template": components, "index template": templates}


def _body_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def _with_meta(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "_meta": {"managed_by": MANAGED_BY, "hash": _body_hash(body)}}


def _existing_meta(client: Elasticsearch, kind: str, name: str) -> dict[str, Any] | None:
    try:
        if kind == "ilm policy":
            found = client.ilm.get_lifecycle(name=name)
            return found[name]["policy"].get("_meta", {})
        if kind == "component template":
            found = client.cluster.get_component_template(name=name)
            return found["component_templates"][0]["component_template"].get("_meta", {})
        found = client.indices.get_index_template(name=name)
        return found["index_templates"][0]["index_template"].get("_meta", {})
    except NotFoundError:
        return None


def _put(client: Elasticsearch, kind: str, name: str, body: dict[str, Any]) -> None:
    if kind == "ilm policy":
        client.ilm.put_lifecycle(name=name, policy=body)
    elif kind == "component template":
        client.cluster.put_component_template(
            name=name, template=body["template"], meta=body["_meta"]
        )
    else:
        client.indices.put_index_template(
            name=name,
            index_patterns=body["index_patterns"],
            composed_of=body["composed_of"],
            priority=body["priority"],
            meta=body["_meta"],
        )


def setup_elasticsearch(client: Elasticsearch, settings: ElasticsearchSettings) -> list[SetupStep]:
    """Make the cluster hold exactly LogiFlow's policies and templates; say what changed."""
    capabilities = detect_capabilities(client)
    steps: list[SetupStep] = []
    if not capabilities.ilm:
        for kind in (names.EVENTS, names.DEAD_LETTER, names.AGGREGATES, names.ANOMALIES):
            steps.append(
                SetupStep(
                    "ilm policy",
                    _policy_name(settings.index_prefix, kind),
                    "skipped",
                    f"{capabilities.ilm_detail}; {names.index_pattern(settings.index_prefix, kind)}"
                    f" is not deleted after {_retention(settings, kind)} on this cluster",
                )
            )
    for object_kind, objects in desired_objects(settings, capabilities).items():
        for name, body in objects:
            wanted = _with_meta(body)
            try:
                meta = _existing_meta(client, object_kind, name)
                if meta is not None and meta.get("hash") == wanted["_meta"]["hash"]:
                    steps.append(SetupStep(object_kind, name, "unchanged", "already up to date"))
                    continue
                _put(client, object_kind, name, wanted)
            except ApiError as exc:
                raise SetupError(
                    f"Elasticsearch refused {object_kind} {name} ({exc.status_code}): {exc.message}"
                    f" {_reason(exc)}"
                ) from exc
            if meta is None:
                steps.append(SetupStep(object_kind, name, "created"))
            elif meta.get("managed_by") != MANAGED_BY:
                steps.append(
                    SetupStep(
                        object_kind, name, "updated", "replaced a version not made by logiflow"
                    )
                )
            else:
                steps.append(SetupStep(object_kind, name, "updated", "definition changed"))
    return steps


def _reason(exc: ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    if isinstance(error, dict):
        return str(error.get("reason", ""))
    return str(error or "")
