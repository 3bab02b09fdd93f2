"""The audit's comparison, as pure functions over what Kafka and Elasticsearch hold.

Three independent records of the same data are compared, none trusted to sum the others:

1. the broker: per partition, the offsets produced (log start and end offsets; with
   ``--since``/``--until``, the offsets at those times);
2. the accounting: the offset ranges each committed batch recorded it read (one range per
   partition and batch, ``contract.offset_ranges``);
3. the documents: events and dead letters found in Elasticsearch for each range's offsets (their
   ids and fields carry the Kafka coordinates), plus the range's count of lines the drop rules
   filtered (the only outcome that leaves no document).

Discrepancies (the audit fails): offsets produced that no batch read (a gap), offsets retention
deleted before any batch read them, offsets read twice by one checkpoint, ranges read beyond the
log end, a batch whose counts do not add up, a range with holes, and a range whose documents +
filtered differ from the records it read (documents missing, or more than one per record).
Notes (the audit passes): offsets read and since deleted by retention (their documents remain),
and replays, where runs from different checkpoints read the same offsets and rewrote the same
document ids (ids are the Kafka coordinates or the source identity, so a replay overwrites,
never duplicates); and lines a restarted shipper sent twice, whose one document (by source
identity) carries the later copy's offset: the caller finds them (``sources.resent_later``)
and they count as found where the first copy was read.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from logiflow.contract import index_names as names
from logiflow.contract.offset_ranges import OffsetRange


class Span(NamedTuple):
    """Offsets ``first``..``last`` (inclusive) of one topic-partition."""

    topic: str
    partition: int
    first: int
    last: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}] offsets {self.first}..{self.last}"


@dataclass(frozen=True)
class PartitionLog:
    """One partition as the broker reports it, and the offsets the audit covers in it."""

    topic: str
    partition: int
    log_start: int  # the oldest offset still held (retention deletes below it)
    log_end: int  # the next offset to be written
    window_start: int  # first offset audited: 0, or the first at --since
    window_end: int  # offset after the last audited: log_end, or the first at --until


@dataclass(frozen=True)
class AuditedBatch:
    """One accounting document of the events query."""

    checkpoint: str | None
    batch_id: int
    timestamp: str | None
    input: int
    indexed: int
    filtered: int
    dead_letter: int
    offset_ranges: tuple[OffsetRange, ...]

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> AuditedBatch:
        ranges = doc.get(names.BATCH_OFFSET_RANGES) or []
        return cls(
            checkpoint=doc.get(names.BATCH_CHECKPOINT),
            batch_id=int(doc[names.BATCH_ID]),
            timestamp=doc.get(names.BATCH_TIMESTAMP),
            input=int(doc.get(names.COUNT_INPUT, 0)),
            indexed=int(doc.get(names.COUNT_INDEXED, 0)),
            filtered=int(doc.get(names.COUNT_FILTERED, 0)),
            dead_letter=int(doc.get(names.COUNT_DEAD_LETTER, 0)),
            offset_ranges=tuple(OffsetRange.from_document(r) for r in ranges),
        )

    def __str__(self) -> str:
        run = f" of checkpoint {self.checkpoint}" if self.checkpoint else ""
        return f"batch {self.batch_id}{run}"


@dataclass(frozen=True)
class Finding:
    """A discrepancy or a note: what kind, in words, and where when it is about offsets."""

    kind: str
    message: str
    span: Span | None = None

    def as_json(self) -> dict[str, Any]:
        where = self.span._asdict() if self.span else None
        return {"kind": self.kind, "message": self.message, "offsets": where}


@dataclass
class PartitionSummary:
    topic: str
    partition: int
    log_start: int
    log_end: int
    produced: int = 0  # offsets in the audited window
    read: int = 0  # of those, offsets some batch read
    read_again: int = 0  # of those, offsets more than one batch read (replays)
    documents: int = 0  # events + dead letters for the offsets read
    filtered: int = 0  # lines the drop rules filtered, summed over the batches


@dataclass
class AuditResult:
    batches: int
    partitions: list[PartitionSummary]
    discrepancies: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)
    # The dead-letter topic's partitions (``audit.dead_letter_backlog``), as JSON.
    dead_letters: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.discrepancies

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "batches": self.batches,
            "partitions": [vars(p) for p in self.partitions],
            "discrepancies": [f.as_json() for f in self.discrepancies],
            "notes": [f.as_json() for f in self.notes],
            "dead_letters": self.dead_letters,
        }


@dataclass(frozen=True)
class Segment:
    """A stretch of offsets read by the same batches (none: a gap)."""

    first: int
    last: int
    readers: tuple[AuditedBatch, ...]


@dataclass(frozen=True)
class PartitionPlan:
    log: PartitionLog
    segments: tuple[Segment, ...]
    ranges: tuple[tuple[AuditedBatch, OffsetRange], ...]

    def span(self, first: int, last: int) -> Span:
        return Span(self.log.topic, self.log.partition, first, last)


@dataclass(frozen=True)
class AuditPlan:
    """The batches in scope and how they cover each partition; says which spans to count."""

    partitions: tuple[PartitionPlan, ...]
    batches: tuple[AuditedBatch, ...]
    batches_without_ranges: int

    def short_spans(self, documents: Mapping[Span, int]) -> list[Span]:
        """Ranges holding fewer documents than their records read minus filtered: where lines a
        restarted shipper resent may have their document under the later copy's offset."""
        short = []
        for plan in self.partitions:
            for _, r in plan.ranges:
                span = plan.span(r.first_offset, r.last_offset)
                if documents.get(span, 0) < r.records - r.filtered:
                    short.append(span)
        return short

    def spans_to_count(self) -> set[Span]:
        """Every span whose documents ``reconcile`` needs counted."""
        spans: set[Span] = set()
        for plan in self.partitions:
            spans.update(plan.span(r.first_offset, r.last_offset) for _, r in plan.ranges)
            spans.update(plan.span(s.first, s.last) for s in plan.segments)
        return spans


