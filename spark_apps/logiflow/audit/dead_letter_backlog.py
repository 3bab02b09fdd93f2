"""The dead-letter topic's backlog: what replays covered, what waits, what retention took.

``logiflow replay-dead-letters`` commits, per dead-letter partition, the offset up to which it
resent lines (its consumer group). Kafka's retention deletes old dead letters whatever that
group did, so a line that failed, was never replayed and aged out can no longer be sent through
the pipeline again: its document stays in the dead-letter index, but a replay after a parser
fix cannot reach it. The audit surfaces those offsets per partition (a note, not a
discrepancy: nothing the ETL wrote is missing) along with what a replay would still send.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from logiflow.audit.reconcile import Finding, Span


@dataclass(frozen=True)
class DeadLetterPartition:
    """One dead-letter partition as the broker holds it and how far the replay group got."""

    topic: str
    partition: int
    log_start: int  # the oldest dead letter still held
    log_end: int  # the next offset to be written
    replayed_up_to: int | None  # the replay group's committed offset; None: never replayed

    @property
    def _replayed(self) -> int:
        return self.replayed_up_to or 0

    @property
    def expired_before_replay(self) -> int:
        """Dead letters deleted by retention that no replay had sent again."""
        return max(0, min(self.log_start, self.log_end) - self._replayed)

    @property
    def pending_replay(self) -> int:
        """Dead letters still held that the next replay would send."""
        return max(0, self.log_end - max(self.log_start, self._replayed))

    def as_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "partition": self.partition,
            "log_start": self.log_start,
            "log_end": self.log_end,
            "replayed_up_to": self.replayed_up_to,
            "pending_replay": self.pending_replay,
            "expired_before_replay": self.expired_before_replay,
        }


def backlog_findings(partitions: list[DeadLetterPartition], group: str) -> list[Finding]:
    """A note per partition where retention deleted dead letters before a replay sent them."""
    findings = []
    for p in partitions:
        expired = p.expired_before_replay
        if not expired:
            continue
        span = Span(p.topic, p.partition, p._replayed, p._replayed + expired - 1)
        replayed = (
            f"replay group {group!r} had sent up to offset {p.replayed_up_to}"
            if p.replayed_up_to is not None
            else f"replay group {group!r} never replayed it"
        )
        findings.append(
            Finding(
                "dead_letters_expired",
                f"{span}: {expired} dead letter(s) were deleted by Kafka retention before any "
                f"replay ({replayed}); their documents remain in the dead-letter index, but "
                "`logiflow replay-dead-letters` can no longer send them",
                span,
            )
        )
    return findings
