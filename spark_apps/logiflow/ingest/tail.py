"""Reading log files line by line the way log rotation leaves them: ``tail -F`` with memory.

``FileFollower`` reads one path across rotation by rename (the old file is read to its end, then
every file rotated after it, then the new one from its start), truncation in place
(``copytruncate``: what was written after our last read is recovered from the copy when it sits
beside the file) and restarts (it resumes from a saved ``Position``, finding the old file under
its rotated name if the path moved on meanwhile, and then reads every file rotated after it, in
order, as several rotations may have happened while it was stopped). A last line without its
newline is held back until it is complete; only when its file has been rotated away does it
count as complete.

Rotated files are looked for next to the path (``rotated_files``: ``<name>.<n>`` or
``<name>-<date>``, gzipped or not). Each line comes with its source identity
(``contract.kafka_records``): the digest of its file's first bytes and its offset, the same
whichever name or compression the file has when it is read.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

from logiflow.contract.kafka_records import file_source_id
from logiflow.ingest.line_splitter import Line, LineSplitter, OversizeChunk, Piece
from logiflow.ingest.positions import FINGERPRINT_BYTES, FileId, Fingerprint, Position
from logiflow.ingest.rotated_files import LogFile, rotated_siblings

__all__ = ["FileFollower", "Line", "LineSplitter", "OversizeChunk", "Piece", "TailEvent"]

READ_CHUNK = 256 * 1024


@dataclass(frozen=True)
class TailEvent:
    """A piece read from a followed path, with the position after it.

    ``position`` is None in the middle of an oversize line (not a place to resume from).
    ``piece`` is None for a marker that only moves the position (a switch to a new file).
    ``source_id`` is the source identity of a ``Line`` (None for other pieces).
    """

    piece: Piece | None
    position: Position | None
    source_id: bytes | None = None


@dataclass
class _Open:
    log: LogFile  # the path's file, or a rotated one under the name it was found
    fingerprint: Fingerprint
    head: bytes  # the first bytes read, up to FINGERPRINT_BYTES: the lines' source identity
    read: int  # bytes fed to the splitter
    emitted: int  # offset just past the last piece handed out

    def source_id(self, start: int, end: int) -> bytes:
        """The source identity of the line at ``start``..``end``: fixed once it is written."""
        known = self.head[: min(end, FINGERPRINT_BYTES)]
        digest = (
            self.fingerprint.digest
            if len(known) == self.fingerprint.length
            else hashlib.sha256(known).hexdigest()
        )
        return file_source_id(digest, start)


class FileFollower:
    """Follows one path; ``poll()`` yields whatever complete lines are there now.

    With ``read_rotated_first``, a path without a saved position starts with its rotated files
    (oldest first), as a glob matching them all would.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_line_bytes: int,
        start: Position | None = None,
        notify: Callable[[str], None] | None = None,
        read_chunk: int = READ_CHUNK,
        read_rotated_first: bool = False,
    ) -> None:
        self.path = path
        self._splitter = LineSplitter(max_line_bytes)
        self._start = start
        self._notify = notify or (lambda _message: None)
        self._read_chunk = read_chunk
        self._read_rotated_first = read_rotated_first
        self._current: _Open | None = None
        # Rotated files to read, in order, after the current one and before the path itself.
        self._backlog: list[LogFile] = []
        # Set while reading a rotated file: afterwards the backlog, then the path itself.
        self._then_path = False
        self._rotation_seen = False
        self._started = False

    @property
    def held_back_bytes(self) -> int:
        """Bytes of a last line still waiting for its newline."""
        return self._splitter.pending_bytes

    @property
    def current_name(self) -> Path | None:
        return self._current.log.name if self._current else None

    def close(self) -> None:
        if self._current is not None:
            self._current.log.close()
            self._current = None
        for log in self._backlog:
            log.close()
        self._backlog = []

    def poll(self, *, follow: bool = True) -> Iterator[TailEvent]:
        """Read everything available. Without ``follow``, rotation after start-up is not watched."""
        if self._current is None:
            opened = self._reopen_path() if self._started else self._open_start()
            if not opened:
                return
            self._started = True
            yield self._marker()
        elif not self._then_path and self._truncated():
            # Checked before reading: a file truncated and rewritten past our offset would
            # otherwise be read from the middle of a line.
            yield from self._after_truncation()
        while self._current is not None:
            yield from self._read_available()
            if self._then_path:
                yield from self._next_in_chain()
                continue
            if not follow:
                return
            go_on = yield from self._check_path()
            if not go_on:
                return

    # --- opening ------------------------------------------------------------------------------

    def _open_start(self) -> bool:
        start = self._start
        log = LogFile.open(self.path)
        if start is None:
            return self._open_first_time(log)
        same_file = log is not None and log.file == start.file
        if log is not None and same_file and _holds(log, start):
            self._start = None
            self._attach(log, start.offset)
            return True
        predecessor = self._find_predecessor(start)
        if predecessor is not None:
            if log is not None:
                log.close()
            self._start = None
            later = f" and {len(self._backlog)} rotated after it" if self._backlog else ""
            name = predecessor.name.name
            self._notify(f"{self.path}: rotated while stopped; finishing {name}{later} first")
            self._attach(predecessor, start.offset)
            self._then_path = True
            return True
        if log is None:
            # Perhaps caught in the middle of a rotation: keep the saved position and look again.
            return False
        self._start = None
        if same_file:
            self._notify(f"{self.path}: truncated while stopped; reading it from the start")
        else:
            self._notify(
                f"{self.path}: replaced while stopped and the previous file was not found beside "
                "it; reading the new one from the start (lines written to the old one after the "
                "last shipped line are not recoverable)"
            )
        self._attach(log, 0)
        return True

    def _open_first_time(self, log: LogFile | None) -> bool:
        """No saved position: the path from its start, after its rotated files if asked."""
        if self._read_rotated_first:
            self._backlog = _open_all(rotated_siblings(self.path))
        if self._backlog:
            if log is not None:
                log.close()
            self._attach(self._backlog.pop(0), 0)
            self._then_path = True
            return True
        if log is None:
            return False
        self._attach(log, 0)
        return True

    def _reopen_path(self) -> bool:
        log = LogFile.open(self.path)
        if log is None:
            return False
        self._attach(log, 0)
        return True

    def _attach(self, log: LogFile, offset: int) -> None:
        fingerprint = log.fingerprint(log.size())
        head = log.read_at(0, fingerprint.length) if fingerprint.length else b""
        self._current = _Open(log, fingerprint, head, offset, offset)

    def _find_predecessor(self, position: Position) -> LogFile | None:
        """The file ``position`` is in, under a rotated name: renamed, copied then truncated, or
        compressed. Every rotated file newer than it goes to the backlog, oldest first."""
        siblings = _open_all(rotated_siblings(self.path))
        index = _locate(siblings, position)
        if index is None:
            for log in siblings:
                log.close()
            return None
        self._backlog = _rotated_after(siblings, index)
        for log in siblings:
            if log is not siblings[index] and log not in self._backlog:
                log.close()
        return siblings[index]

    # --- reading ------------------------------------------------------------------------------

    def _read_available(self) -> Iterator[TailEvent]:
        current = self._current
        assert current is not None
        while True:
            chunk = current.log.read_at(current.read, self._read_chunk)
            if not chunk:
                return
            current.read += len(chunk)
            if current.fingerprint.length < min(current.read, FINGERPRINT_BYTES):
                current.fingerprint = current.log.fingerprint(current.read)
                current.head = current.log.read_at(0, current.fingerprint.length)
            for piece in self._splitter.feed(chunk):
                yield self._event(piece)

    def _event(self, piece: Piece) -> TailEvent:
        current = self._current
        assert current is not None
        start = current.emitted
        current.emitted += piece.size
        if isinstance(piece, Line):
            source_id = current.source_id(start, current.emitted)
            return TailEvent(piece, self._position(), source_id)
        return TailEvent(piece, self._position() if piece.last else None)

    def _position(self) -> Position:
        current = self._current
        assert current is not None
        return Position(current.log.file, current.emitted, current.fingerprint)

    def _marker(self) -> TailEvent:
        return TailEvent(None, self._position())

    def _finish_current(self) -> Iterator[TailEvent]:
        """The current file will get no more lines: its unfinished last line is complete."""
        for piece in self._splitter.flush():
            yield self._event(piece)
        if self._current is not None:
            self._current.log.close()
            self._current = None

    def _next_in_chain(self) -> Iterator[TailEvent]:
        """After a rotated file: the next one rotated after it, else the path itself."""
        yield from self._finish_current()
        if self._backlog:
            self._attach(self._backlog.pop(0), 0)
            self._then_path = True
            yield self._marker()
            return
        self._then_path = False
        if self._reopen_path():
            yield self._marker()

    def _check_path(self) -> Generator[TailEvent, None, bool]:
        """At the end of the current file: has the path been rotated or truncated?

        Returns (as the generator's value) whether reading should go on at once.
        """
        current = self._current
        assert current is not None
        try:
            path_id: FileId | None = FileId.of(os.stat(self.path))
        except FileNotFoundError:
            path_id = None
        if path_id is not None and path_id != current.log.file:
            # Renamed away and a new file created. The writer may still append to the old file
            # until it reopens, so wait one quiet poll before leaving it.
            if not self._rotation_seen:
                self._rotation_seen = True
                return False
            self._rotation_seen = False
            # Rotated more than once since the last poll: read the files in between too.
            self._backlog = self._rotated_after_current()
            yield from self._next_in_chain()
            return self._current is not None
        self._rotation_seen = False
        if path_id is None:
            return False
        if not self._truncated():
            return False
        yield from self._after_truncation()
        return self._current is not None

    def _rotated_after_current(self) -> list[LogFile]:
        current = self._current
        assert current is not None
        siblings = _open_all(rotated_siblings(self.path))
        here = Position(current.log.file, current.read, current.fingerprint)
        index = _locate(siblings, here)
        keep = _rotated_after(siblings, index) if index is not None else []
        for log in siblings:
            if log not in keep:
                log.close()
        return keep

    def _truncated(self) -> bool:
        current = self._current
        assert current is not None
        size = current.log.size()
        too_small = size is not None and size < current.read
        return too_small or not current.log.matches(current.fingerprint)

    def _after_truncation(self) -> Iterator[TailEvent]:
        """Truncated in place. With copytruncate, what we had not read yet is in the copy."""
        current = self._current
        assert current is not None
        copy = (
            self._find_predecessor(Position(current.log.file, current.read, current.fingerprint))
            if current.read > 0
            else None
        )
        if copy is not None:
            self._notify(f"{self.path}: truncated; finishing its copy {copy.name.name} first")
            read, emitted = current.read, current.emitted
            current.log.close()
            self._attach(copy, read)
            assert self._current is not None
            self._current.emitted = emitted
            self._then_path = True
            return
        self._notify(f"{self.path}: truncated; reading it from the start")
        yield from self._finish_current()
        if self._reopen_path():
            yield self._marker()