def plan_audit(logs: Sequence[PartitionLog], batches: Iterable[AuditedBatch]) -> AuditPlan:
    """The batches that read offsets in the audited windows, and their coverage per partition."""
    all_batches = list(batches)
    windows = {(log.topic, log.partition): log for log in logs}
    in_scope: dict[tuple[str, int], list[tuple[AuditedBatch, OffsetRange]]] = {
        key: [] for key in windows
    }
    for batch in all_batches:
        for r in batch.offset_ranges:
            log = windows.get((r.topic, r.partition))
            if log and r.first_offset < log.window_end and r.last_offset >= log.window_start:
                in_scope[(r.topic, r.partition)].append((batch, r))
    plans = tuple(
        PartitionPlan(log, _segments(log, in_scope[key]), tuple(in_scope[key]))
        for key, log in sorted(windows.items())
    )
    selected = {id(b): b for p in plans for b, _ in p.ranges}
    return AuditPlan(
        partitions=plans,
        batches=tuple(selected.values()),
        batches_without_ranges=sum(1 for b in all_batches if not b.offset_ranges),
    )


def _segments(
    log: PartitionLog, ranges: Sequence[tuple[AuditedBatch, OffsetRange]]
) -> tuple[Segment, ...]:
    """The window and every range in it cut into stretches read by the same batches."""
    low = min([log.window_start, *(r.first_offset for _, r in ranges)])
    high = max([log.window_end, *(r.last_offset + 1 for _, r in ranges)])
    starts: dict[int, list[int]] = {}
    ends: dict[int, list[int]] = {}
    for index, (_, r) in enumerate(ranges):
        starts.setdefault(r.first_offset, []).append(index)
        ends.setdefault(r.last_offset + 1, []).append(index)
    cuts = sorted({low, high, *starts, *ends})
    active: set[int] = set()
    segments: list[Segment] = []
    for here, following in itertools.pairwise(cuts):
        active.difference_update(ends.get(here, ()))
        active.update(starts.get(here, ()))
        readers = tuple(ranges[i][0] for i in sorted(active))
        previous = segments[-1] if segments else None
        if previous and [id(b) for b in previous.readers] == [id(b) for b in readers]:
            segments[-1] = Segment(previous.first, following - 1, readers)
        else:
            segments.append(Segment(here, following - 1, readers))
    return tuple(segments)


def reconcile(
    plan: AuditPlan, documents: Mapping[Span, int], resent: Mapping[Span, int] | None = None
) -> AuditResult:
    """Compare broker, accounting and documents; ``documents``: count per span to count.

    ``resent``: per span, records whose document a later record with the same source identity
    rewrote (a line a killed shipper sent again): one document stands for both, under the
    later offset, so they count as found where they were read, with a note.
    """
    resent = resent or {}
    documents = {span: n + resent.get(span, 0) for span, n in documents.items()}
    result = AuditResult(batches=len(plan.batches), partitions=[])
    for span, count in sorted(resent.items()):
        if count:
            result.notes.append(
                Finding(
                    "resent",
                    f"{span}: {count} record(s) were sent again later with the same source "
                    "identity (a restarted shipper); the later copy's document stands for them",
                    span,
                )
            )
    for batch in plan.batches:
        _check_batch(batch, result)
    for partition in plan.partitions:
        result.partitions.append(_check_partition(partition, documents, result))
    if plan.batches_without_ranges:
        result.notes.append(
            Finding(
                "no_ranges",
                f"{plan.batches_without_ranges} accounting document(s) carry no offset ranges "
                "(written before the audit existed); their offsets show as gaps",
            )
        )
    return result


