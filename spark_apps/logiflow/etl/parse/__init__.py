"""Parsing: each decoded line to Elastic Common Schema columns, whatever its format.

``parse_lines(settings)`` is the one transform the pipeline chains. It runs these stages, one
module each, in this order:

1. ``choose_format``  which parser a line goes to (per topic, or "auto" detection)
2. ``match_access``   access-log lines: one regex per format, the groups split once
3. ``extract_json``   JSON objects: the values of well-known keys (``json_keys``), the rest kept
4. ``unify_slots``    one column per slot, whichever parser filled it
5. ``convert_values`` timestamps, numbers and addresses, never throwing on bad data
6. ``to_ecs``         the ECS columns and the reason a line cannot be indexed
7. ``outcome``        "indexed" or "dead_letter", with nothing half-parsed

Every line is parsed once: one ``regexp_replace`` per tried format or one ``from_json``, then a
single split. All formats fill the same slots (``slots``, positions in ``slot_layout``), so every
row has the same schema. A user's nginx ``log_format`` or Apache ``LogFormat`` is compiled to
that one regex by ``log_format`` (tokens read by ``log_format_text``). Why the expressions look
the way they do is measured in docs/performance.md.
"""

from logiflow.etl.parse.lines import parse_lines
from logiflow.etl.parse.to_ecs import ECS_COLUMNS

__all__ = ["ECS_COLUMNS", "parse_lines"]