def _open_all(paths: list[Path]) -> list[LogFile]:
    """Open every file now: a name may move on at the next rotation, an open file does not."""
    opened = (LogFile.open(path) for path in paths)
    return [log for log in opened if log is not None]


def _rotated_after(logs: list[LogFile], index: int) -> list[LogFile]:
    """The files rotated after ``logs[index]``, oldest first: those named as newer by logrotate,
    less any plain file last written before it (a file rotated later was still being written
    then). Compression may reset a file's time, so compressed files keep their place by name."""
    found = logs[index]
    return [
        log
        for log in logs[index + 1 :]
        if found.compressed or log.compressed or log.modified_ns() >= found.modified_ns()
    ]


def _holds(log: LogFile, position: Position) -> bool:
    """Whether ``log`` is the file ``position`` was saved in, with its bytes up to it."""
    size = log.size()
    return (size is None or size >= position.offset) and log.matches(position.fingerprint)


def _locate(logs: list[LogFile], position: Position) -> int | None:
    """Index of the file ``position`` is in: the same inode, else the newest copy of it.

    A copy (copytruncate, or compression) has the same first bytes; an empty fingerprint
    matches any file, so only the inode can tell then.
    """
    copies: list[int] = []
    for index, log in enumerate(logs):
        if not _holds(log, position):
            continue
        if log.file == position.file:
            return index
        if position.fingerprint.length > 0:
            copies.append(index)
    return copies[-1] if copies else None
