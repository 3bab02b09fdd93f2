"""The one configuration model read by the CLI, the local run and the SparkApplication alike.

Sources, highest precedence first: explicit overrides (CLI flags), environment variables
(``LOGIFLOW_`` prefix, ``__`` between nesting levels, e.g. ``LOGIFLOW_KAFKA__BOOTSTRAP_SERVERS``),
a YAML file (``--config FILE`` or ``LOGIFLOW_CONFIG``), then the defaults below, which are the
embedded single-machine setup. Everything is validated at start-up: unknown keys and bad values
raise ``ConfigError`` naming the offending key.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from logiflow.errors import ConfigError
from logiflow.regex_safety import backtracking_problem

CONFIG_ENV_VAR = "LOGIFLOW_CONFIG"

# Spark interval strings ("1 minute", "30 seconds"); checked here so a typo fails at start-up,
# not when the streaming query is first planned.
_INTERVAL_RE = re.compile(r"^\s*\d+\s+(millisecond|second|minute|hour|day)s?\s*$", re.IGNORECASE)


_UNIT_SECONDS = {"millisecond": 0.001, "second": 1, "minute": 60, "hour": 3600, "day": 86400}


def _spark_interval(value: str) -> str:
    if not _INTERVAL_RE.match(value):
        raise ValueError(
            f"{value!r} is not an interval such as '30 seconds', '5 minutes' or '7 days'"
        )
    return value


# A config field holding a Spark interval string, checked at start-up.
Interval = Annotated[str, AfterValidator(_spark_interval)]


def interval_seconds(interval: str) -> float:
    """Seconds in a validated interval string ("30 days" -> 2592000.0)."""
    amount, unit = interval.split()
    return int(amount) * _UNIT_SECONDS[unit.lower().rstrip("s")]


def _bounded_regex(pattern: str) -> str:
    """``pattern`` unless Java's regex engine could backtrack on it without bound."""
    problem = backtracking_problem(pattern)
    if problem:
        raise PydanticCustomError(
            "catastrophic_regex",
            "{pattern} can backtrack catastrophically in Java's regex engine ({problem}); use a "
            "possessive quantifier (a++, [^/]*+) or drop the nested/overlapping repeat",
            {"pattern": repr(pattern), "problem": problem},
        )
    return pattern


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "logiflow"


def _default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "logiflow"


