"""Access-log matching: every regex format's groups land in one shared array of "slots".

Each compiled format (``log_format.CompiledFormat``) runs as ONE ``regexp_replace`` whose
replacement writes a sentinel, the format's number and its groups joined by ``SEP`` into the
positions of a layout shared by all formats. A single ``split`` then gives every field, and the
same column expressions convert nginx, Apache and custom formats alike. Formats are tried in
order, each in its own projection, so a line is matched once by the first format that fits and
never re-evaluated (Spark does not share sub-expressions across the branches of a CASE).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from logiflow.config import ParseSettings
from logiflow.errors import ConfigError, LogFormatError
from logiflow.etl import log_format as lf
from logiflow.etl.log_format import SEP, CompiledFormat

BUILTIN_FORMATS: dict[str, CompiledFormat] = {
    "combined": lf.COMBINED,
    "common": lf.COMMON,
    "main": lf.MAIN,
}
# Tried for "auto" after JSON. "common" is not listed: combined's trailing fields are optional,
# so a common line matches combined (and is reported as access.common).
AUTO_BUILTINS = ("combined", "main")
RESERVED_NAMES = frozenset({"auto", "json", *BUILTIN_FORMATS})

# Slots every layout has, whatever formats are active (JSON fills some of them too).
CORE_SLOTS: tuple[str, ...] = (
    lf.REMOTE_ADDR,
    lf.REMOTE_USER,
    lf.TIME_LOCAL,
    lf.TIME_ISO8601,
    lf.EPOCH_S,
    lf.EPOCH_MS,
    lf.EPOCH_US,
    lf.METHOD,
    lf.URL_ORIGINAL,
    lf.URL_DOMAIN,
    lf.URL_PATH,
    lf.URL_QUERY,
    lf.HTTP_VERSION,
    lf.REQUEST_RAW,
    lf.STATUS,
    lf.BODY_BYTES,
    lf.REFERRER,
    lf.USER_AGENT,
    lf.FORWARDED_FOR,
    lf.DURATION_S,
    lf.DURATION_MS,
    lf.DURATION_US,
    lf.REQUEST_HOST,
    lf.HOSTNAME,
    lf.TRACE_ID,
    lf.TAIL,
)

# Slots whose text was escaped by the web server (nginx \xHH, Apache \" and \\).
ESCAPED_SLOTS = frozenset(
    {
        lf.REMOTE_USER,
        lf.URL_ORIGINAL,
        lf.URL_DOMAIN,
        lf.URL_PATH,
        lf.URL_QUERY,
        lf.REFERRER,
        lf.USER_AGENT,
        lf.FORWARDED_FOR,
        lf.REQUEST_HOST,
    }
)


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
                compiled[name] = lf.compile_nginx_log_format(name, custom.nginx_log_format)
            else:
                compiled[name] = lf.compile_apache_log_format(name, custom.apache_log_format or "")
        except LogFormatError as exc:
            raise LogFormatError(f"parse.custom_formats.{name}: {exc}") from exc
    return compiled


@dataclass(frozen=True)
class SlotLayout:
    """Positions of the slots in the split array: [ "", format number, slot0, slot1, ... ]."""

    slots: tuple[str, ...]

    @classmethod
    def for_formats(cls, formats: Sequence[CompiledFormat]) -> SlotLayout:
        extra: list[str] = []
        for fmt in formats:
            for slot in fmt.group_slots:
                if slot not in CORE_SLOTS and slot not in extra:
                    extra.append(slot)
        return cls(CORE_SLOTS + tuple(extra))

    def replacement(self, fmt: CompiledFormat, number: int) -> str:
        groups = fmt.slot_groups()
        parts = [f"${groups[s]}" if s in groups else "" for s in self.slots]
        return SEP + str(number) + SEP + SEP.join(parts)

    def index(self, slot: str) -> int:
        return self.slots.index(slot) + 2

    @property
    def extra_slots(self) -> tuple[str, ...]:
        return tuple(s for s in self.slots if s.startswith(lf.EXTRA_PREFIX))

    @property
    def time_pattern_slots(self) -> tuple[str, ...]:
        return tuple(s for s in self.slots if s.startswith(lf.TIME_PATTERN_PREFIX))


def is_matched(match: Column, line: Column) -> Column:
    """An unmatched regexp_replace returns the line itself; a match starts with SEP."""
    return match.startswith(SEP) & ~line.startswith(SEP)


def match_step(
    df: DataFrame,
    *,
    match_col: str,
    line: Column,
    eligible: Column,
    fmt: CompiledFormat,
    number: int,
    layout: SlotLayout,
) -> DataFrame:
    """Try one format on the rows not matched yet (and eligible for it)."""
    current = F.col(match_col)
    attempt = F.regexp_replace(line, F.lit(fmt.regex), F.lit(layout.replacement(fmt, number)))
    return df.withColumn(
        match_col,
        F.when(is_matched(current, line), current).when(eligible, attempt).otherwise(current),
    )


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


def extra_name(slot: str) -> str:
    return slot[len(lf.EXTRA_PREFIX) :]


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


def nullify(value: Column) -> Column:
    """nginx and Apache write "-" for an empty value; "" means the same here."""
    return F.when(~value.isin("", "-"), value)


def regex_formats_for_choice(choice: str, custom: dict[str, CompiledFormat]) -> list[str]:
    if choice == "auto":
        return [*AUTO_BUILTINS, *custom]
    if choice == "json":
        return []
    if choice in BUILTIN_FORMATS or choice in custom:
        return [choice]
    known = ", ".join(["auto", "json", *BUILTIN_FORMATS, *custom])
    raise ConfigError(f"parse: unknown log format {choice!r}; use one of: {known}")


def all_formats(custom: dict[str, CompiledFormat]) -> dict[str, CompiledFormat]:
    return {**BUILTIN_FORMATS, **custom}
