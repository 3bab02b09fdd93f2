"""ECS field names of LogiFlow's event and dead-letter documents: the record contract.

Events are flat records whose keys are Elastic Common Schema field paths (``source.ip``,
``http.response.status_code``). Elasticsearch expands dotted keys into objects, so the documents
the sink writes are ECS as Kibana expects, with no renaming step in between. The ETL (Spark
columns), the index templates, ``logiflow report`` and the dashboards all name fields from here;
this module imports nothing, so the shipper and the CLI's light commands never load Spark.

Names starting with ``_logiflow`` are internal bookkeeping and never indexed.
"""

from __future__ import annotations

# --- Kafka record coordinates (as Filebeat's kafka input names them) -------------------------
KAFKA_TOPIC = "kafka.topic"
KAFKA_PARTITION = "kafka.partition"
KAFKA_OFFSET = "kafka.offset"
KAFKA_KEY = "kafka.key"
KAFKA_TIMESTAMP = "kafka.timestamp"

# --- ECS fields ---------------------------------------------------------------------------------
TIMESTAMP = "@timestamp"
EVENT_ORIGINAL = "event.original"
# Raw Kafka bytes, base64, kept only when they were not valid UTF-8 (event.original then holds
# the line with U+FFFD replacements, so nothing the sender wrote is lost).
EVENT_ORIGINAL_BASE64 = "event.original_base64"
EVENT_INGESTED = "event.ingested"
EVENT_DURATION = "event.duration"  # nanoseconds
EVENT_DATASET = "event.dataset"  # the detected/configured log format, e.g. "nginx.access"
LOG_LEVEL = "log.level"
LOG_FILE_PATH = "log.file.path"  # the file the shipper read (its record header of that name)
SOURCE_IP = "source.ip"
SOURCE_ADDRESS = "source.address"
CLIENT_IP = "client.ip"  # first address of X-Forwarded-For, when present
HTTP_REQUEST_METHOD = "http.request.method"
HTTP_VERSION = "http.version"
HTTP_REQUEST_REFERRER = "http.request.referrer"
HTTP_RESPONSE_STATUS_CODE = "http.response.status_code"
HTTP_RESPONSE_BODY_BYTES = "http.response.body.bytes"
URL_ORIGINAL = "url.original"
URL_PATH = "url.path"
URL_QUERY = "url.query"
URL_DOMAIN = "url.domain"
USER_NAME = "user.name"
USER_AGENT_ORIGINAL = "user_agent.original"
USER_AGENT_NAME = "user_agent.name"
USER_AGENT_VERSION = "user_agent.version"
USER_AGENT_OS_NAME = "user_agent.os.name"
USER_AGENT_DEVICE_NAME = "user_agent.device.name"
SERVICE_NAME = "service.name"
# How an event without a service (a producer that set no record key) is shown and labelled:
# the dashboards' split and the anomaly metric's label, so those events still count, visibly.
NO_SERVICE = "(none)"
HOST_NAME = "host.name"
TRACE_ID = "trace.id"
SOURCE_GEO_COUNTRY_ISO_CODE = "source.geo.country_iso_code"
SOURCE_GEO_COUNTRY_NAME = "source.geo.country_name"
ERROR_MESSAGE = "error.message"  # dead letters: why the line was rejected

# --- LogiFlow's own fields (custom fields live under the product's namespace, as ECS advises) ---
DEVICE_TYPE = "logiflow.device_type"  # desktop | mobile | tablet | bot | other
IS_BOT = "logiflow.is_bot"
ENDPOINT = "logiflow.endpoint"  # url.path with ids collapsed: /users/{id}
STATUS_CLASS = "logiflow.status_class"  # "2xx" .. "5xx"
IS_ERROR = "logiflow.is_error"  # status >= 400
EXTRA = "logiflow.extra"  # JSON log keys that have no ECS home, kept as a map
# An event whose own time was out of bounds (parse.event_time_max_ahead/_behind) is indexed at
# its arrival time: flagged true, with the time it claimed kept (etl.bound_event_time).
EVENT_TIME_OUT_OF_BOUNDS = "logiflow.event_time.out_of_bounds"
EVENT_TIME_ORIGINAL = "logiflow.event_time.original"

# --- internal bookkeeping (not indexed) -----------------------------------------------------------
OUTCOME = "_logiflow_outcome"  # one of the OUTCOME_* values below
FILTER_RULE = "_logiflow_filter_rule"  # name of the drop rule that matched
DOC_ID = "_logiflow_id"  # Elasticsearch _id: from the source identity, else Kafka coordinates

OUTCOME_INDEXED = "indexed"
OUTCOME_FILTERED = "filtered"
OUTCOME_DEAD_LETTER = "dead_letter"

# --- dead letters -------------------------------------------------------------------------------
EVENT_KIND = "event.kind"
EVENT_KIND_PIPELINE_ERROR = "pipeline_error"  # ECS's value for a line the pipeline rejected

# Names above that are values or belong to dead letters only, not fields of an event.
_NOT_EVENT_FIELDS = frozenset(
    {
        "OUTCOME_INDEXED",
        "OUTCOME_FILTERED",
        "OUTCOME_DEAD_LETTER",
        "EVENT_KIND",
        "EVENT_KIND_PIPELINE_ERROR",
        "NO_SERVICE",
    }
)


def event_fields() -> frozenset[str]:
    """Every public field of an event document (internal ``_logiflow`` columns excluded)."""
    return frozenset(
        value
        for name, value in globals().items()
        if name.isupper()
        and isinstance(value, str)
        and name not in _NOT_EVENT_FIELDS
        and not value.startswith("_logiflow")
    )
