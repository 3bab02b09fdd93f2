"""The audit's comparison on hand-made broker offsets, accounting and documents.

Documents are a set of (partition, offset) as Elasticsearch would hold them; each test breaks
one thing and checks the audit names exactly that (kind, partition, offsets, counts).
"""

from __future__ import annotations

from collections.abc import Iterable

from logiflow.audit.reconcile import (
    AuditedBatch,
    AuditResult,
    PartitionLog,
    Span,
    plan_audit,
    reconcile,
)
from logiflow.contract import index_names as names
from logiflow.contract.offset_ranges import OffsetRange

TOPIC = "logs"


def log(partition: int, end: int, start: int = 0, window: tuple[int, int] | None = None):
    first, stop = window or (0, end)
    return PartitionLog(TOPIC, partition, start, end, first, stop)


def batch(
    batch_id: int,
    *ranges: tuple[int, int, int],
    checkpoint: str = "run-a",
    filtered: int = 0,
) -> AuditedBatch:
    """A consistent accounting document; ``ranges``: (partition, first, last), no holes."""
    offset_ranges = tuple(
        OffsetRange(TOPIC, p, first, last, last - first + 1, filtered if i == 0 else 0)
        for i, (p, first, last) in enumerate(ranges)
    )
    records = sum(r.records for r in offset_ranges)
    return AuditedBatch(
        checkpoint, batch_id, None, records, records - filtered, filtered, 0, offset_ranges
    )


def documents(*spans: tuple[int, int, int]) -> set[tuple[int, int]]:
    return {(p, o) for p, first, last in spans for o in range(first, last + 1)}


def audit(
    logs: list[PartitionLog], batches: Iterable[AuditedBatch], held: set[tuple[int, int]]
) -> AuditResult:
    plan = plan_audit(logs, batches)
    counts = {
        span: sum(1 for p, o in held if p == span.partition and span.first <= o <= span.last)
        for span in plan.spans_to_count()
    }
    return reconcile(plan, counts)


def kinds(findings) -> list[tuple[str, Span | None]]:
    return [(f.kind, f.span) for f in findings]


def test_everything_read_once_and_indexed_passes() -> None:
    result = audit(
        [log(0, 200), log(1, 100)],
        [batch(0, (0, 0, 99), (1, 0, 49)), batch(1, (0, 100, 199), (1, 50, 99))],
        documents((0, 0, 199), (1, 0, 99)),
    )
    assert result.ok, result.discrepancies
    assert result.notes == []
    assert [(p.produced, p.read, p.documents) for p in result.partitions] == [
        (200, 200, 200),
        (100, 100, 100),
    ]


def test_filtered_lines_need_no_document() -> None:
    result = audit(
        [log(0, 100)],
        [batch(0, (0, 0, 99), filtered=7)],
        documents((0, 0, 92)),
    )
    assert result.ok, result.discrepancies
    assert result.partitions[0].filtered == 7


def test_missing_documents_are_named_with_their_batch_and_offsets() -> None:
    held = documents((0, 0, 199)) - {(0, 120), (0, 121), (0, 150)}
    result = audit([log(0, 200)], [batch(0, (0, 0, 99)), batch(1, (0, 100, 199))], held)
    assert not result.ok
    assert kinds(result.discrepancies) == [("documents", Span(TOPIC, 0, 100, 199))]
    assert result.discrepancies[0].message == (
        "logs[0] offsets 100..199 (batch 1 of checkpoint run-a): 100 records read, 0 filtered, "
        "so 100 documents expected, 97 found in the events and dead-letter indices (3 missing)"
    )


def test_a_missing_batch_is_a_gap_and_its_documents_point_at_the_accounting() -> None:
    held = documents((0, 0, 299))
    result = audit([log(0, 300)], [batch(0, (0, 0, 99)), batch(2, (0, 200, 299))], held)
    assert kinds(result.discrepancies) == [("gap", Span(TOPIC, 0, 100, 199))]
    assert result.discrepancies[0].message == (
        "logs[0] offsets 100..199 were produced but no committed batch read them; "
        "Elasticsearch holds 100 document(s) for them, so the accounting of the batch that "
        "wrote them is missing"
    )


def test_offsets_not_yet_read_are_a_gap_at_the_end() -> None:
    result = audit([log(0, 150)], [batch(0, (0, 0, 99))], documents((0, 0, 99)))
    assert kinds(result.discrepancies) == [("gap", Span(TOPIC, 0, 100, 149))]
    assert result.discrepancies[0].message.endswith("no committed batch read them")


