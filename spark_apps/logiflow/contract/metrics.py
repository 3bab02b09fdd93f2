"""Prometheus metric names that LogiFlow exports and its alerts and dashboards query.

The exporters (ETL driver, shipper, dashboard server) register these names; the chart's
``PrometheusRule``, the Grafana dashboard and ``logiflow status`` read them. One list keeps the
writers and readers in step: a test checks that every name a rule or panel uses is here.
Names follow Prometheus conventions: the ``logiflow_`` namespace, the component, base units
(seconds, bytes), ``_total`` for counters. Label names are listed with the metric that has them;
label values stay low-cardinality (a dead letter's reason is its class, never its message).
"""

from __future__ import annotations

from dataclasses import dataclass

COUNTER = "counter"
GAUGE = "gauge"
HISTOGRAM = "histogram"

# Label names shared by several metrics.
TOPIC = "topic"
PARTITION = "partition"
REASON = "reason"
CAUSE = "cause"
PATH = "path"
QUERY = "query"

# Label values of ETL_DEAD_LETTERS' reason: a dead letter's class, from its message
# (etl.dead_letter_reasons), or the events Elasticsearch rejected.
REASON_EMPTY_LINE = "empty_line"
REASON_LINE_TOO_LONG = "line_too_long"
REASON_NOT_JSON_OBJECT = "not_json_object"
REASON_NO_FORMAT_MATCHED = "no_format_matched"
REASON_BAD_TIMESTAMP = "bad_timestamp"
REASON_NOT_A_NUMBER = "not_a_number"
REASON_ES_REJECTED = "elasticsearch_rejected"
REASON_OTHER = "other"
DEAD_LETTER_REASONS = (
    REASON_EMPTY_LINE,
    REASON_LINE_TOO_LONG,
    REASON_NOT_JSON_OBJECT,
    REASON_NO_FORMAT_MATCHED,
    REASON_BAD_TIMESTAMP,
    REASON_NOT_A_NUMBER,
    REASON_ES_REJECTED,
    REASON_OTHER,
)
# Label values of ETL_ES_RETRIES' cause (io.bulk_retries names the transient failure).
RETRY_CAUSES = ("unreachable", "timeout", "overloaded", "unavailable", "blocked", "no_answer")


@dataclass(frozen=True)
class Metric:
    """One exported metric: its full name (counters without the ``_total`` suffix the client
    library appends), type, help text and label names."""

    name: str
    kind: str
    help: str
    labels: tuple[str, ...] = ()

    @property
    def sample_name(self) -> str:
        """The name a query uses: counters are exposed with ``_total``."""
        return f"{self.name}_total" if self.kind == COUNTER else self.name


# The ETL job's driver.
ETL_RECORDS_READ = Metric(
    "logiflow_etl_records_read", COUNTER, "Kafka records the ETL read.", (TOPIC,)
)
ETL_EVENTS_INDEXED = Metric(
    "logiflow_etl_events_indexed", COUNTER, "Event documents Elasticsearch accepted."
)
ETL_RECORDS_FILTERED = Metric(
    "logiflow_etl_records_filtered", COUNTER, "Records dropped by the configured drop rules."
)
ETL_DEAD_LETTERS = Metric(
    "logiflow_etl_dead_letters", COUNTER, "Records sent to the dead-letter topic.", (REASON,)
)
ETL_LATE_RECORDS = Metric(
    "logiflow_etl_late_records",
    COUNTER,
    "Events indexed at their arrival time because their own time lay too far behind it.",
)
ETL_EVENT_TIME_OUT_OF_BOUNDS = Metric(
    "logiflow_etl_event_time_out_of_bounds",
    COUNTER,
    "Events indexed at their arrival time because their own time was out of bounds.",
)
ETL_ES_RETRIES = Metric(
    "logiflow_etl_elasticsearch_retries",
    COUNTER,
    "Bulk requests or documents retried after a transient Elasticsearch failure.",
    (CAUSE,),
)
ETL_ES_REJECTIONS = Metric(
    "logiflow_etl_elasticsearch_rejections",
    COUNTER,
    "Documents Elasticsearch rejected for good (sent to dead letters).",
)
ETL_SINK_WAITING = Metric(
    "logiflow_etl_sink_waiting",
    GAUGE,
    "1 while the sink waits out an Elasticsearch outage, else 0.",
)
ETL_BATCH_DURATION = Metric(
    "logiflow_etl_batch_duration_seconds", HISTOGRAM, "Wall time of one micro-batch."
)
ETL_BATCH_ROWS = Metric("logiflow_etl_batch_rows", HISTOGRAM, "Input rows of one micro-batch.")
ETL_INPUT_RATE = Metric(
    "logiflow_etl_input_records_per_second",
    GAUGE,
    "Input rate of the last micro-batch, as Spark's progress reports it.",
)
ETL_PROCESSING_RATE = Metric(
    "logiflow_etl_processed_records_per_second",
    GAUGE,
    "Processing rate of the last micro-batch, as Spark's progress reports it.",
)
ETL_CONSUMER_LAG_RECORDS = Metric(
    "logiflow_etl_consumer_lag_records",
    GAUGE,
    "Records between the partition's end and the ETL's committed offset.",
    (TOPIC, PARTITION),
)
ETL_CONSUMER_LAG_SECONDS = Metric(
    "logiflow_etl_consumer_lag_seconds",
    GAUGE,
    "Age of the oldest record the ETL has not committed yet.",
    (TOPIC, PARTITION),
)
ETL_LAST_BATCH_TIMESTAMP = Metric(
    "logiflow_etl_last_batch_timestamp_seconds",
    GAUGE,
    "Unix time when the last micro-batch committed.",
)
ETL_QUERY_RESTARTS = Metric(
    "logiflow_etl_query_restarts",
    COUNTER,
    "Restarts of a streaming query after a failure, inside the job, by query.",
    (QUERY,),
)

# The ETL's anomaly query (anomaly detection on).
ANOMALIES_DETECTED = Metric(
    "logiflow_anomalies_detected",
    COUNTER,
    "Anomalies the streaming detector found (anomaly documents written).",
    ("service", "metric", "severity"),
)

# The log shipper.
SHIPPER_LINES_READ = Metric(
    "logiflow_shipper_lines_read", COUNTER, "Lines read from log files.", (PATH,)
)
SHIPPER_LINES_ACKED = Metric(
    "logiflow_shipper_lines_acked", COUNTER, "Lines the broker acknowledged.", (PATH,)
)
SHIPPER_LINES_QUEUED = Metric(
    "logiflow_shipper_lines_queued", GAUGE, "Lines sent and not yet acknowledged."
)
SHIPPER_FILE_POSITION = Metric(
    "logiflow_shipper_file_position_bytes",
    GAUGE,
    "Byte offset up to which a file's lines are acknowledged.",
    (PATH,),
)

# The local dashboard server.
DASHBOARD_REQUESTS = Metric(
    "logiflow_dashboard_requests", COUNTER, "Dashboard API requests served.", ("panel",)
)
DASHBOARD_QUERY_DURATION = Metric(
    "logiflow_dashboard_query_duration_seconds",
    HISTOGRAM,
    "Time to answer one dashboard panel query.",
    ("panel",),
)

ALL: tuple[Metric, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Metric))