class _Section(BaseModel):
    """Every section rejects unknown keys: a typo must not silently become a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class KafkaSettings(_Section):
    bootstrap_servers: str = "127.0.0.1:9092"
    logs_topic: str = "logiflow-logs"
    # Lines that did not parse are written here as well as to Elasticsearch, for replay.
    # Empty or null: Elasticsearch only.
    dead_letter_topic: str | None = "logiflow-deadletter"
    # Spark appends its own suffix per query; the prefix makes our consumers easy to find.
    consumer_group_prefix: str = "logiflow-etl"
    # The group the ETL commits each finished batch's end offsets to, so Kafka's lag tools
    # (kafka-consumer-groups.sh, Kafka Exporter) see its lag; the checkpoint stays the truth.
    # Empty or null: no commits.
    consumer_group: str | None = "logiflow-etl"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    # Used with the SASL protocols; Strimzi's KafkaUser with SCRAM authentication uses SHA-512.
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    # PEM file with the CA that signed the brokers' certificates (Strimzi's cluster CA).
    ssl_ca_location: Path | None = None
    # PEM client certificate/key for mTLS (Strimzi KafkaUser with tls authentication).
    ssl_certificate_location: Path | None = None
    ssl_key_location: Path | None = None
    starting_offsets: Literal["earliest", "latest"] = "earliest"
    # Back-pressure: the most records one micro-batch reads across all partitions.
    max_offsets_per_trigger: int = Field(default=200_000, gt=0)
    # Data deleted by retention before we read it must fail the query loudly.
    fail_on_data_loss: bool = True

    @field_validator("dead_letter_topic", "consumer_group")
    @classmethod
    def _empty_topic_is_none(cls, value: str | None) -> str | None:
        # An empty environment variable is how a deployment switches the topic off.
        return value or None

    @model_validator(mode="after")
    def _security_is_consistent(self) -> KafkaSettings:
        # One check for both clients (librdkafka and Spark's Java client), so a setting that
        # works for the shipper cannot fail in the ETL. Two things are checked where a client
        # is built (io.kafka_client) instead: that the PEM files can be read and that SASL has
        # its username and password. On a cluster the same config file is read by pods that
        # never talk to Kafka (es-setup, the Kibana import, helm test's dashboard check), and
        # only the pods that do get the files mounted and the credentials from their Secrets.
        problems = _security_problems(self)
        if problems:
            # A custom error type keeps pydantic's "Value error, " prefix off the message.
            raise PydanticCustomError("kafka_security", "; ".join(problems))
        return self


def _security_problems(kafka: KafkaSettings) -> list[str]:
    protocol = kafka.security_protocol
    problems = []
    has_cert = kafka.ssl_certificate_location is not None
    if has_cert != (kafka.ssl_key_location is not None):
        problems.append("mTLS needs both kafka.ssl_certificate_location and kafka.ssl_key_location")
    tls_files = [
        f"kafka.{name}"
        for name in ("ssl_ca_location", "ssl_certificate_location", "ssl_key_location")
        if getattr(kafka, name) is not None
    ]
    if tls_files and protocol not in ("SSL", "SASL_SSL"):
        problems.append(
            f"{', '.join(tls_files)} set but kafka.security_protocol is {protocol}; "
            "use SSL or SASL_SSL"
        )
    return problems


class ElasticsearchSettings(_Section):
    hosts: list[str] = ["http://127.0.0.1:9200"]
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    # PEM CA for https hosts (ECK's http CA); verification is never turned off.
    ca_certs: Path | None = None
    index_prefix: str = "logiflow"
    bulk_chunk_size: int = Field(default=2000, gt=0)
    bulk_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    # Bulk requests each Spark task keeps in flight; the next chunk is built meanwhile. 2 did
    # not help where Elasticsearch shares the job's two cores (docs/performance.md); it may
    # where Elasticsearch has cores of its own and the network adds round trips.
    bulk_concurrency: int = Field(default=1, gt=0)
    # The sink retries an unavailable, overloaded or blocked Elasticsearch without bound (the
    # batch waits, uncommitted): back-off doubles from the first delay up to the cap.
    initial_backoff_seconds: float = Field(default=0.5, gt=0)
    max_backoff_seconds: float = Field(default=30.0, gt=0)
    request_timeout_seconds: float = Field(default=60.0, gt=0)
    # Retention of time-based indices (enforced by an ILM policy where the cluster has ILM).
    events_retention: str = "30d"
    aggregates_retention: str = "400d"
    dead_letter_retention: str = "30d"
    anomalies_retention: str = "400d"
    # How soon an indexed document becomes searchable (the index templates' refresh interval):
    # part of the produce-to-searchable latency; longer intervals cost Elasticsearch less.
    refresh_interval: str = Field(default="1s", pattern=r"^[1-9][0-9]*(ms|s|m)$")

    @field_validator("hosts")
    @classmethod
    def _hosts_have_scheme(cls, hosts: list[str]) -> list[str]:
        if not hosts:
            raise ValueError("at least one host is required")
        for host in hosts:
            if not host.startswith(("http://", "https://")):
                raise ValueError(f"host {host!r} must start with http:// or https://")
        return hosts


class KibanaSettings(_Section):
    """Kibana's HTTP API, used by ``logiflow kibana-import`` and ``kibana-check`` (the chart)."""

    url: str = "http://127.0.0.1:5601"
    username: str | None = None
    password: SecretStr | None = None
    # PEM CA for an https url (ECK's Kibana http CA); verification is never turned off.
    ca_certs: Path | None = None
    # Space the saved objects go to; "default" is Kibana's own (no /s/<space> in the path).
    space: str = Field(default="default", pattern=r"^[a-z0-9_-]+$")
    request_timeout_seconds: float = Field(default=60.0, gt=0)
    # How long to wait for Kibana to report "available" (a new ECK Kibana takes minutes).
    ready_timeout_seconds: float = Field(default=600.0, gt=0)

    @field_validator("url")
    @classmethod
    def _url_has_scheme(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"url {url!r} must start with http:// or https://")
        return url.rstrip("/")


class CustomFormat(_Section):
    """A format derived from the user's own web server configuration, no regex writing."""

    # Exactly one of these: the text of an nginx ``log_format`` directive (with or without
    # the ``log_format name`` prefix) or an Apache ``LogFormat`` string.
    nginx_log_format: str | None = None
    apache_log_format: str | None = None


