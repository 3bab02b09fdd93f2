"""Names of the working columns the parse stages hand to each other.

All of them are dropped before ``parse_lines`` returns. The names keep the ``_lf_`` prefix so
they never collide with an input column or an ECS name.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

FORMAT_CHOICE = "_lf_choice"  # the configured format name for the row's topic, or "auto"
IS_JSON = "_lf_is_json"  # the row goes to the JSON stage, not the access-log match
ACCESS_MATCH = "_lf_match"  # the line, or the SEP-joined groups once a format matched
ACCESS_MATCHED = "_lf_matched"
ACCESS_SLOTS = "_lf_slots"  # ACCESS_MATCH split: ["", format number, slot values...]
FORMAT_NUMBER = "_lf_format_number"  # the position of the matching format in the tried order
JSON_MAP = "_lf_json"  # map<string,string> of the whole object
JSON_KNOWN_FIELDS = "_lf_json_known"  # struct of the known key names (json_keys)
JSON_URL_PARTS = "_lf_json_url_parts"
JSON_EXTRA = "_lf_json_extra"  # keys that fill no slot, for logiflow.extra
JSON_NOT_OBJECT = "_lf_json_bad"
TIME_TEXT = "_lf_time_text"  # the first time slot present, for the error message
TIMESTAMP = "_lf_time"
STATUS = "_lf_status"
BODY_BYTES = "_lf_bytes"
SOURCE_IP = "_lf_source_ip"
SLOT_PREFIX = "_lf_s_"  # one column per unified slot: _lf_s_<slot>
JSON_VALUE_PREFIX = "_lf_j_"  # one column per JSON slot value: _lf_j_<slot>


def work_col(name: str) -> Column:
    """A working column by name (slot names hold ":", so always quoted)."""
    return F.col(f"`{name}`")


def slot_col(slot: str) -> Column:
    """The unified value of ``slot`` (after the ``unify_slots`` stage)."""
    return F.col(f"`{SLOT_PREFIX}{slot}`")


def json_value_col(slot: str) -> Column:
    """The JSON value of ``slot`` (after the ``extract_json`` stage)."""
    return F.col(f"`{JSON_VALUE_PREFIX}{slot}`")
