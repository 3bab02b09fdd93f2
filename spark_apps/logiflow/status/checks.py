"""The result of ``logiflow status``: one ``Check`` per thing looked at, and their verdict.

A check is ``ok``, ``degraded`` (works, needs a look: Elasticsearch yellow, an old last batch),
``failed`` (broken: the command exits non-zero and names it) or ``unknown`` (could not be looked
at, e.g. Elasticsearch unreachable from where the command runs; never fails the command by
itself, but says so).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Level = Literal["ok", "degraded", "failed", "unknown"]
OK: Level = "ok"
DEGRADED: Level = "degraded"
FAILED: Level = "failed"
UNKNOWN: Level = "unknown"


@dataclass(frozen=True)
class Check:
    """One row: what (``component`` and its ``name``), its ``state`` as the source says it
    (a condition, a phase, a health colour), our ``level``, and a one-line ``detail``."""

    component: str
    name: str
    state: str
    level: Level
    detail: str = ""

    @property
    def label(self) -> str:
        return f"{self.component} {self.name}" if self.name else self.component

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StatusReport:
    """Every check of one run, in the order they were made."""

    target: str
    checks: tuple[Check, ...]

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.level == FAILED]

    @property
    def healthy(self) -> bool:
        return not self.failed

    @property
    def exit_code(self) -> int:
        return 0 if self.healthy else 1

    def as_json(self) -> dict[str, Any]:
        """What ``status --json`` prints (stable keys)."""
        return {
            "target": self.target,
            "healthy": self.healthy,
            "failed": [c.label for c in self.failed],
            "checks": [c.as_dict() for c in self.checks],
        }
