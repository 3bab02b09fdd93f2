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
from logiflow.etl.parse.extract_json import (
    KNOWN_SCHEMA,
    _first_scalar,
    extract_json,
    json_extra,
    json_slot_values,
    split_url,
)
from logiflow.etl.parse.json_keys import JSON_SLOT_KEYS, KNOWN_FIELDS
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

from .figures import StageFigures
from .timing import Plan, time_rounds

FROM_JSON = "JSON extraction: from_json (today)"
VARIANT = "JSON extraction: parse_json + variant_get"
VARIANT_STRUCT = "JSON extraction: parse_json + one struct cast"
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


_KNOWN_STRUCT = "struct<" + ",".join(f"`{name}`: string" for name in KNOWN_FIELDS) + ">"


def extract_json_variant_struct(df: DataFrame) -> DataFrame:
    """The same, but the variant cast once to today's struct of known key names, from which
    today's ``json_slot_values`` reads the slots (one lookup per key instead of one per use)."""
    is_json = F.col(IS_JSON)
    variant, as_map = F.col(_VARIANT), F.col(JSON_MAP)
    df = df.withColumn(_VARIANT, F.when(is_json, F.try_parse_json(col(ecs.EVENT_ORIGINAL))))
    df = df.withColumn(JSON_MAP, F.try_variant_get(variant, "$", "map<string,string>"))
    known = F.try_variant_get(variant, "$", _KNOWN_STRUCT).cast(KNOWN_SCHEMA)
    df = df.select(
        "*",
        F.when(is_json, json_extra(as_map)).alias(JSON_EXTRA),
        (is_json & as_map.isNull()).alias(JSON_NOT_OBJECT),
        F.when(as_map.isNotNull(), known).alias(JSON_KNOWN_FIELDS),
    )
    values = json_slot_values(F.col(JSON_KNOWN_FIELDS))
    df = df.select(
        "*", *[value.alias(JSON_VALUE_PREFIX + slot) for slot, value in values.items()]
    ).drop(_VARIANT, JSON_MAP, JSON_KNOWN_FIELDS)
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


PROTOTYPES = {VARIANT: extract_json_variant, VARIANT_STRUCT: extract_json_variant_struct}


@dataclass(frozen=True)
class VariantComparison:
    """The timings of ``FROM_JSON`` and each prototype, and where each one's output differs."""

    figures: dict[str, StageFigures]
    differences: dict[str, list[Difference]]  # prototype label -> its differing columns

    def verdict(self) -> list[str]:
        """Whether each prototype beat from_json beyond the spread, and whether outputs agree."""
        lines = []
        theirs = self.figures[FROM_JSON].lines_per_cpu_second
        for label, differences in self.differences.items():
            ours = self.figures[label].lines_per_cpu_second
            if ours.low > theirs.high:
                verdict = "faster beyond the spread"
            elif ours.high < theirs.low:
                verdict = "slower beyond the spread"
            else:
                verdict = "within the spread"
            name = label.split(": ", 1)[1]
            lines.append(
                f"{name} vs from_json: {ours.median / theirs.median:.2f}x the lines per "
                f"CPU-second (medians), {verdict}"
            )
            lines += _difference_lines(name, differences, self.figures[label].lines)
        return lines


def _difference_lines(name: str, differences: list[Difference], total: int) -> list[str]:
    if not differences:
        return [f"  output equal to from_json's on all {total:,} JSON lines"]
    lines = []
    for difference in differences:
        lines.append(f"  {difference.column} differs on {difference.rows:,} lines, e.g.")
        for line, expected, got in difference.examples:
            lines.append(f"    {_short(line)}")
            lines.append(f"      from_json {_short(expected)}, {name} {_short(got)}")
    return lines


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 90 else text[:87] + "..."


def time_against_from_json(decoded: DataFrame, runs: int) -> VariantComparison:
    """Today's ``extract_json`` against the VARIANT prototypes over decoded JSON lines, timed
    in rounds, then each prototype's output compared with today's row by row."""
    spark = decoded.sparkSession
    spark.conf.set(DUPLICATE_KEYS_CONF, "true")
    # The input extract_json sees in the pipeline: the line and whether it goes to JSON.
    line = col(ecs.EVENT_ORIGINAL)
    looks_json = col(ecs.ERROR_MESSAGE).isNull() & F.ltrim(line).startswith("{")
    line_id = F.monotonically_increasing_id().alias("id")
    lines = decoded.select(line_id, line, looks_json.alias(IS_JSON)).cache()
    total = lines.count()
    today = lines.transform(extract_json(True))
    prototypes = {label: lines.transform(build) for label, build in PROTOTYPES.items()}
    plans = [Plan(FROM_JSON, today, total)]
    plans += [Plan(label, frame, total) for label, frame in prototypes.items()]
    figures = time_rounds(plans, runs)
    differences = {
        label: compare_outputs(today, frame, "id") for label, frame in prototypes.items()
    }
    lines.unpersist()
    spark.conf.unset(DUPLICATE_KEYS_CONF)
    return VariantComparison(figures, differences)