class ParseSettings(_Section):
    # "auto" detects each line (JSON, combined, common, then the custom formats in order).
    default_format: str = "auto"
    # Per-topic choice of format, e.g. {"nginx-edge": "combined", "api": "json"}.
    topic_formats: dict[str, str] = {}
    custom_formats: dict[str, CustomFormat] = {}
    # Longer lines are dead-lettered (with the whole line kept) rather than parsed.
    max_line_bytes: int = Field(default=32 * 1024, gt=0)
    # Timezone assumed for JSON timestamps that carry no offset.
    default_timezone: str = "UTC"
    # How far an event's own time may lie ahead of / behind its arrival (its Kafka time). An
    # event outside is indexed at its arrival time, flagged, with the time it claimed kept
    # (etl.bound_event_time says why), so no clock or forged date can open indices without
    # bound or put an event years away from its neighbours.
    event_time_max_ahead: Interval = "1 day"
    event_time_max_behind: Interval = "30 days"


class EndpointRule(_Section):
    """Path segments matching ``pattern`` (a full-segment Java regex) become ``replacement``."""

    pattern: str
    replacement: str = "{id}"

    @field_validator("pattern")
    @classmethod
    def _bounded(cls, pattern: str) -> str:
        return _bounded_regex(pattern)


DEFAULT_ENDPOINT_RULES = (
    EndpointRule(pattern=r"[0-9]+"),
    EndpointRule(
        pattern=r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    ),
    EndpointRule(pattern=r"[0-9a-fA-F]{16,}"),
    EndpointRule(pattern=r"[A-Za-z0-9_-]{24,}"),
)


class EnrichSettings(_Section):
    endpoint_rules: list[EndpointRule] = list(DEFAULT_ENDPOINT_RULES)
    # Distinct user agents kept parsed per Python worker; real traffic has few thousand.
    user_agent_cache_size: int = Field(default=20_000, gt=0)
    geo_enabled: bool = True


class DropRule(_Section):
    """Events for which ``field`` matches are counted as filtered and not indexed."""

    name: str
    field: str
    # equals | in | prefix | suffix | regex
    op: Literal["equals", "in", "prefix", "suffix", "regex"]
    value: str | int | bool | list[str | int]

    @field_validator("value")
    @classmethod
    def _bounded(cls, value: Any, info: ValidationInfo) -> Any:
        if info.data.get("op") == "regex" and isinstance(value, str):
            return _bounded_regex(value)
        return value


class FilterSettings(_Section):
    drop: list[DropRule] = []


class AggregateSettings(_Section):
    window: Interval = "1 minute"


class AnomalySettings(_Section):
    """Streaming anomaly detection (``logiflow.anomaly``); the detector's knobs are per window
    of ``aggregate.window`` (a minute by default)."""

    enabled: bool = False
    # Where the events query sends its per-window partial counts for the anomaly query.
    topic: str = "logiflow-minute-counts"
    # How late a partial may arrive and still count: the watermark's delay.
    lateness: Interval = "2 minutes"
    z_threshold: float = Field(default=4.0, gt=0)
    warmup_windows: int = Field(default=60, ge=0)
    min_requests: float = Field(default=20.0, ge=0)
    min_errors: int = Field(default=5, ge=1)
    min_rate_rise: float = Field(default=0.05, ge=0, le=1)
    min_traffic_change: float = Field(default=0.5, ge=0)
    min_latency_rise: float = Field(default=0.5, ge=0)
    # A series with no traffic for this many windows stops being judged (silence is judged
    # until then: a drop to zero is an anomaly).
    idle_windows: int = Field(default=60, gt=0)
    # A series' state is deleted when no partial came for this long.
    state_ttl: Interval = "7 days"


class SparkSettings(_Section):
    master: str = "local[*]"
    app_name: str = "logiflow-etl"
    checkpoint_dir: str = str(_default_state_dir() / "checkpoints")
    trigger_interval: str = "5 seconds"
    shuffle_partitions: int = Field(default=4, gt=0)
    # Extra Spark conf passed through as-is (e.g. spark.executor.memory).
    conf: dict[str, str] = {}