def _check_batch(batch: AuditedBatch, result: AuditResult) -> None:
    outcomes = batch.indexed + batch.filtered + batch.dead_letter
    if batch.input != outcomes:
        result.discrepancies.append(
            Finding(
                "batch_sum",
                f"{batch}: input {batch.input} != indexed {batch.indexed} + filtered "
                f"{batch.filtered} + dead letters {batch.dead_letter} (= {outcomes})",
            )
        )
    records = sum(r.records for r in batch.offset_ranges)
    if batch.input != records:
        result.discrepancies.append(
            Finding(
                "batch_sum",
                f"{batch}: input {batch.input} but its offset ranges hold {records} records",
            )
        )


def _check_partition(
    plan: PartitionPlan, documents: Mapping[Span, int], result: AuditResult
) -> PartitionSummary:
    log = plan.log
    summary = PartitionSummary(log.topic, log.partition, log.log_start, log.log_end)
    summary.produced = max(0, log.window_end - log.window_start)
    for batch, r in plan.ranges:
        summary.filtered += r.filtered
        _check_range(plan, batch, r, documents, result)
    for segment in plan.segments:
        inside = _clip(segment.first, segment.last, log.window_start, log.window_end - 1)
        span = plan.span(segment.first, segment.last)
        if segment.readers:
            summary.documents += documents.get(span, 0)
            if inside:
                summary.read += inside[1] - inside[0] + 1
                if len(segment.readers) > 1:
                    summary.read_again += inside[1] - inside[0] + 1
            _check_read_segment(plan, segment, documents.get(span, 0), result)
        elif inside:
            _report_gap(plan, inside, documents.get(span, 0), result)
    return summary


def _check_range(
    plan: PartitionPlan,
    batch: AuditedBatch,
    r: OffsetRange,
    documents: Mapping[Span, int],
    result: AuditResult,
) -> None:
    span = plan.span(r.first_offset, r.last_offset)
    if r.records != r.span:
        result.discrepancies.append(
            Finding(
                "holes",
                f"{batch} read {r.records} records in {span} ({r.span} offsets)",
                span,
            )
        )
    found = documents.get(span, 0)
    expected = r.records - r.filtered
    if found != expected:
        what = "missing" if found < expected else "too many"
        result.discrepancies.append(
            Finding(
                "documents",
                f"{span} ({batch}): {r.records} records read, {r.filtered} filtered, so "
                f"{expected} documents expected, {found} found in the events and dead-letter "
                f"indices ({abs(expected - found)} {what})",
                span,
            )
        )


def _check_read_segment(
    plan: PartitionPlan, segment: Segment, found: int, result: AuditResult
) -> None:
    log = plan.log
    span = plan.span(segment.first, segment.last)
    if segment.last >= log.log_end:
        beyond = plan.span(max(segment.first, log.log_end), segment.last)
        result.discrepancies.append(
            Finding(
                "beyond_end",
                f"{beyond} were read but the log ends at {log.log_end} (topic recreated?)",
                beyond,
            )
        )
    if segment.first < log.log_start:
        expired = plan.span(segment.first, min(segment.last, log.log_start - 1))
        result.notes.append(
            Finding(
                "retention",
                f"{expired} were read, then deleted from Kafka by retention (documents kept)",
                expired,
            )
        )
    if len(segment.readers) < 2:
        return
    checkpoints = [b.checkpoint for b in segment.readers]
    who = ", ".join(str(b) for b in segment.readers)
    if len(set(checkpoints)) < len(checkpoints):
        result.discrepancies.append(
            Finding("overlap", f"{span} were read more than once by one checkpoint: {who}", span)
        )
    else:
        result.notes.append(
            Finding(
                "replay",
                f"{span} were read by {len(segment.readers)} runs ({who}); the replay rewrote "
                f"the same document ids: {found} documents for {span.size} offsets",
                span,
            )
        )


def _report_gap(
    plan: PartitionPlan, inside: tuple[int, int], found: int, result: AuditResult
) -> None:
    first, last = inside
    log = plan.log
    if first < log.log_start:
        expired = plan.span(first, min(last, log.log_start - 1))
        result.discrepancies.append(
            Finding(
                "expired",
                f"{expired} were deleted by Kafka retention before any batch read them",
                expired,
            )
        )
        first = log.log_start
    if first > last:
        return
    span = plan.span(first, last)
    hint = (
        f"; Elasticsearch holds {found} document(s) for them, so the accounting of the batch "
        "that wrote them is missing"
        if found
        else ""
    )
    result.discrepancies.append(
        Finding("gap", f"{span} were produced but no committed batch read them{hint}", span)
    )


def _clip(first: int, last: int, low: int, high: int) -> tuple[int, int] | None:
    first, last = max(first, low), min(last, high)
    return (first, last) if first <= last else None
