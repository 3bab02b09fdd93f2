"""The dead-letter backlog: what a replay would still send, and what retention deleted first."""

from __future__ import annotations

from logiflow.audit.dead_letter_backlog import DeadLetterPartition, backlog_findings
from logiflow.audit.reconcile import Span


def partition(start: int, end: int, replayed: int | None) -> DeadLetterPartition:
    return DeadLetterPartition("dlq", 0, start, end, replayed)


def test_never_replayed_nothing_expired() -> None:
    p = partition(0, 40, None)
    assert (p.pending_replay, p.expired_before_replay) == (40, 0)
    assert backlog_findings([p], "replay") == []


def test_retention_took_dead_letters_no_replay_sent() -> None:
    p = partition(25, 40, None)
    assert (p.pending_replay, p.expired_before_replay) == (15, 25)
    [note] = backlog_findings([p], "replay")
    assert note.kind == "dead_letters_expired"
    assert note.span == Span("dlq", 0, 0, 24)
    assert note.message.startswith(
        "dlq[0] offsets 0..24: 25 dead letter(s) were deleted by Kafka retention before any "
        "replay (replay group 'replay' never replayed it)"
    )


def test_retention_after_a_partial_replay_counts_only_the_unreplayed() -> None:
    p = partition(30, 40, 10)
    assert (p.pending_replay, p.expired_before_replay) == (10, 20)
    [note] = backlog_findings([p], "replay")
    assert note.span == Span("dlq", 0, 10, 29)
    assert "replay group 'replay' had sent up to offset 10" in note.message


def test_replayed_past_the_retention_point_is_no_finding() -> None:
    p = partition(30, 40, 35)
    assert (p.pending_replay, p.expired_before_replay) == (5, 0)
    assert backlog_findings([p], "replay") == []
    assert partition(40, 40, None).as_json() == {
        "topic": "dlq",
        "partition": 0,
        "log_start": 40,
        "log_end": 40,
        "replayed_up_to": None,
        "pending_replay": 0,
        "expired_before_replay": 40,
    }
