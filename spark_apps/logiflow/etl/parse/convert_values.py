"""Stage 5, convert: slot text to typed values (timestamps, numbers, addresses).

Nothing here throws on bad data (ANSI mode is on: every conversion is a ``try_`` function); a
value that does not convert is null, and ``to_ecs`` turns that into the dead-letter reason.
Only built-in functions, chosen by measurement (docs/performance.md): e.g. CLF times are
rewritten to ISO 8601 rather than read with a datetime pattern.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from logiflow.etl.parse import slots
from logiflow.etl.parse.slot_layout import SlotLayout
from logiflow.etl.parse.work_columns import (
    BODY_BYTES,
    SOURCE_IP,
    STATUS,
    TIME_TEXT,
    TIMESTAMP,
    slot_col,
)

CLF_TIME_PATTERN = "dd/MMM/yyyy:HH:mm:ss Z"

_IPV4 = r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_HEX = "[0-9A-Fa-f]{1,4}"  # one group of an IPv6 address
# Only syntactically valid addresses reach source.ip: Elasticsearch rejects a document whose
# ip field is not an address ("unix:", host names from HostnameLookups).
IP_REGEX = (
    f"^(?:{_IPV4}"
    f"|(?:{_HEX}:){{7}}{_HEX}"
    f"|(?:{_HEX}:){{1,7}}:"
    f"|(?:{_HEX}:){{1,6}}:{_HEX}"
    f"|(?:{_HEX}:){{1,5}}(?::{_HEX}){{1,2}}"
    f"|(?:{_HEX}:){{1,4}}(?::{_HEX}){{1,3}}"
    f"|(?:{_HEX}:){{1,3}}(?::{_HEX}){{1,4}}"
    f"|(?:{_HEX}:){{1,2}}(?::{_HEX}){{1,5}}"
    f"|{_HEX}:(?::{_HEX}){{1,6}}"
    f"|:(?:(?::{_HEX}){{1,7}}|:)"
    f"|::(?:[Ff]{{4}}(?::0{{1,4}})?:)?{_IPV4}"
    f"|(?:{_HEX}:){{1,4}}:{_IPV4}"
    f"|(?:{_HEX}:){{6}}{_IPV4})$"
)

# The slots a line's time may come from, in the order they are tried.
_TIME_SLOTS = (
    slots.TIME_LOCAL,
    slots.TIME_ISO8601,
    slots.EPOCH_S,
    slots.EPOCH_MS,
    slots.EPOCH_US,
    slots.JSON_TIME,
)


def convert_values(layout: SlotLayout, default_timezone: str) -> Callable[[DataFrame], DataFrame]:
    """Adds ``TIME_TEXT`` and the converted ``TIMESTAMP``, ``STATUS``, ``BODY_BYTES`` and
    ``SOURCE_IP``: materialised, because each is read by the error check and by its ECS column."""

    def transform(df: DataFrame) -> DataFrame:
        time_slots = [*_TIME_SLOTS, *layout.time_pattern_slots]
        df = df.withColumn(TIME_TEXT, F.coalesce(*(slot_col(s) for s in time_slots)))
        return df.select(
            "*",
            _event_time(layout, default_timezone).alias(TIMESTAMP),
            _number(slot_col(slots.STATUS), "int").alias(STATUS),
            _number(slot_col(slots.BODY_BYTES), "long").alias(BODY_BYTES),
            valid_ip(slot_col(slots.REMOTE_ADDR)).alias(SOURCE_IP),
        )

    return transform


def _event_time(layout: SlotLayout, default_timezone: str) -> Column:
    """The first time slot that is present, converted by its own rule."""
    return F.coalesce(
        clf_timestamp(slot_col(slots.TIME_LOCAL)),
        F.try_to_timestamp(slot_col(slots.TIME_ISO8601)),
        F.timestamp_seconds(_decimal(slot_col(slots.EPOCH_S), 18, 6)),
        F.timestamp_millis(_to_long(_decimal(slot_col(slots.EPOCH_MS), 15, 0))),
        F.timestamp_micros(_to_long(_decimal(slot_col(slots.EPOCH_US), 18, 0))),
        *(
            F.try_to_timestamp(slot_col(s), F.lit(slots.time_pattern(s)))
            for s in layout.time_pattern_slots
        ),
        _json_timestamp(slot_col(slots.JSON_TIME), default_timezone),
    )


def valid_ip(value: Column) -> Column:
    """The value when it is an IPv4 or IPv6 address, else null."""
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


def duration_ns() -> Column:
    """event.duration in nanoseconds, from whichever latency slot (and unit) is present."""

    def scaled(slot: str, scale: int, factor: int) -> Column:
        return _to_long(_decimal(slot_col(slot), 18, scale) * F.lit(factor))

    return F.coalesce(
        scaled(slots.DURATION_S, 9, 1_000_000_000),
        scaled(slots.DURATION_MS, 6, 1_000_000),
        scaled(slots.DURATION_US, 3, 1_000),
        _to_long(_decimal(slot_col(slots.DURATION_NS), 20, 0)),
    )


def strip_port(host: Column) -> Column:
    """A Host header without its port (``[::1]:80`` -> ``[::1]``, ``a.b:80`` -> ``a.b``)."""
    bracketed = F.concat(F.substring_index(host, "]", 1), F.lit("]"))
    return (
        F.when(host.startswith("["), bracketed)
        .when(F.size(F.split(host, ":")) == 2, F.substring_index(host, ":", 1))
        .otherwise(host)
    )