def test_a_replay_from_a_new_checkpoint_is_a_note_not_a_failure() -> None:
    first = [batch(0, (0, 0, 99)), batch(1, (0, 100, 199))]
    replay = [batch(0, (0, 0, 199), checkpoint="run-b")]
    result = audit([log(0, 200)], first + replay, documents((0, 0, 199)))
    assert result.ok, result.discrepancies
    assert kinds(result.notes) == [
        ("replay", Span(TOPIC, 0, 0, 99)),
        ("replay", Span(TOPIC, 0, 100, 199)),
    ]
    assert "rewrote the same document ids: 100 documents for 100 offsets" in result.notes[0].message
    assert result.partitions[0].read == 200
    assert result.partitions[0].read_again == 200


def test_one_checkpoint_reading_offsets_twice_is_an_overlap() -> None:
    batches = [batch(0, (0, 0, 99)), batch(1, (0, 90, 199))]
    result = audit([log(0, 200)], batches, documents((0, 0, 199)))
    assert kinds(result.discrepancies) == [("overlap", Span(TOPIC, 0, 90, 99))]
    assert (
        "batch 0 of checkpoint run-a, batch 1 of checkpoint run-a"
        in result.discrepancies[0].message
    )


def test_retention_before_reading_is_a_loss_after_reading_a_note() -> None:
    # Offsets 0..99 were read then deleted; 100..149 were deleted before any batch read them.
    result = audit([log(0, 300, start=150)], [batch(0, (0, 0, 99)), batch(1, (0, 150, 299))],
                   documents((0, 0, 99), (0, 150, 299)))  # fmt: skip
    assert kinds(result.discrepancies) == [("expired", Span(TOPIC, 0, 100, 149))]
    assert kinds(result.notes) == [("retention", Span(TOPIC, 0, 0, 99))]


def test_batch_counts_that_do_not_add_up() -> None:
    good = batch(0, (0, 0, 99))
    bad = AuditedBatch("run-a", 0, None, 100, 90, 0, 5, good.offset_ranges)
    result = audit([log(0, 100)], [bad], documents((0, 0, 99)))
    assert [f.kind for f in result.discrepancies] == ["batch_sum"]
    assert "input 100 != indexed 90 + filtered 0 + dead letters 5 (= 95)" in (
        result.discrepancies[0].message
    )


def test_holes_and_reads_beyond_the_log_end() -> None:
    holed = AuditedBatch("run-a", 0, None, 90, 90, 0, 0, (OffsetRange(TOPIC, 0, 0, 99, 90),))
    beyond = batch(1, (0, 100, 129))
    result = audit([log(0, 120)], [holed, beyond], documents((0, 0, 89), (0, 100, 129)))
    assert ("holes", Span(TOPIC, 0, 0, 99)) in kinds(result.discrepancies)
    assert ("beyond_end", Span(TOPIC, 0, 120, 129)) in kinds(result.discrepancies)


def test_a_time_window_audits_only_its_offsets() -> None:
    # --since/--until mapped to offsets 100..199: the unread 0..99 and 200.. are out of scope.
    result = audit(
        [log(0, 300, window=(100, 200))],
        [batch(3, (0, 100, 149)), batch(4, (0, 150, 249))],
        documents((0, 100, 249)),
    )
    assert result.ok, result.discrepancies
    assert result.batches == 2
    assert result.partitions[0].produced == 100


def test_accounting_documents_round_trip() -> None:
    doc = {
        names.BATCH_ID: 4,
        names.BATCH_CHECKPOINT: "q1",
        names.COUNT_INPUT: 3,
        names.COUNT_INDEXED: 2,
        names.COUNT_FILTERED: 1,
        names.COUNT_DEAD_LETTER: 0,
        names.BATCH_OFFSET_RANGES: [OffsetRange(TOPIC, 1, 7, 9, 3, 1).as_document()],
    }
    parsed = AuditedBatch.from_document(doc)
    assert parsed.offset_ranges == (OffsetRange(TOPIC, 1, 7, 9, 3, 1),)
    assert str(parsed) == "batch 4 of checkpoint q1"


def test_lines_a_restarted_shipper_resent_count_where_they_were_first_read() -> None:
    # Offsets 120 and 121 were sent again as 190 and 191 (same source identity): their one
    # document each carries the later offsets. The range reading them is short by two; the
    # resent records found in it make it whole, with a note.
    held = documents((0, 0, 199)) - {(0, 120), (0, 121)}
    plan = plan_audit([log(0, 200)], [batch(0, (0, 0, 99)), batch(1, (0, 100, 199))])
    counts = {
        span: sum(1 for p, o in held if p == span.partition and span.first <= o <= span.last)
        for span in plan.spans_to_count()
    }
    short = Span(TOPIC, 0, 100, 199)
    assert plan.short_spans(counts) == [short]
    result = reconcile(plan, counts, {short: 2})
    assert result.ok, result.discrepancies
    assert kinds(result.notes) == [("resent", short)]
    assert "2 record(s) were sent again later" in result.notes[0].message
    # Fewer resent than missing: the rest is still named.
    assert kinds(reconcile(plan, counts, {short: 1}).discrepancies) == [("documents", short)]
