"""Where each slot sits in the array that one access-log match is split into.

Every regex format writes its groups into the positions of one layout shared by all the formats
in use, so after the single ``split`` a slot is at the same index whichever format matched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from logiflow.etl.parse import slots
from logiflow.etl.parse.log_format import CompiledFormat
from logiflow.etl.parse.slots import EXTRA_PREFIX, SEP, TIME_PATTERN_PREFIX

# Slots every layout has, whatever formats are active (JSON fills some of them too).
CORE_SLOTS: tuple[str, ...] = (
    slots.REMOTE_ADDR,
    slots.REMOTE_USER,
    slots.TIME_LOCAL,
    slots.TIME_ISO8601,
    slots.EPOCH_S,
    slots.EPOCH_MS,
    slots.EPOCH_US,
    slots.METHOD,
    slots.URL_ORIGINAL,
    slots.URL_DOMAIN,
    slots.URL_PATH,
    slots.URL_QUERY,
    slots.HTTP_VERSION,
    slots.REQUEST_RAW,
    slots.STATUS,
    slots.BODY_BYTES,
    slots.REFERRER,
    slots.USER_AGENT,
    slots.FORWARDED_FOR,
    slots.DURATION_S,
    slots.DURATION_MS,
    slots.DURATION_US,
    slots.REQUEST_HOST,
    slots.HOSTNAME,
    slots.TRACE_ID,
    slots.TAIL,
)

# Index of the format number in the split array (index 0 is the empty text before the first SEP).
FORMAT_NUMBER_INDEX = 1


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
        """The ``regexp_replace`` replacement that writes ``fmt``'s groups into this layout."""
        groups = fmt.slot_groups()
        parts = [f"${groups[s]}" if s in groups else "" for s in self.slots]
        return SEP + str(number) + SEP + SEP.join(parts)

    def index(self, slot: str) -> int:
        return self.slots.index(slot) + 2

    @property
    def extra_slots(self) -> tuple[str, ...]:
        return tuple(s for s in self.slots if s.startswith(EXTRA_PREFIX))

    @property
    def time_pattern_slots(self) -> tuple[str, ...]:
        return tuple(s for s in self.slots if s.startswith(TIME_PATTERN_PREFIX))
