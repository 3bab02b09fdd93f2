"""``parse_lines``: each decoded line to Elastic Common Schema columns, whatever its format.

The stages run in order, each a ``DataFrame -> DataFrame`` step of its own module: choose the
format, match access-log lines, extract JSON, unify the slots, convert values, to ECS, outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pyspark.sql import DataFrame

from logiflow.config import ParseSettings
from logiflow.contract import ecs
from logiflow.errors import ConfigError
from logiflow.etl.parse.choose_format import FormatPlan, choose_format
from logiflow.etl.parse.convert_values import convert_values
from logiflow.etl.parse.extract_json import extract_json
from logiflow.etl.parse.match_access import match_access_lines
from logiflow.etl.parse.outcome import outcome
from logiflow.etl.parse.to_ecs import to_ecs
from logiflow.etl.parse.unify_slots import unify_slots


def parse_lines(settings: ParseSettings) -> Callable[[DataFrame], DataFrame]:
    """decode_kafka_records output -> the same rows with ECS columns and a final outcome.

    Adds ``ECS_COLUMNS`` (``@timestamp`` ... ``logiflow.extra``) and sets ``_logiflow_outcome``
    to "indexed" or "dead_letter" (with ``error.message``) on every row. Raises ConfigError or
    LogFormatError at construction time for unknown format names or bad custom formats.
    """
    _check_timezone(settings.default_timezone)
    plan = FormatPlan.from_settings(settings)

    def transform(df: DataFrame) -> DataFrame:
        # Kept as they are; the decode error is folded into the parse's own error.message.
        input_columns = [c for c in df.columns if c not in (ecs.ERROR_MESSAGE, ecs.OUTCOME)]
        return (
            df.transform(choose_format(settings, plan))
            .transform(match_access_lines(plan))
            .transform(extract_json(plan.uses_json))
            .transform(unify_slots(plan.layout, input_columns))
            .transform(convert_values(plan.layout, settings.default_timezone))
            .transform(to_ecs(plan, input_columns))
            .transform(outcome(input_columns))
        )

    return transform


def _check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"parse.default_timezone: {name!r} is not a time zone name (e.g. UTC, Europe/Berlin)"
        ) from exc
