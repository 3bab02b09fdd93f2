"""A dead letter's reason class: its ``error.message`` reduced to one of the few values the
``logiflow_etl_dead_letters_total`` metric's ``reason`` label may take (``contract.metrics``).

Messages carry the offending text (a timestamp, a number, a format name); a label must not, or
every bad line would open a series. The classes follow the messages the parse and decode steps
write (``etl.parse.to_ecs``, ``etl.decode_records``); a message none matches is ``other``.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from logiflow.contract import metrics as m

# (how the message starts, its class), first match wins.
_PREFIXES = (
    ("empty line", m.REASON_EMPTY_LINE),
    ("line of ", m.REASON_LINE_TOO_LONG),
    ("line exceeds ", m.REASON_LINE_TOO_LONG),
    ("line is not a JSON object", m.REASON_NOT_JSON_OBJECT),
    ("no format matched", m.REASON_NO_FORMAT_MATCHED),
    ("line does not match log format", m.REASON_NO_FORMAT_MATCHED),
    ("unparseable timestamp", m.REASON_BAD_TIMESTAMP),
)


def dead_letter_reason(message: Column) -> Column:
    """The reason class of a dead letter's message."""
    reason = F.when(message.endswith("' is not a number"), F.lit(m.REASON_NOT_A_NUMBER))
    for prefix, name in _PREFIXES:
        reason = reason.when(message.startswith(prefix), F.lit(name))
    return reason.otherwise(F.lit(m.REASON_OTHER))
