"""A prototype of the JSON extraction of ``logiflow.etl.parse`` on Spark 4's VARIANT type.

Today each JSON line is parsed twice with ``from_json`` (``etl/parse/extract_json.py``): into a
``map<string,string>`` for the extras and into a struct of every known key name. Here the line
is parsed once with ``try_parse_json``, and every key of ``json_keys`` is read from the variant
with ``try_variant_get``, as a flat dotted key first and then as a nested path, as today. The
output columns, their names and the slot rules (first scalar key present, URL split, extras)
are the same, so the two can be timed against each other and compared row by row.

Only the benchmark uses it; whether the pipeline adopts it is decided from the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import MapType

from logiflow.contract import ecs
from logiflow.etl.columns import col
from logiflow.etl.parse import slots
from logiflow.etl.parse.extract_json import _first_scalar, json_extra, split_url
from logiflow.etl.parse.json_keys import JSON_SLOT_KEYS
from logiflow.etl.parse.work_columns import (
    IS_JSON,
    JSON_EXTRA,
    JSON_MAP,
    JSON_NOT_OBJECT,
    JSON_URL_PARTS,
    JSON_VALUE_PREFIX,
    json_value_col,
)

_VARIANT = "_lf_bench_variant"
_OBJECT = "_lf_bench_object"  # the variant, only where it is a JSON object
# from_json keeps the last of duplicate keys; parse_json refuses the line unless told to.
DUPLICATE_KEYS_CONF = "spark.sql.variant.allowDuplicateKeys"


def _path(parts: Sequence[str]) -> str:
    return "$" + "".join(f"['{part}']" for part in parts)


def _lookup(obj: Column, key: str) -> Column:
    """The value under ``key`` as text (objects and arrays as JSON), flat key before path."""
    flat = F.try_variant_get(obj, _path([key]), "string")
    if "." not in key:
        return flat
    return F.coalesce(flat, F.try_variant_get(obj, _path(key.split(".")), "string"))


def extract_json_variant(df: DataFrame) -> DataFrame:
    """The columns ``extract_json(True)`` adds, computed from one ``try_parse_json`` per line."""
    is_json = F.col(IS_JSON)
    variant, obj, as_map = F.col(_VARIANT), F.col(_OBJECT), F.col(JSON_MAP)
    df = df.withColumn(_VARIANT, F.when(is_json, F.try_parse_json(col(ecs.EVENT_ORIGINAL))))
    df = df.withColumn(JSON_MAP, F.try_variant_get(variant, "$", "map<string,string>"))
    df = df.select(
        "*",
        F.when(is_json, json_extra(as_map)).alias(JSON_EXTRA),
        (is_json & as_map.isNull()).alias(JSON_NOT_OBJECT),
        F.when(as_map.isNotNull(), variant).alias(_OBJECT),
    )
    values = {
        slot: _first_scalar([_lookup(obj, key) for key in keys])
        for slot, keys in JSON_SLOT_KEYS.items()
    }
    df = df.select(
        "*", *[value.alias(JSON_VALUE_PREFIX + slot) for slot, value in values.items()]
    ).drop(_VARIANT, JSON_MAP, _OBJECT)
    json_url = json_value_col(slots.JSON_URL)
    return df.withColumn(JSON_URL_PARTS, F.when(json_url.isNotNull(), split_url(json_url)))


@dataclass(frozen=True)
class Difference:
    """How often one output column differs between the two versions, with examples."""

    column: str
    rows: int
    examples: list[tuple[str, object, object]]  # (line, from_json's value, variant's value)


def _comparable(frame: DataFrame) -> list[Column]:
    # Maps cannot be compared; their entries, sorted, can.
    return [
        F.array_sort(F.map_entries(F.col(f"`{f.name}`")))
        if isinstance(f.dataType, MapType)
        else F.col(f"`{f.name}`")
        for f in frame.schema.fields
    ]


def compare_outputs(left: DataFrame, right: DataFrame, key: str) -> list[Difference]:
    """Columns whose values differ between two outputs with the same columns, joined on
    ``key``; raises when the outputs do not hold the same keys."""
    names = left.columns
    a = left.select(*[c.alias(f"a{i}") for i, c in enumerate(_comparable(left))])
    right = right.select(*[F.col(f"`{name}`") for name in names])
    b = right.select(*[c.alias(f"b{i}") for i, c in enumerate(_comparable(right))])
    k = names.index(key)
    joined = a.join(b, F.col(f"a{k}") == F.col(f"b{k}"), "full_outer").cache()
    same = [F.col(f"a{i}").eqNullSafe(F.col(f"b{i}")) for i in range(len(names))]
    counts = joined.select(*[F.count_if(~eq).alias(f"d{i}") for i, eq in enumerate(same)]).first()
    assert counts is not None
    if counts[k]:
        raise AssertionError(f"the two outputs hold different rows ({counts[k]:,} unmatched)")
    line = names.index(ecs.EVENT_ORIGINAL)
    differences = []
    for i, name in enumerate(names):
        if counts[i]:
            rows = joined.where(~same[i]).select(f"a{line}", f"a{i}", f"b{i}").limit(3).collect()
            differences.append(Difference(name, counts[i], [tuple(r) for r in rows]))
    joined.unpersist()
    return differences
