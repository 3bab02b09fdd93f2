"""Stage 6, to ECS: the Elastic Common Schema columns and, per row, why it cannot be indexed.

Every format ends in the same ``ECS_COLUMNS`` (so every row has the same schema), and
``error.message`` holds the first reason a line failed: the decode error, not JSON, no format
matched, or a time, status or size that did not convert.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from logiflow.contract import ecs
from logiflow.etl.columns import col
from logiflow.etl.parse import slots
from logiflow.etl.parse.choose_format import BUILTIN_FORMATS, FormatPlan
from logiflow.etl.parse.convert_values import duration_ns, strip_port, valid_ip
from logiflow.etl.parse.slot_layout import SlotLayout
from logiflow.etl.parse.work_columns import (
    ACCESS_MATCHED,
    BODY_BYTES,
    FORMAT_CHOICE,
    FORMAT_NUMBER,
    IS_JSON,
    JSON_EXTRA,
    JSON_NOT_OBJECT,
    SOURCE_IP,
    STATUS,
    TIME_TEXT,
    TIMESTAMP,
    slot_col,
)

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


def to_ecs(plan: FormatPlan, input_columns: Sequence[str]) -> Callable[[DataFrame], DataFrame]:
    """The input columns, ``error.message`` (null when the row parsed) and ``ECS_COLUMNS``."""

    def transform(df: DataFrame) -> DataFrame:
        return df.select(
            *[col(c) for c in input_columns],
            _parse_error().alias(ecs.ERROR_MESSAGE),
            *[value.alias(name) for name, value in _ecs_values(plan).items()],
        )

    return transform


def _ecs_values(plan: FormatPlan) -> dict[str, Column]:
    source_ip = F.col(SOURCE_IP)
    first_forwarded = F.trim(F.substring_index(slot_col(slots.FORWARDED_FOR), ",", 1))
    version = slot_col(slots.HTTP_VERSION)
    return {
        ecs.TIMESTAMP: F.when(F.col(TIME_TEXT).isNull(), col(ecs.KAFKA_TIMESTAMP)).otherwise(
            F.col(TIMESTAMP)
        ),
        ecs.SOURCE_IP: source_ip,
        ecs.SOURCE_ADDRESS: slot_col(slots.REMOTE_ADDR),
        ecs.CLIENT_IP: F.coalesce(
            valid_ip(first_forwarded), valid_ip(slot_col(slots.CLIENT_IP)), source_ip
        ),
        ecs.USER_NAME: slot_col(slots.REMOTE_USER),
        ecs.HTTP_REQUEST_METHOD: F.upper(slot_col(slots.METHOD)),
        ecs.HTTP_VERSION: F.when(
            version.startswith("HTTP/"), F.substring(version, 6, 16)
        ).otherwise(version),
        ecs.URL_ORIGINAL: slot_col(slots.URL_ORIGINAL),
        ecs.URL_PATH: slot_col(slots.URL_PATH),
        ecs.URL_QUERY: slot_col(slots.URL_QUERY),
        ecs.URL_DOMAIN: F.coalesce(
            slot_col(slots.URL_DOMAIN), strip_port(slot_col(slots.REQUEST_HOST))
        ),
        ecs.HTTP_RESPONSE_STATUS_CODE: F.col(STATUS),
        ecs.HTTP_RESPONSE_BODY_BYTES: F.col(BODY_BYTES),
        ecs.HTTP_REQUEST_REFERRER: slot_col(slots.REFERRER),
        ecs.USER_AGENT_ORIGINAL: slot_col(slots.USER_AGENT),
        ecs.EVENT_DURATION: duration_ns(),
        ecs.SERVICE_NAME: slot_col(slots.SERVICE),
        ecs.HOST_NAME: slot_col(slots.HOSTNAME),
        ecs.TRACE_ID: slot_col(slots.TRACE_ID),
        ecs.LOG_LEVEL: F.lower(slot_col(slots.LEVEL)),
        ecs.EVENT_DATASET: _event_dataset(plan.tried),
        ecs.EXTRA: F.when(F.col(IS_JSON), F.col(JSON_EXTRA)).otherwise(_access_extra(plan.layout)),
    }


def dataset_for(name: str, tail_present: Column) -> Column:
    """event.dataset of a regex format; built-ins without their trailing fields are common."""
    if name in BUILTIN_FORMATS:
        full = F.lit(f"access.{name}")
        return (
            full
            if name == "common"
            else F.when(tail_present, full).otherwise(F.lit("access.common"))
        )
    return F.lit(f"custom.{name}")


def _event_dataset(tried: Sequence[str]) -> Column:
    """ "json", or the dataset of the regex format that matched (by its number)."""
    format_number = F.col(FORMAT_NUMBER)
    tail_present = slot_col(slots.TAIL).isNotNull()
    dataset = F.lit(None).cast("string")
    for number, name in reversed(list(enumerate(tried))):
        dataset = F.when(format_number == str(number), dataset_for(name, tail_present)).otherwise(
            dataset
        )
    return F.when(F.col(IS_JSON), F.lit("json")).otherwise(dataset)


def _access_extra(layout: SlotLayout) -> Column:
    """logiflow.extra of an access-log line: its variables with no ECS home, as logged."""
    entries = [(slots.extra_name(s), slot_col(s)) for s in layout.extra_slots]
    # Keys must be unique (duplicate map keys raise): a format may log $request twice.
    raw_key = "request" if "request" not in dict(entries) else "request_raw"
    entries.append((raw_key, slot_col(slots.REQUEST_RAW)))
    # map_concat of one-entry maps instead of map_filter: lambdas break code generation.
    no_entry = F.create_map().cast("map<string,string>")
    return F.map_concat(
        *(F.when(v.isNotNull(), F.create_map(F.lit(k), v)).otherwise(no_entry) for k, v in entries)
    )


def _parse_error() -> Column:
    """The first reason the row cannot be indexed, or null."""
    decode_error = col(ecs.ERROR_MESSAGE)
    choice = F.col(FORMAT_CHOICE)
    no_match = decode_error.isNull() & ~F.col(IS_JSON) & ~F.col(ACCESS_MATCHED)
    time_text = F.col(TIME_TEXT)
    return (
        F.when(decode_error.isNotNull(), decode_error)
        .when(F.col(JSON_NOT_OBJECT), F.lit("line is not a JSON object"))
        .when(
            no_match,
            F.when(choice == "auto", F.lit("no format matched")).otherwise(
                F.concat(F.lit("line does not match log format '"), choice, F.lit("'"))
            ),
        )
        .when(
            time_text.isNotNull() & F.col(TIMESTAMP).isNull(),
            F.concat(F.lit("unparseable timestamp '"), F.left(time_text, F.lit(64)), F.lit("'")),
        )
        .when(
            slot_col(slots.STATUS).isNotNull() & F.col(STATUS).isNull(),
            _not_a_number("status", slot_col(slots.STATUS)),
        )
        .when(
            slot_col(slots.BODY_BYTES).isNotNull() & F.col(BODY_BYTES).isNull(),
            _not_a_number("body bytes", slot_col(slots.BODY_BYTES)),
        )
    )


def _not_a_number(what: str, text: Column) -> Column:
    return F.concat(F.lit(f"{what} '"), F.left(text, F.lit(64)), F.lit("' is not a number"))
