"""Parses each decoded line into Elastic Common Schema columns, whatever its format.

The format is chosen per line: per Kafka topic (``parse.topic_formats``), else
``parse.default_format``; "auto" sends lines starting with ``{`` to the JSON parser and tries
the access-log formats on the rest (combined — which also reads common lines —, nginx's "main",
then the custom formats in config order).

Every line is parsed once: one ``regexp_replace`` per tried format (see ``parse_access``) or
one ``from_json``, then a single split. All formats fill the same slots, and one set of column
expressions turns slots into ECS columns, so every row has the same schema. Nothing here throws
on bad data (ANSI mode is on: every conversion is a ``try_`` function); a line that cannot be
parsed ends as a dead letter with the reason in ``error.message``.
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from logiflow.config import ParseSettings
from logiflow.contract import ecs
from logiflow.errors import ConfigError
from logiflow.etl import log_format as lf
from logiflow.etl import parse_access as pa
from logiflow.etl import parse_json as pj
from logiflow.etl.columns import col

CLF_TIME_PATTERN = "dd/MMM/yyyy:HH:mm:ss Z"

# Columns parse_lines adds, in output order (the same for every format).
ECS_COLUMNS: tuple[str, ...] = (
    ecs.TIMESTAMP,
    ecs.SOURCE_IP,
    ecs.SOURCE_ADDRESS,
    ecs.CLIENT_IP,
    ecs.USER_NAME,
    ecs.HTTP_REQUEST_METHOD,
    ecs.HTTP_VERSION,
    ecs.URL_ORIGINAL,
    ecs.URL_PATH,
    ecs.URL_QUERY,
    ecs.URL_DOMAIN,
    ecs.HTTP_RESPONSE_STATUS_CODE,
    ecs.HTTP_RESPONSE_BODY_BYTES,
    ecs.HTTP_REQUEST_REFERRER,
    ecs.USER_AGENT_ORIGINAL,
    ecs.EVENT_DURATION,
    ecs.SERVICE_NAME,
    ecs.HOST_NAME,
    ecs.TRACE_ID,
    ecs.LOG_LEVEL,
    ecs.EVENT_DATASET,
    ecs.EXTRA,
)

_IPV4 = r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_H = "[0-9A-Fa-f]{1,4}"
# Only syntactically valid addresses reach source.ip: Elasticsearch rejects a document whose
# ip field is not an address ("unix:", host names from HostnameLookups).
IP_REGEX = (
    f"^(?:{_IPV4}"
    f"|(?:{_H}:){{7}}{_H}"
    f"|(?:{_H}:){{1,7}}:"
    f"|(?:{_H}:){{1,6}}:{_H}"
    f"|(?:{_H}:){{1,5}}(?::{_H}){{1,2}}"
    f"|(?:{_H}:){{1,4}}(?::{_H}){{1,3}}"
    f"|(?:{_H}:){{1,3}}(?::{_H}){{1,4}}"
    f"|(?:{_H}:){{1,2}}(?::{_H}){{1,5}}"
    f"|{_H}:(?::{_H}){{1,6}}"
    f"|:(?:(?::{_H}){{1,7}}|:)"
    f"|::(?:[Ff]{{4}}(?::0{{1,4}})?:)?{_IPV4}"
    f"|(?:{_H}:){{1,4}}:{_IPV4}"
    f"|(?:{_H}:){{6}}{_IPV4})$"
)

# Internal columns (dropped before returning).
_CHOICE = "_lf_choice"
_IS_JSON = "_lf_is_json"
_MATCH = "_lf_match"
_MATCHED = "_lf_matched"
_ARR = "_lf_slots"
_JSON = "_lf_json"
_JKNOWN = "_lf_json_known"
_JURL = "_lf_json_url_parts"
_JEXTRA = "_lf_json_extra"
_JSON_BAD = "_lf_json_bad"
_TIME = "_lf_time"
_STATUS = "_lf_status"
_BYTES = "_lf_bytes"
_SOURCE_IP = "_lf_source_ip"
_TIME_TEXT = "_lf_time_text"
_PREFIX_SLOT = "_lf_s_"
_PREFIX_JSON = "_lf_j_"


def _slot(name: str) -> Column:
    return F.col(f"`{_PREFIX_SLOT}{name}`")


def _valid_ip(value: Column) -> Column:
    return F.when(value.rlike(IP_REGEX), value)


def _decimal(value: Column, precision: int, scale: int) -> Column:
    return value.try_cast(f"decimal({precision},{scale})")


def _to_long(value: Column) -> Column:
    return value.try_cast("long")


def _number(value: Column, kind: str) -> Column:
    """Integer text, or a JSON number with a zero fraction ("200.0")."""
    return F.coalesce(value.try_cast(kind), _decimal(value, 20, 3).try_cast(kind))


def _json_timestamp(text: Column, default_timezone: str) -> Column:
    """ISO 8601 with or without offset, CLF, or epoch seconds/ms/us/ns by magnitude."""
    # Dates and times always have a ":", epoch numbers never: the decimal conversion (costly
    # on text that is not a number) runs only on text that can be one.
    num = F.when(~text.contains(":"), _decimal(text, 38, 6))
    magnitude = F.abs(num)
    epoch = (
        F.when(magnitude < 1e11, F.timestamp_seconds(num))
        .when(magnitude < 1e14, F.timestamp_millis(_to_long(num)))
        .when(magnitude < 1e17, F.timestamp_micros(_to_long(num)))
        .when(magnitude < 1e20, F.timestamp_micros(_to_long(num / 1000)))
    )
    parsed = F.coalesce(
        F.try_to_timestamp(F.replace(text, F.lit(","), F.lit("."))),
        clf_timestamp(text),
    )
    if default_timezone != "UTC":
        has_zone = text.rlike(r"(?i)(z|utc|gmt|[+-]\d\d:?\d\d)$")
        parsed = F.when(has_zone, parsed).otherwise(F.to_utc_timestamp(parsed, default_timezone))
    return F.when(num.isNotNull(), epoch).otherwise(parsed)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _month_number(name: Column) -> Column:
    numbers = F.create_map(
        *(part for i, month in enumerate(_MONTHS) for part in (F.lit(month), F.lit(f"{i + 1:02d}")))
    )
    return F.try_element_at(numbers, name)


def clf_timestamp(text: Column) -> Column:
    """``24/Nov/2026:22:04:15 +0530`` (nginx $time_local, Apache %t) to a UTC timestamp.

    The canonical 26-character form is rewritten to ISO 8601 and read by Spark's built-in
    timestamp cast (measured: about 4x cheaper than the pattern-based parser); anything else
    (other widths, lower-case months) goes through the pattern ``CLF_TIME_PATTERN``.
    """
    canonical = (
        (F.length(text) == 26)
        & (F.substring(text, 3, 1) == "/")
        & (F.substring(text, 7, 1) == "/")
        & (F.substring(text, 12, 1) == ":")
        & (F.substring(text, 21, 1) == " ")
    )
    iso = F.concat(
        F.substring(text, 8, 4),
        F.lit("-"),
        _month_number(F.substring(text, 4, 3)),
        F.lit("-"),
        F.substring(text, 1, 2),
        F.lit("T"),
        F.substring(text, 13, 8),
        F.substring(text, 22, 3),
        F.lit(":"),
        F.substring(text, 25, 2),
    )
    fast = F.when(canonical, F.try_to_timestamp(iso))
    return F.coalesce(fast, F.try_to_timestamp(text, F.lit(CLF_TIME_PATTERN)))


def _duration_ns() -> Column:
    def scaled(slot: str, scale: int, factor: int) -> Column:
        return _to_long(_decimal(_slot(slot), 18, scale) * F.lit(factor))

    return F.coalesce(
        scaled(lf.DURATION_S, 9, 1_000_000_000),
        scaled(lf.DURATION_MS, 6, 1_000_000),
        scaled(lf.DURATION_US, 3, 1_000),
        _to_long(_decimal(_slot(pj.DURATION_NS), 20, 0)),
    )


def _strip_port(host: Column) -> Column:
    bracketed = F.concat(F.substring_index(host, "]", 1), F.lit("]"))
    return (
        F.when(host.startswith("["), bracketed)
        .when(F.size(F.split(host, ":")) == 2, F.substring_index(host, ":", 1))
        .otherwise(host)
    )


def _check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"parse.default_timezone: {name!r} is not a time zone name (e.g. UTC, Europe/Berlin)"
        ) from exc


def parse_lines(settings: ParseSettings) -> Callable[[DataFrame], DataFrame]:
    """decode_kafka_records output -> the same rows with ECS columns and a final outcome.

    Adds ``ECS_COLUMNS`` (``@timestamp`` ... ``logiflow.extra``) and sets ``_logiflow_outcome``
    to "indexed" or "dead_letter" (with ``error.message``) on every row. Raises ConfigError or
    LogFormatError at construction time for unknown format names or bad custom formats.
    """
    _check_timezone(settings.default_timezone)
    custom = pa.compile_custom_formats(settings)
    formats = pa.all_formats(custom)
    choices = dict.fromkeys([settings.default_format, *settings.topic_formats.values()])
    per_choice = {c: pa.regex_formats_for_choice(c, custom) for c in choices}
    order = [
        name
        for name in [*pa.AUTO_BUILTINS, "common", *custom]
        if any(name in names for names in per_choice.values())
    ]
    layout = pa.SlotLayout.for_formats([formats[n] for n in order])
    uses_json = any(c in ("auto", "json") for c in choices)

    def choice_column(topic: Column) -> Column:
        if not settings.topic_formats:
            return F.lit(settings.default_format)
        expr = None
        for topic_name, fmt in settings.topic_formats.items():
            cond = topic == F.lit(topic_name)
            expr = F.when(cond, F.lit(fmt)) if expr is None else expr.when(cond, F.lit(fmt))
        assert expr is not None
        return expr.otherwise(F.lit(settings.default_format))

    def transform(df: DataFrame) -> DataFrame:
        input_columns = [c for c in df.columns if c not in (ecs.ERROR_MESSAGE, ecs.OUTCOME)]
        line = col(ecs.EVENT_ORIGINAL)
        decode_error = col(ecs.ERROR_MESSAGE)
        decoded = decode_error.isNull()

        df = df.withColumn(_CHOICE, choice_column(col(ecs.KAFKA_TOPIC)))
        choice = F.col(_CHOICE)
        if uses_json:
            looks_json = (choice == "json") | ((choice == "auto") & F.ltrim(line).startswith("{"))
            df = df.withColumn(_IS_JSON, decoded & looks_json)
        else:
            df = df.withColumn(_IS_JSON, F.lit(False))
        is_json = F.col(_IS_JSON)

        # One projection per format: each row runs regexes only until one matches.
        df = df.withColumn(_MATCH, line)
        for number, name in enumerate(order):
            allowed = [c for c, names in per_choice.items() if name in names]
            df = pa.match_step(
                df,
                match_col=_MATCH,
                line=line,
                eligible=decoded & ~is_json & choice.isin(*allowed),
                fmt=formats[name],
                number=number,
                layout=layout,
            )
        matched = pa.is_matched(F.col(_MATCH), line)
        df = df.select(
            *[F.col(f"`{c}`") for c in df.columns if c != _MATCH],
            matched.alias(_MATCHED),
            F.when(matched, F.split(F.col(_MATCH), lf.SEP, -1)).alias(_ARR),
        )

        # JSON: parse, then look values up by key name. from_json and map_filter cannot join
        # whole-stage code generation, so they sit in projections of their own, away from the
        # many cheap lookups (which are null-in, null-out on access-log rows).
        obj = F.col(_JSON)
        json_values = pj.json_slot_values(F.col(_JKNOWN))
        if uses_json:
            df = df.withColumn(_JSON, F.when(is_json, pj.parse_json_object(line)))
            df = df.select(
                "*",
                F.when(is_json, pj.json_extra(obj)).alias(_JEXTRA),
                (is_json & obj.isNull()).alias(_JSON_BAD),
                # Only where the map parse succeeded, so both agree on what is a JSON object.
                F.when(obj.isNotNull(), pj.parse_known_fields(line)).alias(_JKNOWN),
            )
        else:
            df = df.select(
                "*",
                F.lit(None).cast("map<string,string>").alias(_JSON),
                F.lit(None).cast("map<string,string>").alias(_JEXTRA),
                F.lit(False).alias(_JSON_BAD),
                F.lit(None).cast(pj.KNOWN_SCHEMA).alias(_JKNOWN),
            )
        df = df.select(
            "*", *[v.alias(_PREFIX_JSON + slot) for slot, v in json_values.items()]
        ).drop(_JSON, _JKNOWN)
        json_url = F.col(f"`{_PREFIX_JSON}{pj.JSON_URL}`")
        df = df.withColumn(_JURL, F.when(json_url.isNotNull(), pj.split_url(json_url)))

        # Unified slots: the access-log group or the JSON value, "-" and "" as null.
        def json_value(slot: str) -> Column | None:
            url_parts = {lf.URL_ORIGINAL: 1, lf.URL_DOMAIN: 2, lf.URL_PATH: 3, lf.URL_QUERY: 4}
            if slot in url_parts:
                part = pj.url_part(F.col(_JURL), url_parts[slot])
                if slot == lf.URL_ORIGINAL:
                    return json_url
                if slot == lf.URL_PATH:
                    return F.coalesce(part, json_url)
                if slot == lf.URL_QUERY:
                    return F.coalesce(F.col(f"`{_PREFIX_JSON}{lf.URL_QUERY}`"), part)
                return part
            if slot in json_values:
                return F.col(f"`{_PREFIX_JSON}{slot}`")
            return None

        slot_columns = []
        all_slots = list(layout.slots) + [s for s in json_values if s not in layout.slots]
        for slot in all_slots:
            value = None
            if slot in layout.slots:
                value = F.get(F.col(_ARR), layout.index(slot))
                if slot in pa.ESCAPED_SLOTS or slot.startswith(lf.EXTRA_PREFIX):
                    value = pa.unescape(value)
            from_json = json_value(slot)
            if from_json is not None:
                value = from_json if value is None else F.coalesce(value, from_json)
            assert value is not None
            slot_columns.append(pa.nullify(value).alias(_PREFIX_SLOT + slot))
        time_slots = [
            lf.TIME_LOCAL,
            lf.TIME_ISO8601,
            lf.EPOCH_S,
            lf.EPOCH_MS,
            lf.EPOCH_US,
            pj.JSON_TIME,
            *layout.time_pattern_slots,
        ]
        df = df.select(
            *[F.col(f"`{c}`") for c in input_columns],
            decode_error.alias(ecs.ERROR_MESSAGE),
            F.col(_CHOICE),
            is_json,
            F.col(_MATCHED),
            F.get(F.col(_ARR), 1).alias("_lf_format_number"),
            F.col(_JEXTRA),
            F.col(_JSON_BAD),
            *slot_columns,
        )
        df = df.withColumn(_TIME_TEXT, F.coalesce(*(_slot(s) for s in time_slots)))

        # --- conversions -----------------------------------------------------------------
        time_text = F.col(_TIME_TEXT)
        parsed_time = F.coalesce(
            clf_timestamp(_slot(lf.TIME_LOCAL)),
            F.try_to_timestamp(_slot(lf.TIME_ISO8601)),
            F.timestamp_seconds(_decimal(_slot(lf.EPOCH_S), 18, 6)),
            F.timestamp_millis(_to_long(_decimal(_slot(lf.EPOCH_MS), 15, 0))),
            F.timestamp_micros(_to_long(_decimal(_slot(lf.EPOCH_US), 18, 0))),
            *(
                F.try_to_timestamp(_slot(s), F.lit(s[len(lf.TIME_PATTERN_PREFIX) :]))
                for s in layout.time_pattern_slots
            ),
            _json_timestamp(_slot(pj.JSON_TIME), settings.default_timezone),
        )
        # Materialised: each is read by the error check and by its ECS column.
        df = df.select(
            "*",
            parsed_time.alias(_TIME),
            _number(_slot(lf.STATUS), "int").alias(_STATUS),
            _number(_slot(lf.BODY_BYTES), "long").alias(_BYTES),
            _valid_ip(_slot(lf.REMOTE_ADDR)).alias(_SOURCE_IP),
        )
        parsed_time = F.col(_TIME)
        status = F.col(_STATUS)
        body_bytes = F.col(_BYTES)
        source_ip = F.col(_SOURCE_IP)
        first_forwarded = F.trim(F.substring_index(_slot(lf.FORWARDED_FOR), ",", 1))
        version = _slot(lf.HTTP_VERSION)

        format_number = F.col("_lf_format_number")
        tail_present = _slot(lf.TAIL).isNotNull()
        dataset = F.lit(None).cast("string")
        for number, name in reversed(list(enumerate(order))):
            dataset = F.when(
                format_number == str(number), pa.dataset_for(name, tail_present)
            ).otherwise(dataset)
        dataset = F.when(is_json, F.lit("json")).otherwise(dataset)

        extra_entries = [(pa.extra_name(s), _slot(s)) for s in layout.extra_slots]
        # Keys must be unique (duplicate map keys raise): a format may log $request twice.
        raw_key = "request" if "request" not in dict(extra_entries) else "request_raw"
        extra_entries.append((raw_key, _slot(lf.REQUEST_RAW)))
        # map_concat of one-entry maps instead of map_filter: lambdas break code generation.
        no_entry = F.create_map().cast("map<string,string>")
        access_extra = F.map_concat(
            *(
                F.when(v.isNotNull(), F.create_map(F.lit(k), v)).otherwise(no_entry)
                for k, v in extra_entries
            )
        )

        no_match = decoded & ~is_json & ~F.col(_MATCHED)
        parse_error = (
            F.when(decode_error.isNotNull(), decode_error)
            .when(F.col(_JSON_BAD), F.lit("line is not a JSON object"))
            .when(
                no_match,
                F.when(F.col(_CHOICE) == "auto", F.lit("no format matched")).otherwise(
                    F.concat(F.lit("line does not match log format '"), F.col(_CHOICE), F.lit("'"))
                ),
            )
            .when(
                time_text.isNotNull() & parsed_time.isNull(),
                F.concat(
                    F.lit("unparseable timestamp '"), F.left(time_text, F.lit(64)), F.lit("'")
                ),
            )
            .when(
                _slot(lf.STATUS).isNotNull() & status.isNull(),
                F.concat(
                    F.lit("status '"),
                    F.left(_slot(lf.STATUS), F.lit(64)),
                    F.lit("' is not a number"),
                ),
            )
            .when(
                _slot(lf.BODY_BYTES).isNotNull() & body_bytes.isNull(),
                F.concat(
                    F.lit("body bytes '"),
                    F.left(_slot(lf.BODY_BYTES), F.lit(64)),
                    F.lit("' is not a number"),
                ),
            )
        )
        ecs_columns = {
            ecs.TIMESTAMP: F.when(time_text.isNull(), col(ecs.KAFKA_TIMESTAMP)).otherwise(
                parsed_time
            ),
            ecs.SOURCE_IP: source_ip,
            ecs.SOURCE_ADDRESS: _slot(lf.REMOTE_ADDR),
            ecs.CLIENT_IP: F.coalesce(
                _valid_ip(first_forwarded), _valid_ip(_slot(pj.CLIENT_IP)), source_ip
            ),
            ecs.USER_NAME: _slot(lf.REMOTE_USER),
            ecs.HTTP_REQUEST_METHOD: F.upper(_slot(lf.METHOD)),
            ecs.HTTP_VERSION: F.when(
                version.startswith("HTTP/"), F.substring(version, 6, 16)
            ).otherwise(version),
            ecs.URL_ORIGINAL: _slot(lf.URL_ORIGINAL),
            ecs.URL_PATH: _slot(lf.URL_PATH),
            ecs.URL_QUERY: _slot(lf.URL_QUERY),
            ecs.URL_DOMAIN: F.coalesce(_slot(lf.URL_DOMAIN), _strip_port(_slot(lf.REQUEST_HOST))),
            ecs.HTTP_RESPONSE_STATUS_CODE: status,
            ecs.HTTP_RESPONSE_BODY_BYTES: body_bytes,
            ecs.HTTP_REQUEST_REFERRER: _slot(lf.REFERRER),
            ecs.USER_AGENT_ORIGINAL: _slot(lf.USER_AGENT),
            ecs.EVENT_DURATION: _duration_ns(),
            ecs.SERVICE_NAME: _slot(pj.SERVICE),
            ecs.HOST_NAME: _slot(lf.HOSTNAME),
            ecs.TRACE_ID: _slot(lf.TRACE_ID),
            ecs.LOG_LEVEL: F.lower(_slot(pj.LEVEL)),
            ecs.EVENT_DATASET: dataset,
            ecs.EXTRA: F.when(is_json, F.col(_JEXTRA)).otherwise(access_extra),
        }
        df = df.select(
            *[F.col(f"`{c}`") for c in input_columns],
            parse_error.alias(ecs.ERROR_MESSAGE),
            *[value.alias(name) for name, value in ecs_columns.items()],
        )
        # Dead letters keep their Kafka coordinates and original line, nothing half-parsed.
        ok = col(ecs.ERROR_MESSAGE).isNull()
        extra = col(ecs.EXTRA)
        return df.select(
            *[F.col(f"`{c}`") for c in input_columns],
            *[
                F.when(ok, F.when(F.size(extra) > 0, extra) if n == ecs.EXTRA else col(n)).alias(n)
                for n in ECS_COLUMNS
            ],
            col(ecs.ERROR_MESSAGE),
            F.when(ok, F.lit(ecs.OUTCOME_INDEXED))
            .otherwise(F.lit(ecs.OUTCOME_DEAD_LETTER))
            .alias(ecs.OUTCOME),
        )

    return transform
