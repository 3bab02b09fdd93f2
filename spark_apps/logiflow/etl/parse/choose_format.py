"""Stage 1, choose the format: which parser each line goes to.

The format is chosen per line: per Kafka topic (``parse.topic_formats``), else
``parse.default_format``. "auto" sends lines starting with ``{`` to the JSON parser and tries
the access-log formats on the rest (combined — which also reads common lines —, nginx's "main",
then the custom formats in config order). Which formats can be tried at all is known from the
config, so ``FormatPlan`` is worked out once, when the transform is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from logiflow.config import ParseSettings
from logiflow.contract import ecs
from logiflow.errors import ConfigError, LogFormatError
from logiflow.etl.columns import col
from logiflow.etl.parse import log_format
from logiflow.etl.parse.log_format import CompiledFormat
from logiflow.etl.parse.slot_layout import SlotLayout
from logiflow.etl.parse.work_columns import FORMAT_CHOICE, IS_JSON

BUILTIN_FORMATS: dict[str, CompiledFormat] = {
    "combined": log_format.COMBINED,
    "common": log_format.COMMON,
    "main": log_format.MAIN,
}
# Tried for "auto" after JSON. "common" is not listed: combined's trailing fields are optional,
# so a common line matches combined (and is reported as access.common).
AUTO_BUILTINS = ("combined", "main")
RESERVED_NAMES = frozenset({"auto", "json", *BUILTIN_FORMATS})


def compile_custom_formats(settings: ParseSettings) -> dict[str, CompiledFormat]:
    """The user's formats from config, compiled (raises LogFormatError on a bad one)."""
    compiled: dict[str, CompiledFormat] = {}
    for name, custom in settings.custom_formats.items():
        if name in RESERVED_NAMES:
            raise ConfigError(
                f"parse.custom_formats.{name}: {name!r} is a built-in format name; rename it"
            )
        given = [v for v in (custom.nginx_log_format, custom.apache_log_format) if v]
        if len(given) != 1:
            raise ConfigError(
                f"parse.custom_formats.{name}: set exactly one of nginx_log_format and "
                "apache_log_format"
            )
        try:
            if custom.nginx_log_format:
                compiled[name] = log_format.compile_nginx_log_format(name, custom.nginx_log_format)
            else:
                text = custom.apache_log_format or ""
                compiled[name] = log_format.compile_apache_log_format(name, text)
        except LogFormatError as exc:
            raise LogFormatError(f"parse.custom_formats.{name}: {exc}") from exc
    return compiled


def regex_formats_for_choice(choice: str, custom: dict[str, CompiledFormat]) -> list[str]:
    """The access-log formats a configured choice tries, in order (none for "json")."""
    if choice == "auto":
        return [*AUTO_BUILTINS, *custom]
    if choice == "json":
        return []
    if choice in BUILTIN_FORMATS or choice in custom:
        return [choice]
    known = ", ".join(["auto", "json", *BUILTIN_FORMATS, *custom])
    raise ConfigError(f"parse: unknown log format {choice!r}; use one of: {known}")


@dataclass(frozen=True)
class FormatPlan:
    """What the config lets lines be parsed as, worked out once per transform."""

    formats: dict[str, CompiledFormat]  # every regex format by name, built-in and custom
    per_choice: dict[str, list[str]]  # configured choice -> the regex formats it tries
    tried: list[str]  # the regex formats any choice tries, in matching order
    layout: SlotLayout  # the slots of the tried formats, in split-array order
    uses_json: bool  # some choice ("auto" or "json") sends lines to the JSON parser

    @classmethod
    def from_settings(cls, settings: ParseSettings) -> FormatPlan:
        """Raises ConfigError or LogFormatError for unknown format names or bad formats."""
        custom = compile_custom_formats(settings)
        formats = {**BUILTIN_FORMATS, **custom}
        choices = dict.fromkeys([settings.default_format, *settings.topic_formats.values()])
        per_choice = {c: regex_formats_for_choice(c, custom) for c in choices}
        tried = [
            name
            for name in [*AUTO_BUILTINS, "common", *custom]
            if any(name in names for names in per_choice.values())
        ]
        return cls(
            formats=formats,
            per_choice=per_choice,
            tried=tried,
            layout=SlotLayout.for_formats([formats[n] for n in tried]),
            uses_json=any(c in ("auto", "json") for c in choices),
        )

    def choices_trying(self, name: str) -> list[str]:
        """The configured choices under which the regex format ``name`` is tried."""
        return [c for c, names in self.per_choice.items() if name in names]


def _choice_by_topic(settings: ParseSettings, topic: Column) -> Column:
    if not settings.topic_formats:
        return F.lit(settings.default_format)
    expr = None
    for topic_name, fmt in settings.topic_formats.items():
        cond = topic == F.lit(topic_name)
        expr = F.when(cond, F.lit(fmt)) if expr is None else expr.when(cond, F.lit(fmt))
    assert expr is not None
    return expr.otherwise(F.lit(settings.default_format))


def choose_format(settings: ParseSettings, plan: FormatPlan) -> Callable[[DataFrame], DataFrame]:
    """Adds ``FORMAT_CHOICE`` (the configured name) and ``IS_JSON`` to every row."""

    def transform(df: DataFrame) -> DataFrame:
        line = col(ecs.EVENT_ORIGINAL)
        decoded = col(ecs.ERROR_MESSAGE).isNull()
        df = df.withColumn(FORMAT_CHOICE, _choice_by_topic(settings, col(ecs.KAFKA_TOPIC)))
        if not plan.uses_json:
            return df.withColumn(IS_JSON, F.lit(False))
        choice = F.col(FORMAT_CHOICE)
        looks_json = (choice == "json") | ((choice == "auto") & F.ltrim(line).startswith("{"))
        return df.withColumn(IS_JSON, decoded & looks_json)

    return transform
