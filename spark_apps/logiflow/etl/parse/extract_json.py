"""Stage 3, extract JSON: application/API log objects mapped onto the same slots as access logs.

Each line is parsed into a ``map<string,string>`` (numbers and nested objects arrive as their
JSON text), so any key set works, and into a struct of the known key names (``json_keys``),
from which each slot takes the value of the first key present. Every key that did not fill a
slot, and every nested object, is kept for ``logiflow.extra``.

``from_json`` and ``map_filter`` cannot join whole-stage code generation, so they sit in
projections of their own, away from the many cheap lookups (which are null-in, null-out on
access-log rows).
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from logiflow.contract import ecs
from logiflow.etl.columns import col
from logiflow.etl.parse import log_format, slots
from logiflow.etl.parse.json_keys import JSON_SLOT_KEYS, KNOWN_FIELDS, KNOWN_KEYS
from logiflow.etl.parse.slots import SEP
from logiflow.etl.parse.work_columns import (
    IS_JSON,
    JSON_EXTRA,
    JSON_KNOWN_FIELDS,
    JSON_MAP,
    JSON_NOT_OBJECT,
    JSON_URL_PARTS,
    JSON_VALUE_PREFIX,
    json_value_col,
)

_PARSE_SCHEMA = StructType([StructField(name, StringType()) for name in KNOWN_FIELDS])
# The same fields by position: resolving a field by name is case-insensitive ("clientIp" and
# "clientip" would be ambiguous) while the JSON parser matches keys case-sensitively.
KNOWN_SCHEMA = StructType([StructField(f"k{i}", StringType()) for i in range(len(KNOWN_FIELDS))])


def parse_json_object(line: Column) -> Column:
    """The line as map<string,string>; null when it is not a JSON object."""
    return F.from_json(line, "map<string,string>")


def parse_known_fields(line: Column) -> Column:
    """The line as a struct of ``KNOWN_FIELDS`` (strings, as the map holds them).

    Slot values are read from this struct, not from the map: a struct field is one positional
    access, a map lookup compares the key with every key of the line (measured: those
    comparisons cost more than parsing the line a second time).
    """
    return F.from_json(line, _PARSE_SCHEMA).cast(KNOWN_SCHEMA)


def _field(known: Column, key: str) -> Column:
    return known.getField(f"k{KNOWN_FIELDS.index(key)}")


def _is_scalar(value: Column) -> Column:
    return ~value.startswith("{") & ~value.startswith("[")


def _scalar(value: Column) -> Column:
    # An object or array under a scalar key name ("user": {...}) is not that field's value.
    return F.when(_is_scalar(value), value)


def _lookup(known: Column, key: str) -> Column:
    """The value under ``key`` as the line wrote it (objects and arrays as JSON text)."""
    flat = _field(known, key)
    if "." not in key:
        return flat
    head, rest = key.split(".", 1)
    parent = _field(known, head)
    # A path below the root needs an object, so no "{" means no value: skip the JSON parser
    # (measured: on scalar values such as a user-agent string it cost more than the lookup).
    nested = F.when(parent.contains("{"), F.get_json_object(parent, f"$.{rest}"))
    return F.coalesce(flat, nested)


def _first_scalar(values: list[Column]) -> Column:
    """The first value that is present and not an object or array.

    Checked once, on the first present value; only when that one is an object or array are
    the values checked one by one (measured: the check on every key name cost ~4 µs a line).
    """
    first = F.coalesce(*values)
    return (
        F.when(first.isNull(), first)
        .when(_is_scalar(first), first)
        .otherwise(F.coalesce(*(_scalar(v) for v in values)))
    )


def json_slot_values(known: Column) -> dict[str, Column]:
    """Slot -> value of the first key present for it (``known``: see ``parse_known_fields``)."""
    return {
        slot: _first_scalar([_lookup(known, k) for k in keys])
        for slot, keys in JSON_SLOT_KEYS.items()
    }


def json_extra(obj: Column) -> Column:
    """Keys that filled no slot (and all nested objects, as JSON text)."""
    # IN with many literals becomes a hash-set lookup (InSet); array_contains scanned all
    # ~100 known names for every key, interpreted, as lambdas are.
    return F.map_filter(
        obj,
        lambda k, v: v.isNotNull() & (~k.isin(*KNOWN_KEYS) | v.startswith("{") | v.startswith("[")),
    )


_URL_REGEX = "^" + log_format.uri_pattern(None)[0] + "\\z"
_URL_REPLACEMENT = SEP + SEP.join(f"${i}" for i in range(1, 5))


def split_url(url: Column) -> Column:
    """["", original, domain, path, query] of a URL or path; just [url] when it is not one.

    A plain path (leading "/", no "?") is the common case in API logs and is its own path,
    without the regex. The regex gives the same for every such path it accepts; one with
    whitespace, which it rejects, is still a path here (``unify_slots`` uses the whole value
    as ``url.path`` in that case anyway). Callers materialise this array before reading it
    (see ``url_part``).
    """
    plain_path = url.startswith("/") & ~url.contains("?")
    return F.when(plain_path, F.array(F.lit(""), url, F.lit(""), url, F.lit(""))).otherwise(
        F.split(F.regexp_replace(url, F.lit(_URL_REGEX), F.lit(_URL_REPLACEMENT)), SEP, -1)
    )


def url_part(parts: Column, index: int) -> Column:
    """Part 1..4 of a ``split_url`` array, null when the URL did not match."""
    return F.when((F.size(parts) == 5) & (F.get(parts, 0) == ""), F.get(parts, index))


def extract_json(uses_json: bool) -> Callable[[DataFrame], DataFrame]:
    """Adds ``JSON_EXTRA``, ``JSON_NOT_OBJECT``, one ``JSON_VALUE_PREFIX`` column per JSON slot
    and ``JSON_URL_PARTS``; all null (or false) on the rows that are not JSON."""

    def transform(df: DataFrame) -> DataFrame:
        known = F.col(JSON_KNOWN_FIELDS)
        df = _parse_objects(df) if uses_json else _no_objects(df)
        df = df.select(
            "*", *[v.alias(JSON_VALUE_PREFIX + slot) for slot, v in json_slot_values(known).items()]
        ).drop(JSON_MAP, JSON_KNOWN_FIELDS)
        json_url = json_value_col(slots.JSON_URL)
        return df.withColumn(JSON_URL_PARTS, F.when(json_url.isNotNull(), split_url(json_url)))

    return transform


def _parse_objects(df: DataFrame) -> DataFrame:
    """Each JSON row parsed twice: as a map (for the extras) and as the known-key struct."""
    line = col(ecs.EVENT_ORIGINAL)
    is_json = F.col(IS_JSON)
    obj = F.col(JSON_MAP)
    df = df.withColumn(JSON_MAP, F.when(is_json, parse_json_object(line)))
    return df.select(
        "*",
        F.when(is_json, json_extra(obj)).alias(JSON_EXTRA),
        (is_json & obj.isNull()).alias(JSON_NOT_OBJECT),
        # Only where the map parse succeeded, so both agree on what is a JSON object.
        F.when(obj.isNotNull(), parse_known_fields(line)).alias(JSON_KNOWN_FIELDS),
    )


def _no_objects(df: DataFrame) -> DataFrame:
    """The same columns when no configured format is JSON, so later stages need not care."""
    return df.select(
        "*",
        F.lit(None).cast("map<string,string>").alias(JSON_MAP),
        F.lit(None).cast("map<string,string>").alias(JSON_EXTRA),
        F.lit(False).alias(JSON_NOT_OBJECT),
        F.lit(None).cast(KNOWN_SCHEMA).alias(JSON_KNOWN_FIELDS),
    )