class ArchiveSettings(_Section):
    """The raw-log archive: every record of the logs topic, as Parquet on S3 (``archive_query``).

    Any S3 endpoint works (AWS S3, MinIO, Ceph RGW, s3proxy). With ``local.`` servers and no
    ``endpoint`` of its own, the archive goes to the local s3proxy (``logiflow local up``).
    """

    enabled: bool = False
    # http(s)://host:port of the S3 API; None: AWS S3 of ``region`` (or the local s3proxy).
    endpoint: str | None = None
    bucket: str = Field(default="logiflow-archive", pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    # Objects go under s3a://<bucket>/<prefix>/topic=<topic>/date=<yyyy-mm-dd>/hour=<hh>/.
    prefix: str = Field(default="raw", pattern=r"^[A-Za-z0-9._/-]+$")
    region: str = "us-east-1"
    # Path-style URLs (http://host/bucket/key): MinIO, Ceph RGW and s3proxy need them.
    path_style: bool = True
    # Static credentials; unset: the AWS default chain (env, web identity, instance profile).
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    # One Parquet file per partition directory and trigger: a longer interval and a larger
    # max_records_per_trigger make fewer, larger files (README, Raw-log archive).
    trigger_interval: Interval = "5 minutes"
    max_records_per_trigger: int = Field(default=2_000_000, gt=0)
    compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"

    @field_validator("endpoint")
    @classmethod
    def _endpoint_has_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"endpoint {value!r} must start with http:// or https://")
        return value or None

    @field_validator("prefix")
    @classmethod
    def _prefix_is_relative(cls, value: str) -> str:
        return value.strip("/")

    @model_validator(mode="after")
    def _keys_in_pairs(self) -> ArchiveSettings:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise PydanticCustomError(
                "archive_credentials",
                "set both archive.access_key_id and archive.secret_access_key, or neither",
            )
        return self

    @property
    def url(self) -> str:
        """The archive's root, as Spark's s3a filesystem names it."""
        return f"s3a://{self.bucket}/{self.prefix}"


class ShipSettings(_Section):
    """The Kafka producer of ``logiflow ship`` and ``logiflow generate``."""

    # Records are keyed "<host>/<service>" so one source stays in order on one partition.
    # host defaults to this machine's name, service to the shipped file's name ("stdin").
    host: str | None = None
    service: str | None = None
    # Longer lines never reach Kafka (the broker's message.max.bytes, 1 MiB by default, would
    # refuse them): they are kept intact in reject_file and counted. Lines over
    # parse.max_line_bytes but under this still go to Kafka, and the ETL dead-letters them whole.
    max_line_bytes: int = Field(default=512 * 1024, gt=0, le=1_000_000)
    compression: Literal["zstd", "lz4", "snappy", "gzip", "none"] = "zstd"
    linger_ms: int = Field(default=50, ge=0)
    batch_bytes: int = Field(default=512 * 1024, gt=0)
    # Bounded memory: with this much unacknowledged, reading pauses until Kafka catches up.
    queue_max_messages: int = Field(default=100_000, gt=0)
    queue_max_kbytes: int = Field(default=64 * 1024, gt=0)
    # A record not acknowledged within this time counts as failed (and the command fails).
    delivery_timeout_seconds: float = Field(default=120.0, gt=0)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    poll_interval_seconds: float = Field(default=0.25, gt=0)
    # Defaults: <local.state_dir>/shipper/positions.json and .../rejected.log
    state_file: Path | None = None
    reject_file: Path | None = None


class LocalSettings(_Section):
    """The embedded default: servers run as local processes on loopback."""

    cache_dir: Path = _default_cache_dir()
    state_dir: Path = _default_state_dir()
    kafka_version: str = "4.3.1"  # the version the chart deploys through Strimzi 1.2.0
    elasticsearch_version: str = "8.19.21"
    kafka_port: int = Field(default=9092, gt=0, lt=65536)
    kafka_controller_port: int = Field(default=9093, gt=0, lt=65536)
    # Where the broker serves its metrics through Strimzi's metrics reporter, as the chart's
    # brokers do (the local Prometheus scrapes it); 0 runs the broker without it.
    kafka_metrics_port: int = Field(default=0, ge=0, lt=65536)
    elasticsearch_port: int = Field(default=9200, gt=0, lt=65536)
    # The local S3 server (org.gaul:s3proxy, filesystem backend), started when archive.enabled.
    s3proxy_version: str = "4.1.0"
    s3proxy_port: int = Field(default=9000, gt=0, lt=65536)
    s3proxy_heap: str = "256m"
    kafka_heap: str = "512m"
    elasticsearch_heap: str = "1g"
    # The Prometheus `logiflow local up --prometheus` starts (Debian's `prometheus` package),
    # scraping the components that serve metrics here (metrics.port) and the Spark UI.
    prometheus_binary: Path = Path("/usr/bin/prometheus")
    prometheus_port: int = Field(default=9090, gt=0, lt=65536)
    prometheus_scrape_interval_seconds: float = Field(default=5.0, gt=0)
    # Elasticsearch's exporter (prometheus-community's elasticsearch_exporter), started with the
    # local Prometheus; `make` builds the version below into <cache_dir> (None: that binary).
    elasticsearch_exporter_version: str = "v1.10.0"
    elasticsearch_exporter_binary: Path | None = None
    elasticsearch_exporter_port: int = Field(default=9114, gt=0, lt=65536)

    @property
    def elasticsearch_exporter_path(self) -> Path:
        """The exporter binary: the configured one, else where `make` builds it."""
        version = self.elasticsearch_exporter_version
        default = self.cache_dir / f"elasticsearch_exporter-{version}" / "elasticsearch_exporter"
        return self.elasticsearch_exporter_binary or default


