"""Stage 4, unify: one column per slot, whichever parser filled it.

A slot's value is the access-log group (unescaped where the web server escaped it) or else the
JSON value, with "-" and "" as null. From here on every row has the same columns, so one set of
conversions serves every format.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from logiflow.contract import ecs
from logiflow.etl.columns import col
from logiflow.etl.parse import slots
from logiflow.etl.parse.extract_json import url_part
from logiflow.etl.parse.json_keys import JSON_SLOT_KEYS
from logiflow.etl.parse.slot_layout import FORMAT_NUMBER_INDEX, SlotLayout
from logiflow.etl.parse.work_columns import (
    ACCESS_MATCHED,
    ACCESS_SLOTS,
    FORMAT_CHOICE,
    FORMAT_NUMBER,
    IS_JSON,
    JSON_EXTRA,
    JSON_NOT_OBJECT,
    JSON_URL_PARTS,
    SLOT_PREFIX,
    json_value_col,
)

# Slots whose text was escaped by the web server (nginx \xHH, Apache \" and \\).
ESCAPED_SLOTS = frozenset(
    {
        slots.REMOTE_USER,
        slots.URL_ORIGINAL,
        slots.URL_DOMAIN,
        slots.URL_PATH,
        slots.URL_QUERY,
        slots.REFERRER,
        slots.USER_AGENT,
        slots.FORWARDED_FOR,
        slots.REQUEST_HOST,
    }
)
# Positions in a split_url array (see extract_json).
_URL_PART_INDEX = {
    slots.URL_ORIGINAL: 1,
    slots.URL_DOMAIN: 2,
    slots.URL_PATH: 3,
    slots.URL_QUERY: 4,
}


def unescape(value: Column) -> Column:
    """Undo the web server's escaping: nginx ``\\xHH`` (bytes, UTF-8), Apache ``\\"``/``\\\\``.

    The rewrite into percent-encoding lets Spark's URL decoder rebuild multi-byte UTF-8
    sequences; text that is not a valid escape is kept as written.
    """
    encoded = value
    for search, repl in (("%", "%25"), ("+", "%2B"), ("\\\\", "%5C"), ('\\"', "%22"), ("\\x", "%")):
        encoded = F.replace(encoded, F.lit(search), F.lit(repl))
    return F.when(value.contains("\\"), F.coalesce(F.try_url_decode(encoded), value)).otherwise(
        value
    )


def nullify(value: Column) -> Column:
    """nginx and Apache write "-" for an empty value; "" means the same here."""
    return F.when(~value.isin("", "-"), value)


def unify_slots(
    layout: SlotLayout, input_columns: Sequence[str]
) -> Callable[[DataFrame], DataFrame]:
    """Keeps the input columns and the working columns later stages read, and adds one
    ``SLOT_PREFIX`` column per slot of the layout and of the JSON keys."""

    def transform(df: DataFrame) -> DataFrame:
        json_only = [s for s in JSON_SLOT_KEYS if s not in layout.slots]
        return df.select(
            *[col(c) for c in input_columns],
            col(ecs.ERROR_MESSAGE).alias(ecs.ERROR_MESSAGE),
            F.col(FORMAT_CHOICE),
            F.col(IS_JSON),
            F.col(ACCESS_MATCHED),
            F.get(F.col(ACCESS_SLOTS), FORMAT_NUMBER_INDEX).alias(FORMAT_NUMBER),
            F.col(JSON_EXTRA),
            F.col(JSON_NOT_OBJECT),
            *[
                nullify(_slot_value(layout, slot)).alias(SLOT_PREFIX + slot)
                for slot in [*layout.slots, *json_only]
            ],
        )

    return transform


def _slot_value(layout: SlotLayout, slot: str) -> Column:
    access = _access_value(layout, slot)
    json = _json_value(slot)
    if access is None:
        assert json is not None
        return json
    return access if json is None else F.coalesce(access, json)


def _access_value(layout: SlotLayout, slot: str) -> Column | None:
    if slot not in layout.slots:
        return None
    value = F.get(F.col(ACCESS_SLOTS), layout.index(slot))
    if slot in ESCAPED_SLOTS or slot.startswith(slots.EXTRA_PREFIX):
        return unescape(value)
    return value


def _json_value(slot: str) -> Column | None:
    """The JSON value of ``slot``; the URL slots come from the split of the JSON URL."""
    json_url = json_value_col(slots.JSON_URL)
    if slot not in _URL_PART_INDEX:
        return json_value_col(slot) if slot in JSON_SLOT_KEYS else None
    part = url_part(F.col(JSON_URL_PARTS), _URL_PART_INDEX[slot])
    if slot == slots.URL_ORIGINAL:
        return json_url
    if slot == slots.URL_PATH:
        # A URL the split does not read (e.g. with whitespace) is still the path.
        return F.coalesce(part, json_url)
    if slot == slots.URL_QUERY:
        # A query key of its own wins over the query of the URL.
        return F.coalesce(json_value_col(slots.URL_QUERY), part)
    return part