class DashboardSettings(_Section):
    """The local web dashboard (``logiflow dashboard``, started by ``logiflow run``)."""

    # Loopback by default: the page shows traffic data and has no login.
    host: str = "127.0.0.1"
    port: int = Field(default=5601, gt=0, lt=65536)
    # How often the page reloads its panels; 0 turns auto-refresh off.
    refresh_seconds: float = Field(default=5.0, ge=0)
    # IANA zone of the access-time heatmap and the time axes, e.g. "Europe/Paris".
    time_zone: str = "UTC"
    # The range the page opens with, counted back from now (the page picks the range the data
    # covers instead when nothing falls in it).
    default_range_minutes: int = Field(default=60, gt=0)
    # Over more events than this in range, the panels only events can answer (latency
    # percentiles, top endpoints' p95, browsers, OSes, devices, countries) read a random sample of
    # about this many (docs/dashboards.md, Performance); 0 never samples.
    sample_size: int = Field(default=300_000, ge=0)
    # Prometheus whose pipeline metrics the page's live health figures read; unset: the local
    # one of local.state_dir when it runs (`logiflow local up --prometheus`).
    prometheus_url: str | None = Field(default=None, pattern=r"^https?://")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone such as 'Europe/Paris'") from exc
        return value


class MetricsSettings(_Section):
    """The Prometheus endpoint (``/metrics``) of the ETL driver, the shipper and the dashboard."""

    # Loopback by default; the chart listens on every address of the pod.
    host: str = "127.0.0.1"
    # 0 turns the endpoint off. One process serves one port (``logiflow run``'s ETL and
    # dashboard share it): give separate commands on one machine separate ports.
    port: int = Field(default=0, ge=0, lt=65536)


class LogiflowConfig(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LOGIFLOW_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    kafka: KafkaSettings = KafkaSettings()
    elasticsearch: ElasticsearchSettings = ElasticsearchSettings()
    kibana: KibanaSettings = KibanaSettings()
    parse: ParseSettings = ParseSettings()
    enrich: EnrichSettings = EnrichSettings()
    filter: FilterSettings = FilterSettings()
    aggregate: AggregateSettings = AggregateSettings()
    anomaly: AnomalySettings = AnomalySettings()
    spark: SparkSettings = SparkSettings()
    ship: ShipSettings = ShipSettings()
    local: LocalSettings = LocalSettings()
    dashboard: DashboardSettings = DashboardSettings()
    archive: ArchiveSettings = ArchiveSettings()
    metrics: MetricsSettings = MetricsSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_data = _YAML_DATA_FOR_NEXT_LOAD.pop("data", {})
        return (
            init_settings,
            env_settings,
            InitSettingsSource(settings_cls, init_kwargs=yaml_data),
        )


# load_config hands the parsed YAML to settings_customise_sources through this slot, because
# pydantic-settings builds sources from the class, not from arguments.
_YAML_DATA_FOR_NEXT_LOAD: dict[str, dict[str, Any]] = {}


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return data


def _describe(error: ValidationError, origin: str) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        problems.append(f"{where}: {item['msg']}")
    return f"invalid configuration ({origin}): " + "; ".join(problems)


def load_config(
    path: Path | str | None = None, overrides: dict[str, Any] | None = None
) -> LogiflowConfig:
    """Build and validate the config; ``overrides`` are nested dicts from CLI flags."""
    if path is None and os.environ.get(CONFIG_ENV_VAR):
        path = os.environ[CONFIG_ENV_VAR]
    yaml_data = _read_yaml(Path(path)) if path is not None else {}
    origin = f"file {path}, env LOGIFLOW_*, flags" if path else "env LOGIFLOW_*, flags"
    _YAML_DATA_FOR_NEXT_LOAD["data"] = yaml_data
    try:
        return LogiflowConfig(**(overrides or {}))
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origin)) from exc
    finally:
        _YAML_DATA_FOR_NEXT_LOAD.pop("data", None)


def index_name(config: LogiflowConfig, kind: Literal["events", "aggregates", "deadletter"]) -> str:
    """Name (or pattern stem) of the indices holding one kind of document."""
    return f"{config.elasticsearch.index_prefix}-{kind}"
